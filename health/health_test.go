package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/health"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pass(context.Context) error { return nil }
func fail(context.Context) error { return errors.New("db unreachable: dial 10.0.0.7:5432") }

func TestEvaluateCombinesResults(t *testing.T) {
	cases := []struct {
		name   string
		checks []health.Check
		group  health.Group
		want   health.Status
	}{
		{"no checks pass", nil, health.Readiness, health.Pass},
		{"all pass", []health.Check{{Name: "a", Func: pass}, {Name: "b", Func: pass}}, health.Readiness, health.Pass},
		{"critical failure fails", []health.Check{{Name: "a", Func: pass}, {Name: "b", Func: fail}}, health.Readiness, health.Fail},
		{"non-critical failure warns", []health.Check{{Name: "a", Func: pass}, {Name: "b", Func: fail, NonCritical: true}}, health.Readiness, health.Warn},
		{"other group ignored", []health.Check{{Name: "a", Func: fail, Groups: health.Liveness}}, health.Readiness, health.Pass},
		{"check in several groups", []health.Check{{Name: "a", Func: fail, Groups: health.Liveness | health.Startup}}, health.Startup, health.Fail},
		{"default group is readiness", []health.Check{{Name: "a", Func: fail}}, health.Readiness, health.Fail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hc health.Checker
			for _, chk := range c.checks {
				if err := hc.Add(chk); err != nil {
					t.Fatal(err)
				}
			}
			if got := hc.Evaluate(context.Background(), c.group).Status; got != c.want {
				t.Errorf("Evaluate = %s, want %s", got, c.want)
			}
		})
	}
}

func TestExcludeLeavesACheckOut(t *testing.T) {
	var hc health.Checker
	_ = hc.Add(health.Check{Name: "flaky", Func: fail})
	_ = hc.Add(health.Check{Name: "ok", Func: pass})
	res := hc.Evaluate(context.Background(), health.Readiness, "flaky")
	if res.Status != health.Pass || len(res.Checks) != 1 || res.Checks[0].Name != "ok" {
		t.Errorf("Evaluate excluding flaky = %+v", res)
	}
}

func TestTimeoutCancelsTheCheckContext(t *testing.T) {
	var hc health.Checker
	cancelled := make(chan struct{})
	_ = hc.Add(health.Check{Name: "slow", Timeout: 20 * time.Millisecond, Func: func(ctx context.Context) error {
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}})
	start := time.Now()
	res := hc.Evaluate(context.Background(), health.Readiness)
	if res.Status != health.Fail || !errors.Is(res.Checks[0].Err, health.ErrTimeout) && !errors.Is(res.Checks[0].Err, context.DeadlineExceeded) {
		t.Errorf("Evaluate = %+v, want a timeout failure", res)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Evaluate took %s with a 20ms timeout", d)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Error("the check's context was not cancelled")
	}
}

func TestPanicIsAFailure(t *testing.T) {
	var hc health.Checker
	_ = hc.Add(health.Check{Name: "boom", Func: func(context.Context) error { panic("nil map") }})
	res := hc.Evaluate(context.Background(), health.Readiness)
	if res.Status != health.Fail || !strings.Contains(res.Checks[0].Err.Error(), "panicked") {
		t.Errorf("Evaluate = %+v, want a failure that says it panicked", res)
	}
}

func TestAddRejectsBadChecks(t *testing.T) {
	var hc health.Checker
	_ = hc.Add(health.Check{Name: "a", Func: pass})
	for _, c := range []health.Check{{Func: pass}, {Name: "b"}, {Name: "a", Func: pass}, {Name: "a/b", Func: pass}} {
		if err := hc.Add(c); err == nil || !strings.HasPrefix(err.Error(), "health: ") {
			t.Errorf("Add(%+v) = %v, want a health: error", c, err)
		}
	}
}

func TestHandler(t *testing.T) {
	var hc health.Checker
	_ = hc.Add(health.Check{Name: "db", Func: fail, ComponentType: "datastore"})
	_ = hc.Add(health.Check{Name: "cache", Func: fail, NonCritical: true})
	_ = hc.Add(health.Check{Name: "ping", Func: pass, Groups: health.Liveness})
	h := hc.Handler(health.Readiness, health.HandlerOptions{Authorized: func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer ok"
	}})
	cases := []struct {
		name, query, auth string
		wantCode          int
		wantStatus        string
		wantOutput        bool
		wantChecks        []string
	}{
		{"failing", "", "", 503, "fail", false, []string{"db", "cache"}},
		{"verbose hides output", "?verbose", "", 503, "fail", false, []string{"db", "cache"}},
		{"verbose authorized shows output", "?verbose", "Bearer ok", 503, "fail", true, []string{"db", "cache"}},
		{"output needs verbose", "", "Bearer ok", 503, "fail", false, []string{"db", "cache"}},
		{"exclude critical leaves warn", "?verbose&exclude=db", "", 200, "warn", false, []string{"cache"}},
		{"exclude both passes quietly", "?exclude=db&exclude=cache", "", 200, "pass", false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/readyz"+c.query, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode || rec.Header().Get("Content-Type") != health.ContentType {
				t.Errorf("code %d type %q, want %d %s", rec.Code, rec.Header().Get("Content-Type"), c.wantCode, health.ContentType)
			}
			var body struct {
				Status string                      `json:"status"`
				Checks map[string][]map[string]any `json:"checks"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Status != c.wantStatus || len(body.Checks) != len(c.wantChecks) {
				t.Errorf("body %s, want status %s with checks %v", rec.Body, c.wantStatus, c.wantChecks)
			}
			for _, name := range c.wantChecks {
				if len(body.Checks[name]) != 1 {
					t.Errorf("body %s has no check %s", rec.Body, name)
				}
			}
			if got := strings.Contains(rec.Body.String(), "10.0.0.7"); got != c.wantOutput {
				t.Errorf("output shown = %v, want %v: %s", got, c.wantOutput, rec.Body)
			}
		})
	}
}

// TestHandlerRedactsTheOutput: with HandlerOptions.Redact, the error text
// an authorized caller sees is what Redact made of it.
func TestHandlerRedactsTheOutput(t *testing.T) {
	var hc health.Checker
	_ = hc.Add(health.Check{Name: "audit", Func: func(context.Context) error {
		return errors.New("PUT https://bucket.example/x?X-Amz-Signature=abc123: 403")
	}})
	h := hc.Handler(health.Readiness, health.HandlerOptions{
		Authorized: func(*http.Request) bool { return true },
		Redact:     func(s string) string { return strings.ReplaceAll(s, "abc123", "[REDACTED]") },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz?verbose", nil))
	if strings.Contains(rec.Body.String(), "abc123") || !strings.Contains(rec.Body.String(), "X-Amz-Signature=[REDACTED]") {
		t.Errorf("body %s, want the output redacted", rec.Body.String())
	}
}

// TestUnstartedNamesBackgroundChecksWithoutAResult: a background check is
// unstarted until its first run ends; a probe-time check, or one with an
// initial delay, never is.
func TestUnstartedNamesBackgroundChecksWithoutAResult(t *testing.T) {
	var hc health.Checker
	release := make(chan struct{})
	_ = hc.Add(health.Check{Name: "slow", Interval: time.Hour, Func: func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}})
	_ = hc.Add(health.Check{Name: "delayed", Interval: time.Hour, InitialDelay: time.Hour, Func: pass})
	_ = hc.Add(health.Check{Name: "probe-time", Func: pass})
	if got := fmt.Sprint(hc.Unstarted()); got != "[slow]" {
		t.Fatalf("Unstarted() = %s, want [slow]", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hc.Run(ctx) }()
	close(release)
	for deadline := time.Now().Add(5 * time.Second); len(hc.Unstarted()) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Unstarted() = %v after the first run", hc.Unstarted())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRefreshRunsTheBackgroundChecksNow: after Refresh, a background
// check's result is from its run now, not the one before, however long its
// Interval.
func TestRefreshRunsTheBackgroundChecksNow(t *testing.T) {
	var hc health.Checker
	var calls atomic.Int32
	_ = hc.Add(health.Check{Name: "db", Interval: time.Hour, NonCritical: true, Func: func(context.Context) error {
		if calls.Add(1) == 1 {
			return errors.New("table not there yet")
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hc.Run(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); len(hc.Unstarted()) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no first run")
		}
	}
	if r, _ := hc.Lookup(ctx, "db"); r.Status != health.Warn {
		t.Fatalf("after the first run: %s, want warn", r.Status)
	}
	hc.Refresh(ctx)
	if r, _ := hc.Lookup(ctx, "db"); r.Status != health.Pass {
		t.Errorf("after Refresh: %s, want pass", r.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
