package health_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/operable-go/operable/health"
)

// runChecker runs c's background checks until the test ends.
func runChecker(t *testing.T, c *health.Checker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func waitStatus(t *testing.T, c *health.Checker, g health.Group, want health.Status) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Evaluate(context.Background(), g).Status != want {
		if time.Now().After(deadline) {
			t.Fatalf("status never became %s: %+v", want, c.Evaluate(context.Background(), g))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestASlowBackgroundCheckDoesNotSlowTheProbe(t *testing.T) {
	var c health.Checker
	_ = c.Add(health.Check{Name: "fast", Interval: 10 * time.Millisecond, Func: pass})
	_ = c.Add(health.Check{Name: "slow", Interval: time.Minute, Timeout: 20 * time.Second, Func: func(ctx context.Context) error {
		select {
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		return nil
	}})
	runChecker(t, &c)
	h := c.Handler(health.Readiness, health.HandlerOptions{})
	var worst time.Duration
	for range 50 {
		start := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/readyz?verbose", nil))
		worst = max(worst, time.Since(start))
	}
	if worst > 20*time.Millisecond {
		t.Errorf("slowest probe took %s while a check sleeps 10s", worst)
	}
}

func TestNoPassBeforeTheFirstResult(t *testing.T) {
	var c health.Checker
	_ = c.Add(health.Check{Name: "db", Interval: time.Hour, InitialDelay: time.Hour, Func: pass})
	runChecker(t, &c)
	rec := httptest.NewRecorder()
	c.Handler(health.Readiness, health.HandlerOptions{}).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("probe before the first result = %d, want 503", rec.Code)
	}
	if r := c.Evaluate(context.Background(), health.Readiness); !errors.Is(r.Checks[0].Err, health.ErrNoResult) {
		t.Errorf("error before the first result = %v, want ErrNoResult", r.Checks[0].Err)
	}
}

func TestInitialDelayAndInterval(t *testing.T) {
	var c health.Checker
	var runs atomic.Int32
	_ = c.Add(health.Check{Name: "db", Interval: 20 * time.Millisecond, InitialDelay: 100 * time.Millisecond, Func: func(context.Context) error {
		runs.Add(1)
		return nil
	}})
	start := time.Now()
	runChecker(t, &c)
	waitStatus(t, &c, health.Readiness, health.Pass)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("first result after %s, before the 100ms initial delay", d)
	}
	time.Sleep(200 * time.Millisecond)
	if n := runs.Load(); n < 3 || n > 15 {
		t.Errorf("%d runs in ~200ms at a 20ms interval", n)
	}
}

func TestConcurrentProbesShareOneRun(t *testing.T) {
	var c health.Checker
	var calls atomic.Int32
	release := make(chan struct{})
	_ = c.Add(health.Check{Name: "db", Func: func(ctx context.Context) error {
		calls.Add(1)
		<-release
		return nil
	}})
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { c.Evaluate(context.Background(), health.Readiness) })
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("100 concurrent probes ran the check %d times, want 1", n)
	}
}

// TestAHungCheckHoldsOneGoroutine: a check that ignores its context is
// abandoned at its timeout, and later probes do not start more copies of it
// while it hangs.
func TestAHungCheckHoldsOneGoroutine(t *testing.T) {
	var c health.Checker
	var calls atomic.Int32
	release := make(chan struct{})
	_ = c.Add(health.Check{Name: "stuck", Timeout: 10 * time.Millisecond, Func: func(context.Context) error {
		calls.Add(1)
		<-release // ignores ctx
		return nil
	}})
	for range 20 {
		r := c.Evaluate(context.Background(), health.Readiness)
		if r.Status != health.Fail || !errors.Is(r.Checks[0].Err, health.ErrTimeout) {
			t.Fatalf("Evaluate = %+v, want a timeout failure", r)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the hung check was started %d times, want 1", n)
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for c.Evaluate(context.Background(), health.Readiness).Status != health.Pass && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("after the hung run returned, runs = %d, want a second one", n)
	}
}

func TestFailureThresholdDampsFlaps(t *testing.T) {
	var c health.Checker
	var fails atomic.Bool
	_ = c.Add(health.Check{Name: "flappy", FailureThreshold: 3, Func: func(context.Context) error {
		if fails.Load() {
			return errors.New("blip")
		}
		return nil
	}})
	if s := c.Evaluate(context.Background(), health.Readiness).Status; s != health.Pass {
		t.Fatalf("first run = %s", s)
	}
	fails.Store(true)
	for i, want := range []health.Status{health.Pass, health.Pass, health.Fail, health.Fail} {
		r := c.Evaluate(context.Background(), health.Readiness)
		if r.Status != want || r.Checks[0].Err == nil {
			t.Errorf("failure %d: status %s err %v, want %s with the error kept", i+1, r.Status, r.Checks[0].Err, want)
		}
	}
	fails.Store(false)
	if s := c.Evaluate(context.Background(), health.Readiness).Status; s != health.Pass {
		t.Errorf("after recovery = %s, want pass at once", s)
	}
}

func TestThresholdDoesNotDelayTheFirstVerdict(t *testing.T) {
	var c health.Checker
	_ = c.Add(health.Check{Name: "down", FailureThreshold: 5, Func: fail})
	if s := c.Evaluate(context.Background(), health.Readiness).Status; s != health.Fail {
		t.Errorf("a check that never passed = %s, want fail: damping must not give a false pass", s)
	}
}

func TestResultsOfAStoppedRunnerGoStale(t *testing.T) {
	var c health.Checker
	_ = c.Add(health.Check{Name: "db", Interval: 10 * time.Millisecond, Timeout: 10 * time.Millisecond, Func: pass})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitStatus(t, &c, health.Readiness, health.Pass)
	cancel()
	<-done
	time.Sleep(50 * time.Millisecond) // > 2×interval + timeout
	r := c.Evaluate(context.Background(), health.Readiness)
	if r.Status != health.Fail || !errors.Is(r.Checks[0].Err, health.ErrStale) {
		t.Errorf("Evaluate after the runner stopped = %+v, want a stale failure", r)
	}
}

func TestStatusChangesAreEventsNotProbes(t *testing.T) {
	var c health.Checker
	var down atomic.Bool
	_ = c.Add(health.Check{Name: "db", Func: func(context.Context) error {
		if down.Load() {
			return errors.New("gone")
		}
		return nil
	}})
	var mu sync.Mutex
	var events []health.Event
	cancel := c.Subscribe(func(e health.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	probe := func(n int) {
		for range n {
			c.Evaluate(context.Background(), health.Readiness)
		}
	}
	probe(5)
	down.Store(true)
	probe(5)
	down.Store(false)
	probe(5)
	cancel()
	down.Store(true)
	probe(2)
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, e := range events {
		got = append(got, string(e.Previous)+"→"+string(e.Current.Status))
	}
	want := []string{"fail→pass", "pass→fail", "fail→pass"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("events %v, want %v (one per change, none after cancel)", got, want)
	}
}

func TestRunAddsChecksRegisteredLater(t *testing.T) {
	var c health.Checker
	runChecker(t, &c)
	_ = c.Add(health.Check{Name: "late", Interval: 5 * time.Millisecond, Func: pass})
	waitStatus(t, &c, health.Readiness, health.Pass)
	if err := c.Run(context.Background()); err == nil {
		t.Error("a second concurrent Run succeeded")
	}
}

func TestSubPathServesOneCheck(t *testing.T) {
	var c health.Checker
	_ = c.Add(health.Check{Name: "db", Func: fail})
	_ = c.Add(health.Check{Name: "cache", Func: pass})
	_ = c.Add(health.Check{Name: "ping", Groups: health.Liveness, Func: pass})
	mux := http.NewServeMux()
	h := c.Handler(health.Readiness, health.HandlerOptions{})
	mux.Handle("GET /readyz", h)
	mux.Handle("GET /readyz/{check}", h)
	for path, want := range map[string]int{"/readyz/db": 503, "/readyz/cache": 200, "/readyz/ping": 404, "/readyz/nope": 404, "/readyz": 503} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d: %s", path, rec.Code, want, rec.Body)
		}
	}
}
