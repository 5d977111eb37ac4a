package shutdown_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/shutdown"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// runAsync runs l and returns a channel with Run's result, after waiting for
// the Ready phase.
func runAsync(t *testing.T, ctx context.Context, l *shutdown.Lifecycle) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for l.Phase() < shutdown.Ready {
		if time.Now().After(deadline) {
			t.Fatal("lifecycle not ready within 5s")
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned before ready: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	return done
}

func TestSignalDrainsServersThenStopsWorkersThenRunsHooksInReverse(t *testing.T) {
	var logs syncbuf.Buffer
	l := shutdown.New(shutdown.Options{
		DrainDelay: 200 * time.Millisecond,
		Timeout:    20 * time.Second,
		Signals:    []os.Signal{syscall.SIGUSR1},
		Logger:     slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}

	inFlight := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		time.Sleep(400 * time.Millisecond) // outlasts the drain delay
		record("request done")
		_, _ = io.WriteString(w, "done")
	})}
	ln := listen(t)
	l.Serve("app", srv, ln)
	l.Go("worker", func(ctx context.Context) error {
		<-ctx.Done()
		record("worker stopped")
		return nil
	})
	for _, name := range []string{"first", "second", "third"} {
		l.OnStop(shutdown.Hook{Name: name, Func: func(context.Context) error { record("hook " + name); return nil }})
	}
	done := runAsync(t, context.Background(), l)

	resp := make(chan string, 1)
	go func() {
		r, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			resp <- err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		resp <- string(b)
	}()
	<-inFlight
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if p := l.Phase(); p != shutdown.Draining {
		t.Errorf("phase 50ms after the signal = %s, want draining", p)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := <-resp; got != "done" {
		t.Errorf("in-flight request got %q, want done", got)
	}
	want := []string{"request done", "worker stopped", "hook third", "hook second", "hook first"}
	if strings.Join(events, ", ") != strings.Join(want, ", ") {
		t.Errorf("events %v, want %v", events, want)
	}
	if l.Phase() != shutdown.Stopped {
		t.Errorf("phase after Run = %s", l.Phase())
	}
	for _, want := range []string{`"reason":"signal user defined signal 1"`, `"phase":"draining"`, `"phase":"stopping"`, `"phase":"hooks"`, `"outcome":"clean"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestOverrunningAndPanickingHooksAreNamedAndTheRestStillRun(t *testing.T) {
	var logs syncbuf.Buffer
	l := shutdown.New(shutdown.Options{Timeout: 5 * time.Second, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	var ran []string
	l.OnStop(shutdown.Hook{Name: "last", Timeout: time.Second, Func: func(context.Context) error { ran = append(ran, "last"); return nil }})
	l.OnStop(shutdown.Hook{Name: "panics", Timeout: time.Second, Func: func(context.Context) error { panic("oops") }})
	l.OnStop(shutdown.Hook{Name: "hangs", Timeout: 50 * time.Millisecond, Func: func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // still busy after its deadline
		return nil
	}})
	l.OnStop(shutdown.Hook{Name: "fails", Timeout: time.Second, Func: func(context.Context) error { return errors.New("flush failed") }})
	l.Stop()
	err := l.Run(context.Background())
	for _, want := range []string{"hook fails: flush failed", "hook hangs: abandoned after", "hook panics: panic: oops"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run = %v, want it to say %q", err, want)
		}
	}
	if len(ran) != 1 {
		t.Errorf("the hook after the failing ones did not run")
	}
	if !strings.Contains(logs.String(), `"outcome":"with errors"`) {
		t.Errorf("final log line does not say the stop had errors:\n%s", logs.String())
	}
	time.Sleep(20 * time.Millisecond) // let the abandoned hook return before goleak looks
}

func TestBudgetsThatCannotFitAreAnErrorBeforeStart(t *testing.T) {
	l := shutdown.New(shutdown.Options{Timeout: time.Second, DrainDelay: 600 * time.Millisecond})
	l.OnStop(shutdown.Hook{Name: "flush", Timeout: 500 * time.Millisecond, Func: func(context.Context) error { return nil }})
	err := l.Run(context.Background())
	if !errors.Is(err, shutdown.ErrBudget) {
		t.Errorf("Run = %v, want ErrBudget", err)
	}
	if l.Phase() != shutdown.Starting {
		t.Errorf("phase = %s, want starting: nothing should have run", l.Phase())
	}
}

func TestAFailingWorkerStopsEverythingAndIsReported(t *testing.T) {
	l := shutdown.New(shutdown.Options{Timeout: 5 * time.Second})
	l.Go("consumer", func(context.Context) error { return errors.New("queue closed") })
	ln := listen(t)
	l.Serve("app", &http.Server{Handler: http.NotFoundHandler()}, ln)
	err := l.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "worker consumer: queue closed") {
		t.Errorf("Run = %v, want the worker's error", err)
	}
}

func TestContextEndStartsTheStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := shutdown.New(shutdown.Options{Timeout: 5 * time.Second})
	done := runAsync(t, ctx, l)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx was cancelled")
	}
}

func TestSecondSignalForcesExit130NamingTheBlockingHook(t *testing.T) {
	var logs syncbuf.Buffer
	exited := make(chan int, 1)
	release := make(chan struct{})
	l := shutdown.New(shutdown.Options{
		Timeout: 5 * time.Second,
		Signals: []os.Signal{syscall.SIGUSR2},
		Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
		Exit:    func(code int) { exited <- code; close(release) },
	})
	entered := make(chan struct{})
	l.OnStop(shutdown.Hook{Name: "stuck", Timeout: 4 * time.Second, Func: func(ctx context.Context) error {
		close(entered)
		<-release
		return nil
	}})
	done := runAsync(t, context.Background(), l)
	_ = syscall.Kill(syscall.Getpid(), syscall.SIGUSR2)
	<-entered
	_ = syscall.Kill(syscall.Getpid(), syscall.SIGUSR2)
	select {
	case code := <-exited:
		if code != shutdown.ExitForced {
			t.Errorf("exit code %d, want %d", code, shutdown.ExitForced)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a second signal did not force the exit")
	}
	<-done
	if !strings.Contains(logs.String(), `"phase":"hooks","hook":"stuck"`) {
		t.Errorf("forced exit does not name phase and hook:\n%s", logs.String())
	}
}

func TestRunTwiceIsAnError(t *testing.T) {
	l := shutdown.New(shutdown.Options{})
	l.Stop()
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); !errors.Is(err, shutdown.ErrRunTwice) {
		t.Errorf("second Run = %v, want ErrRunTwice", err)
	}
}

// TestStoppingEndsLongLivedHandlers shows why Stopping exists: a stream that
// waits on it ends when the servers stop, so Shutdown is not held up; one
// that only waits on its request context would hold it to the deadline.
func TestStoppingEndsLongLivedHandlers(t *testing.T) {
	l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: 100 * time.Millisecond})
	streaming := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(streaming)
		select {
		case <-l.Stopping():
			_, _ = io.WriteString(w, "bye\n")
		case <-r.Context().Done():
		}
	})}
	ln := listen(t)
	l.Serve("stream", srv, ln)
	done := runAsync(t, context.Background(), l)
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-streaming
	select {
	case <-l.Stopping():
		t.Fatal("Stopping closed before the stop")
	default:
	}
	start := time.Now()
	l.Stop()
	body, _ := io.ReadAll(resp.Body)
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if string(body) != "bye\n" {
		t.Errorf("stream body %q, want the goodbye written on Stopping", body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop took %s; the stream held it up", d)
	}
}

func TestServerTimeoutCountsInTheBudget(t *testing.T) {
	cases := []struct {
		name string
		opts shutdown.Options
		hook time.Duration
		ok   bool
	}{
		{"remainder is enough", shutdown.Options{Timeout: 4 * time.Second, DrainDelay: 100 * time.Millisecond}, 2 * time.Second, true},
		{"remainder under the minimum", shutdown.Options{Timeout: 3 * time.Second, DrainDelay: 2 * time.Second}, 500 * time.Millisecond, false},
		{"explicit server timeout fits", shutdown.Options{Timeout: 4 * time.Second, DrainDelay: 100 * time.Millisecond, ServerTimeout: 1500 * time.Millisecond}, 2 * time.Second, true},
		{"explicit server timeout does not fit", shutdown.Options{Timeout: 4 * time.Second, DrainDelay: 100 * time.Millisecond, ServerTimeout: 2 * time.Second}, 2 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := shutdown.New(c.opts)
			l.OnStop(shutdown.Hook{Name: "h", Timeout: c.hook, Func: func(context.Context) error { return nil }})
			l.Stop()
			err := l.Run(context.Background())
			if got := !errors.Is(err, shutdown.ErrBudget); got != c.ok {
				t.Errorf("Run = %v; budget ok = %v, want %v", err, got, c.ok)
			}
		})
	}
}

func TestAlwaysHookRunsLastWhateverTheOthersDo(t *testing.T) {
	l := shutdown.New(shutdown.Options{Timeout: 5 * time.Second})
	var flushed bool
	var flushBudget time.Duration
	l.OnStop(shutdown.Hook{Name: "flush telemetry", Always: true, Timeout: time.Second, Func: func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		flushBudget = time.Until(dl)
		flushed = true
		return nil
	}})
	l.OnStop(shutdown.Hook{Name: "hangs", Timeout: 200 * time.Millisecond, Func: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	l.OnStop(shutdown.Hook{Name: "panics", Timeout: time.Second, Func: func(context.Context) error { panic("x") }})
	l.Stop()
	if err := l.Run(context.Background()); err == nil {
		t.Error("Run = nil, want the failing hooks' errors")
	}
	if !flushed || flushBudget < 900*time.Millisecond {
		t.Errorf("flush ran %v with %s of budget, want it run with its full second", flushed, flushBudget)
	}
}
