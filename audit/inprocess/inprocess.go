// Package inprocess runs the audit against a service built with the root
// package inside the test's own process, so that a team's `go test`
// asserts compliance without building a binary:
//
//	p, err := inprocess.Start(ctx, operable.Options{Name: "orders"}, setup, audit.StartOptions{})
//	...
//	report, err := audit.Run(ctx, p.Target(), audit.Options{})
//
// setup is the function the service's main passes to [operable.Main];
// each instance runs the way Main runs it ([operable.New], setup,
// [operable.Service.Run], [operable.ExitCode]) on free loopback ports,
// with its logs in memory.
//
// Every check but one runs: the probes, metrics, the debug guard,
// timeouts and planted secrets against the real listeners; the access
// line, JSON logs and planted values in what the service logged; readiness
// failing from the first instant of the stop while liveness passes, no
// request lost by kept-alive clients through it (a second instance), exit
// 0 after it, and exit 78 on a bad LOG_LEVEL; with GRPC_ADDR in
// StartOptions.Env ("GRPC_ADDR=127.0.0.1:0"), the grpc.* checks of its
// gRPC listener too. exit.usage is skipped: Main
// reads flags from os.Args, which a test cannot give a service in its own
// process. What only the process form ([audit.Start]) proves: that SIGTERM
// itself starts the stop (here [operable.Service.Stop] does, the path the
// signal takes), that the binary maps the outcome to its exit status, the
// flags, and that nothing else in the binary writes to stdout or stderr
// (here only what goes through Options.Stdout and Options.Stderr is seen).
//
// While an instance runs, its lifecycle catches the SIGTERM and SIGINT the
// test process gets, as the service would its own: an interrupt of `go
// test` stops the instances first. Each instance reads the config/ files
// of the test's working directory, as the service reads its own.
package inprocess

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/audit"
	"github.com/operable-go/operable/audit/internal/capture"
	"github.com/operable-go/operable/logging"
)

// Launcher launches instances of one service in this process, for
// [audit.StartWith]. It is safe for concurrent use; each instance is a
// service of its own.
type Launcher struct {
	opts  operable.Options
	setup func(context.Context, *operable.Service) error
}

// New returns the launcher of the service that opts and setup describe,
// as they would be given to [operable.Main]. Each instance gets a copy of
// opts with Environ set (opts.Environ, or the process environment when it
// is nil, with the audit's variables replacing those of the same names)
// and Stdout and Stderr captured. setup may be nil.
func New(opts operable.Options, setup func(ctx context.Context, s *operable.Service) error) *Launcher {
	return &Launcher{opts: opts, setup: setup}
}

// Start launches the service with [audit.StartWith] and returns once it
// has started; Close the process when done.
func Start(ctx context.Context, opts operable.Options, setup func(ctx context.Context, s *operable.Service) error, sopts audit.StartOptions) (*audit.Process, error) {
	return audit.StartWith(ctx, New(opts, setup), sopts)
}

// String names the service in the audit's report.
func (l *Launcher) String() string {
	if l.opts.Name != "" {
		return l.opts.Name + " (in process)"
	}
	return "the service (in process)"
}

// Launch builds and runs one instance with env replacing the variables of
// the same names. It refuses args with an error wrapping
// [errors.ErrUnsupported]: [operable.Main] reads the flags from os.Args.
// The instance stops when ctx ends.
func (l *Launcher) Launch(ctx context.Context, env, args []string) (audit.Instance, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("inprocess: command-line arguments need a process: operable.Main reads them from os.Args (audit.Start runs the binary): %w", errors.ErrUnsupported)
	}
	opts := l.opts
	opts.Environ = environ(opts.Environ, env)
	i := &instance{done: make(chan struct{})}
	opts.Stdout, opts.Stderr = &i.stdout, &i.stderr
	go func() {
		defer close(i.done)
		i.code = i.run(ctx, opts, l.setup)
	}()
	return i, nil
}

// environ is base (the process environment when nil) with env's
// "NAME=value" entries set.
func environ(base map[string]string, env []string) map[string]string {
	out := map[string]string{}
	if base == nil {
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
	} else {
		for k, v := range base {
			out[k] = v
		}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// instance is one service run by a Launcher.
type instance struct {
	stdout, stderr capture.Buffer
	done           chan struct{}
	code           int // set before done is closed

	mu      sync.Mutex
	svc     *operable.Service
	stopped bool // Stop called, perhaps before svc was built
}

// run does what operable.Main does, and returns the exit code.
func (i *instance) run(ctx context.Context, opts operable.Options, setup func(context.Context, *operable.Service) error) int {
	s, err := operable.New(ctx, opts)
	if err != nil {
		fallback, ferr := logging.New(logging.Options{Writer: opts.Stdout, Service: opts.Name})
		if ferr == nil {
			msg := "cannot start"
			if operable.ExitCode(err) == 78 {
				msg = "invalid configuration"
			}
			fallback.Error(msg, slog.Any("error", err))
		}
		return operable.ExitCode(err)
	}
	i.mu.Lock()
	i.svc = s
	if i.stopped {
		s.Stop()
	}
	i.mu.Unlock()
	if setup != nil {
		if err := setup(ctx, s); err != nil {
			s.Logger().Error("setup failed", slog.Any("error", err))
			if cerr := s.Close(context.WithoutCancel(ctx)); cerr != nil {
				s.Logger().Warn("releasing the service failed", slog.Any("error", cerr))
			}
			return operable.ExitCode(err)
		}
	}
	if err := s.Run(ctx); err != nil {
		s.Logger().Error("service stopped with errors", slog.Any("error", err))
		return operable.ExitCode(err)
	}
	return 0
}

func (i *instance) Output() (stdout, stderr string) { return i.stdout.String(), i.stderr.String() }

// Stop stops the service with [operable.Service.Stop], the path SIGTERM
// takes in a process.
func (i *instance) Stop() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stopped = true
	if i.svc != nil {
		i.svc.Stop()
	}
	return nil
}

func (i *instance) Wait(d time.Duration) (int, bool) {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-i.done:
		case <-t.C:
		}
	}
	select {
	case <-i.done:
		return i.code, true
	default:
		return 0, false
	}
}
