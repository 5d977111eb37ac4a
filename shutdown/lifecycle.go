package shutdown

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Phase is a step of the lifecycle. Phases only move forward.
type Phase int32

// The phases, in order.
const (
	Starting Phase = iota // components are being started
	Ready                 // every component runs
	Draining              // readiness fails; servers still accept for the drain delay
	Stopping              // servers shut down gracefully, workers are cancelled
	Hooks                 // stop hooks run
	Stopped               // all done
)

var phaseNames = [...]string{"starting", "ready", "draining", "stopping", "hooks", "stopped"}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("Phase(%d)", int32(p))
	}
	return phaseNames[p]
}

// Defaults used when Options leave a field zero.
const (
	DefaultTimeout     = 25 * time.Second
	DefaultHookTimeout = 5 * time.Second
	// MinServerTimeout is the least time the budgets must leave for the
	// servers to drain when ServerTimeout is not set.
	MinServerTimeout = time.Second
	// DefaultTurnoverTimeout bounds the turnover of kept-alive connections
	// (see Options.TurnoverTimeout) when it is not set.
	DefaultTurnoverTimeout = time.Second
	// IdleAfter is how long a kept-alive connection must have carried no
	// request before the stop takes it for idle and may close it: one that
	// carried a request more lately may have its client writing the next.
	IdleAfter = 250 * time.Millisecond
)

// cutOffGrace is what the stopping phase keeps, out of its budget, for the
// handlers of requests cut off at its end to return (their connections
// closed, their contexts cancelled), so that their access-log lines come
// before the end of the stop.
const cutOffGrace = 250 * time.Millisecond

// ExitForced is the exit code used when a second signal forces the exit.
const ExitForced = 130

// Options configure a [Lifecycle]. The zero value is usable: no drain delay,
// a 25 s overall timeout, a turnover of kept-alive connections of at most
// 1 s, SIGTERM and SIGINT, no logging.
type Options struct {
	// Timeout bounds the whole stop sequence, from the first signal to the
	// last hook. Default: DefaultTimeout (25s, under Kubernetes' 30 s grace
	// period).
	Timeout time.Duration
	// DrainDelay is how long servers keep accepting requests after the stop
	// begins, while readiness fails and load balancers catch up. Default: 0.
	DrainDelay time.Duration
	// ServerTimeout bounds the stopping phase: the turnover of kept-alive
	// connections, servers finishing their in-flight requests and workers
	// returning. A server still busy when all but a fifth of it (at most
	// 250ms) has run out is closed, cutting its requests off, and the rest
	// is left for their handlers to return. Default: what Timeout leaves
	// after DrainDelay and the hooks' timeouts, which must be at least
	// MinServerTimeout.
	ServerTimeout time.Duration
	// TurnoverTimeout bounds the turnover of the busy connections (see
	// [Lifecycle]), in the stopping phase, after a server's listener has
	// closed and before its idle connections are: shared among the
	// servers, and at most a quarter of the phase. Busy connections turn
	// over within a request's time, and after a drain delay of IdleAfter
	// or more there is usually nothing to wait for. Default:
	// DefaultTurnoverTimeout (1s).
	TurnoverTimeout time.Duration
	// Logger receives one record per phase and per hook. Default: none.
	Logger *slog.Logger
	// Signals start the stop. Default: SIGTERM and SIGINT.
	Signals []os.Signal
	// Exit ends the process when a second signal arrives during the stop.
	// Default: os.Exit.
	Exit func(code int)
}

// Hook is an action run during the stop, after servers and workers stopped.
type Hook struct {
	// Name identifies the hook in logs. Required.
	Name string
	// Timeout bounds the hook; its context is cancelled when it runs out
	// and the hook is abandoned. Default: DefaultHookTimeout.
	Timeout time.Duration
	// Func does the work and must return soon after ctx is done. Required.
	Func func(ctx context.Context) error
	// Always marks a hook that must run however the stop goes (flushing
	// telemetry or logs): its Timeout is reserved out of the overall
	// budget, so that the hooks before it cannot eat its time. Default:
	// false.
	Always bool
}

// Lifecycle runs servers and workers and stops them. Create one with [New],
// register components, then call Run once. Phase and Stop are safe for
// concurrent use; the registration methods must be called before Run.
//
// From the first instant of the stop, every response of its servers to a
// request that arrives carries Connection: close: an HTTP/1.1 client leaves
// its connection after that response, an HTTP/2 connection gets a GOAWAY.
// Once the drain delay is over, for each server in turn (the last
// registered first), its listener closes; then the stop waits, at most
// TurnoverTimeout, until none of its connections is busy: carrying a
// request that began before the stop, accepted and its first request not
// yet read, a request read and not yet handed to its handler, or idle for
// less than IdleAfter (its client may be writing the next request).
// Each busy connection is turned over (its next response says
// Connection: close and the server closes it) before http.Server.Shutdown
// closes the idle ones, so that no connection is closed under a request its
// client has just written; idle HTTP/2 connections get their GOAWAY from
// Shutdown. A server that has not drained when its budget runs out is
// closed, and the stop waits for the handlers it cut off to return (with
// their log lines) in what it kept of the budget. Limitation: a client that
// writes on a connection idle for longer than IdleAfter, at the instant
// Shutdown closes it, still loses that request, as with any HTTP/1.1
// server; so does a handler that ignores its context past the budget.
type Lifecycle struct {
	opts    Options
	servers []server
	workers []worker
	hooks   []Hook

	phase       atomic.Int32
	running     atomic.Bool
	currentHook atomic.Pointer[string]
	stopOnce    sync.Once
	stopCh      chan struct{}
	stopping    chan struct{} // closed when the stopping phase begins
}

type server struct {
	name   string
	srv    *http.Server
	ln     net.Listener
	conns  *conns        // installed by Run
	served chan struct{} // closed when Serve has returned
}

type worker struct {
	name string
	run  func(ctx context.Context) error
}

// New returns a Lifecycle in phase Starting.
func New(opts Options) *Lifecycle {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Signals) == 0 {
		opts.Signals = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	}
	if opts.Exit == nil {
		opts.Exit = os.Exit
	}
	return &Lifecycle{opts: opts, stopCh: make(chan struct{}), stopping: make(chan struct{})}
}

// Stopping returns a channel closed when the servers begin to stop, after
// the drain delay. Long-lived handlers (streams, watches, hijacked
// connections) select on it and end, so that http.Server.Shutdown, which
// waits for every in-flight request, is not held up by them.
func (l *Lifecycle) Stopping() <-chan struct{} { return l.stopping }

// Serve registers srv to serve on ln. Servers are shut down in reverse order
// of registration: register the admin server (probes, metrics) first so that
// it answers until the application server has drained.
//
// Run wraps srv.Handler (nil means http.DefaultServeMux) and srv.ConnState
// (the one set, if any, is still called) to follow its connections and
// requests: do not change them once Run has begun.
func (l *Lifecycle) Serve(name string, srv *http.Server, ln net.Listener) {
	l.servers = append(l.servers, server{name: name, srv: srv, ln: ln})
}

// Go registers a background worker. Its context is cancelled when the servers
// have stopped; it must return then. A worker that returns an error before
// the stop begins stops the whole lifecycle (the first error is reported); a
// worker that returns nil has simply finished.
func (l *Lifecycle) Go(name string, run func(ctx context.Context) error) {
	l.workers = append(l.workers, worker{name, run})
}

// OnStop registers a hook. Hooks run in reverse order of registration.
func (l *Lifecycle) OnStop(h Hook) {
	if h.Timeout <= 0 {
		h.Timeout = DefaultHookTimeout
	}
	l.hooks = append(l.hooks, h)
}

// Phase returns the current phase.
func (l *Lifecycle) Phase() Phase { return Phase(l.phase.Load()) }

// Stop starts the stop sequence as a signal would. It does not wait; Run
// returns when the sequence ends.
func (l *Lifecycle) Stop() { l.stopOnce.Do(func() { close(l.stopCh) }) }

// ErrRunTwice is returned by a second call to Run: a lifecycle runs once.
var ErrRunTwice = errors.New("shutdown: Run called twice")

// ErrBudget reports stop budgets that cannot fit in the overall timeout.
var ErrBudget = errors.New("shutdown: stop budgets exceed the timeout")

// validate checks, before anything starts, that the drain delay, the server
// drain and the hook timeouts fit in the overall timeout, so that no stop
// step is cut short by design.
func (l *Lifecycle) validate() error {
	hooks := time.Duration(0)
	for _, h := range l.hooks {
		if h.Name == "" || h.Func == nil {
			return errors.New("shutdown: a hook needs a Name and a Func")
		}
		hooks += h.Timeout
	}
	server := l.serverBudget()
	if server <= 0 || (l.opts.ServerTimeout == 0 && server < MinServerTimeout) ||
		l.opts.DrainDelay+server+hooks > l.opts.Timeout {
		if l.opts.ServerTimeout == 0 {
			server = MinServerTimeout
		}
		return fmt.Errorf("%w: drain delay %s + server drain %s + hook timeouts %s > %s",
			ErrBudget, l.opts.DrainDelay, server, hooks, l.opts.Timeout)
	}
	return nil
}

// serverBudget is the time the stopping phase may take.
func (l *Lifecycle) serverBudget() time.Duration {
	if l.opts.ServerTimeout > 0 {
		return l.opts.ServerTimeout
	}
	d := l.opts.Timeout - l.opts.DrainDelay
	for _, h := range l.hooks {
		d -= h.Timeout
	}
	return d
}

// Run starts every server and worker, waits for a signal, ctx's end, a call to
// Stop or a component's failure, then runs the stop sequence. It returns nil
// after a clean stop, otherwise every error met (a failed component, a server
// that could not drain in time, a failed or overrunning hook), joined.
func (l *Lifecycle) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	if err := l.validate(); err != nil {
		return err
	}
	log := l.opts.Logger
	l.follow()
	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, l.opts.Signals...)
	defer signal.Stop(sigCh)

	failCh := make(chan error, len(l.servers)+len(l.workers))
	var serving sync.WaitGroup
	for _, s := range l.servers {
		serving.Go(func() {
			defer close(s.served)
			err := s.srv.Serve(s.ln)
			// The stop closes the listener before it calls Shutdown.
			if !errors.Is(err, http.ErrServerClosed) && (l.Phase() < Stopping || !errors.Is(err, net.ErrClosed)) {
				failCh <- fmt.Errorf("shutdown: server %s: %w", s.name, err)
			}
		})
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var working sync.WaitGroup
	var workersLeft atomic.Int64
	workersLeft.Store(int64(len(l.workers)))
	for _, w := range l.workers {
		working.Go(func() {
			defer workersLeft.Add(-1)
			if err := w.run(workCtx); err != nil && workCtx.Err() == nil {
				failCh <- fmt.Errorf("shutdown: worker %s: %w", w.name, err)
			}
		})
	}
	l.setPhase(Ready)

	var errs []error
	var reason string
	select {
	case sig := <-sigCh:
		reason = "signal " + sig.String()
	case <-ctx.Done():
		reason = "context done"
	case <-l.stopCh:
		reason = "stop requested"
	case err := <-failCh:
		reason = "component failed"
		errs = append(errs, err)
	}
	// Readiness fails from this instant, before anything else is done.
	l.setPhase(Draining)
	begin := time.Now()
	log.Info("shutdown started", slog.String("reason", reason),
		slog.String("timeout", l.opts.Timeout.String()), slog.String("drain_delay", l.opts.DrainDelay.String()))

	done := make(chan struct{})
	defer close(done)
	go l.forceOnSecondSignal(sigCh, done)

	// One deadline for the whole stop; the stopping phase must end early
	// enough to leave every hook its full timeout.
	deadline := begin.Add(l.opts.Timeout)
	stopCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()

	l.runPhase(Draining, func() {
		t := time.NewTimer(l.opts.DrainDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stopCtx.Done():
		}
	})
	l.runPhase(Stopping, func() {
		close(l.stopping)
		budget := l.serverBudget()
		serverDeadline := time.Now().Add(budget)
		serverCtx, cancel := context.WithDeadline(stopCtx, serverDeadline)
		defer cancel()
		// Shutdown stops early enough to leave the handlers it cuts off the
		// time to return.
		shutdownCtx, cancelShutdown := context.WithDeadline(serverCtx, serverDeadline.Add(-min(cutOffGrace, budget/5)))
		defer cancelShutdown()
		var cut []server
		for i := len(l.servers) - 1; i >= 0; i-- {
			s := l.servers[i]
			// No new connection from here; then the busy ones are turned
			// over before Shutdown closes the idle ones.
			_ = s.ln.Close()
			l.turnOver(shutdownCtx, s, begin, min(l.turnoverTimeout(), budget/4)/time.Duration(len(l.servers)))
			if err := s.srv.Shutdown(shutdownCtx); err != nil {
				_ = s.srv.Close()
				log.Error("server did not drain in time", slog.String("server", s.name), slog.Any("error", err))
				errs = append(errs, fmt.Errorf("shutdown: server %s: %w", s.name, err))
				cut = append(cut, s)
			}
		}
		l.awaitCutOff(serverCtx, cut)
		serving.Wait()
		cancelWork()
		if !waitUntil(serverCtx, &working, &workersLeft) {
			log.Error("workers did not stop in time")
			errs = append(errs, fmt.Errorf("shutdown: workers did not stop: %w", serverCtx.Err()))
		}
	})
	l.runPhase(Hooks, func() {
		// reserved is the time the Always hooks still to run need.
		var reserved time.Duration
		for _, h := range l.hooks {
			if h.Always {
				reserved += h.Timeout
			}
		}
		for i := len(l.hooks) - 1; i >= 0; i-- {
			h := l.hooks[i]
			hookDeadline := deadline.Add(-reserved)
			if h.Always {
				reserved -= h.Timeout
				hookDeadline = deadline
			}
			if err := l.runHook(stopCtx, h, hookDeadline); err != nil {
				errs = append(errs, err)
			}
		}
	})
	l.setPhase(Stopped)
	// Errors a component reported while stopping are part of the outcome.
	for len(failCh) > 0 {
		errs = append(errs, <-failCh)
	}
	err := errors.Join(errs...)
	outcome := "clean"
	if err != nil {
		outcome = "with errors"
	}
	log.Info("shutdown complete", slog.String("outcome", outcome), seconds("duration", time.Since(begin)))
	return err
}

func (l *Lifecycle) setPhase(p Phase) { l.phase.Store(int32(p)) }

// runPhase enters phase p, runs f and logs how long the phase took.
func (l *Lifecycle) runPhase(p Phase, f func()) {
	l.setPhase(p)
	start := time.Now()
	f()
	l.opts.Logger.Info("shutdown phase done", slog.String("phase", p.String()), seconds("duration", time.Since(start)))
}

// runHook runs h within its own timeout and at most until notAfter (what the
// overall timeout leaves once the time of the Always hooks still to run is
// set aside). A panic is recovered into an error; a hook that overruns is
// abandoned (its context is cancelled and its goroutine ends when it
// returns).
func (l *Lifecycle) runHook(stopCtx context.Context, h Hook, notAfter time.Time) error {
	l.currentHook.Store(&h.Name)
	defer l.currentHook.Store(nil)
	ctx, cancel := context.WithTimeout(stopCtx, h.Timeout)
	defer cancel()
	ctx, cancelReserve := context.WithDeadline(ctx, notAfter)
	defer cancelReserve()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- h.Func(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("abandoned after %s: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	log := l.opts.Logger.With(slog.String("hook", h.Name), seconds("duration", time.Since(start)))
	if err != nil {
		log.Error("stop hook failed", slog.Any("error", err))
		return fmt.Errorf("shutdown: hook %s: %w", h.Name, err)
	}
	log.Info("stop hook done")
	return nil
}

// forceOnSecondSignal exits with ExitForced when another signal arrives
// before the stop sequence ends, naming what it was waiting for.
func (l *Lifecycle) forceOnSecondSignal(sigCh <-chan os.Signal, done <-chan struct{}) {
	select {
	case sig := <-sigCh:
		attrs := []any{slog.String("signal", sig.String()), slog.String("phase", l.Phase().String())}
		if h := l.currentHook.Load(); h != nil {
			attrs = append(attrs, slog.String("hook", *h))
		}
		l.opts.Logger.Error("second signal: exiting at once", attrs...)
		l.opts.Exit(ExitForced)
	case <-done:
	}
}

// waitUntil waits for wg, or until ctx is done; it reports whether wg
// finished. left counts the members of wg still running: when it is zero,
// wg has finished even if ctx is already done.
func waitUntil(ctx context.Context, wg *sync.WaitGroup, left *atomic.Int64) bool {
	if left.Load() == 0 {
		return true
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return true
	case <-ctx.Done():
		return left.Load() == 0
	}
}

// seconds logs a duration in seconds, the unit the access log, Prometheus and
// OpenTelemetry use.
func seconds(key string, d time.Duration) slog.Attr { return slog.Float64(key, d.Seconds()) }
