package breaker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upstream is a real HTTP server on loopback whose behaviour a test
// switches: it counts every request that reaches it.
type upstream struct {
	*httptest.Server
	status   atomic.Int32
	hang     atomic.Bool
	hits     atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
	release  chan struct{}
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{})}
	u.status.Store(http.StatusOK)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		n := u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		for {
			m := u.maxIn.Load()
			if n <= m || u.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		if u.hang.Load() {
			select { // until the client gives up or the test ends
			case <-r.Context().Done():
			case <-u.release:
			}
			return
		}
		w.WriteHeader(int(u.status.Load()))
		io.WriteString(w, "answer")
	}))
	t.Cleanup(func() {
		close(u.release)
		u.Close()
	})
	return u
}

// observed is a breaker with a metric reader and a log buffer.
type observed struct {
	*breaker.Breaker
	reader *sdkmetric.ManualReader
	logs   *syncbuf.Buffer
	client *http.Client
}

func newObserved(t *testing.T, s breaker.Settings) *observed {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	logs := new(syncbuf.Buffer)
	b, err := breaker.New("upstream", s, breaker.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Meter:  mp.Meter("test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &observed{Breaker: b, reader: reader, logs: logs, client: &http.Client{Transport: b.Transport(tr)}}
}

// get sends one request and reads the answer; it returns the status, or
// the error.
func (o *observed) get(ctx context.Context, url string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := o.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// metric returns the value of the named metric's point with these
// attributes, and whether there is one.
func (o *observed) metric(t *testing.T, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	want := attribute.NewSet(append(attrs, attribute.String("breaker", o.Name()))...)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if p.Attributes.Equals(&want) {
						return p.Value, true
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if p.Attributes.Equals(&want) {
						return p.Value, true
					}
				}
			}
		}
	}
	return 0, false
}

func (o *observed) stateGauge(t *testing.T, s breaker.State) int64 {
	v, ok := o.metric(t, breaker.StateMetric, attribute.String("state", s.String()))
	if !ok {
		t.Fatalf("no %s point for state %s", breaker.StateMetric, s)
	}
	return v
}

// eventually polls cond until it holds or five seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not true after 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bothPaths runs test with s as it is and again without a call timeout:
// a breaker without one runs its calls through gobreaker's one-step
// Execute, with one through its two-step form; both keep every guarantee
// that does not need the timeout.
func bothPaths(t *testing.T, s breaker.Settings, test func(t *testing.T, s breaker.Settings)) {
	t.Run("call timeout", func(t *testing.T) { test(t, s) })
	s.CallTimeout = -1
	t.Run("no call timeout", func(t *testing.T) { test(t, s) })
}

var small = breaker.Settings{MinCalls: 5, FailureRatio: 0.5, OpenTimeout: 100 * time.Millisecond, HalfOpenCalls: 2, CallTimeout: time.Second}

func TestFailingUpstreamOpensTheBreakerWhichRejectsFast(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		o := newObserved(t, s)
		if got := o.stateGauge(t, breaker.Closed); got != 1 {
			t.Fatalf("state gauge before any call: closed = %d, want 1 (set from construction)", got)
		}
		u.status.Store(http.StatusBadGateway)
		for i := range 5 {
			status, err := o.get(t.Context(), u.URL)
			if err != nil || status != http.StatusBadGateway {
				t.Fatalf("call %d: %d, %v; want the upstream's 502", i, status, err)
			}
		}
		if s := o.State(); s != breaker.Open {
			t.Fatalf("after 5 failures of 5 calls (MinCalls 5, ratio 0.5): state %s, want open", s)
		}
		before := u.hits.Load()
		for range 20 {
			_, err := o.get(t.Context(), u.URL)
			var rej *breaker.RejectedError
			if !errors.As(err, &rej) || rej.Reason != "open" || !errors.Is(err, breaker.ErrRejected) {
				t.Fatalf("call while open: %v, want a RejectedError with reason open", err)
			}
		}
		if got := u.hits.Load() - before; got != 0 {
			t.Errorf("%d calls reached the upstream while the breaker was open, want 0", got)
		}
		if got := o.stateGauge(t, breaker.Open); got != 1 {
			t.Errorf("state gauge open = %d, want 1", got)
		}
		if got, _ := o.metric(t, breaker.RejectionsMetric, attribute.String("reason", "open")); got != 20 {
			t.Errorf("rejections{reason=open} = %d, want 20", got)
		}
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 5 {
			t.Errorf("calls{outcome=failure} = %d, want 5", got)
		}
		if got, _ := o.metric(t, breaker.TransitionsMetric, attribute.String("from", "closed"), attribute.String("to", "open")); got != 1 {
			t.Errorf("transitions{closed→open} = %d, want 1", got)
		}
		line := findLog(t, o.logs, "circuit breaker state changed")
		for k, want := range map[string]any{"level": "WARN", "breaker": "upstream", "from": "closed", "to": "open", "calls": 5.0, "failures": 5.0, "failure_ratio": 1.0} {
			if line[k] != want {
				t.Errorf("transition log %s = %v, want %v (line %v)", k, line[k], want, line)
			}
		}
		if err := o.Check().Func(t.Context()); err == nil {
			t.Error("the health check passes while the breaker is open, want an error (warn)")
		}
	})
}

func findLog(t *testing.T, logs *syncbuf.Buffer, msg string) map[string]any {
	t.Helper()
	for l := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs.String())
	return nil
}

func TestRecoveredUpstreamClosesTheBreakerThroughHalfOpenProbes(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		o := newObserved(t, s)
		u.status.Store(http.StatusInternalServerError)
		for range 5 {
			_, _ = o.get(t.Context(), u.URL)
		}
		if o.State() != breaker.Open {
			t.Fatalf("state %s, want open", o.State())
		}
		u.status.Store(http.StatusOK)
		eventually(t, "half-open after OpenTimeout", func() bool { return o.State() == breaker.HalfOpen })
		for i := range 2 { // HalfOpenCalls probes, each a success
			if status, err := o.get(t.Context(), u.URL); err != nil || status != http.StatusOK {
				t.Fatalf("probe %d: %d, %v", i, status, err)
			}
		}
		if s := o.State(); s != breaker.Closed {
			t.Fatalf("after 2 successful probes: state %s, want closed", s)
		}
		if err := o.Check().Func(t.Context()); err != nil {
			t.Errorf("health check after recovery: %v, want pass", err)
		}
		for _, tr := range [][2]string{{"closed", "open"}, {"open", "half_open"}, {"half_open", "closed"}} {
			if got, _ := o.metric(t, breaker.TransitionsMetric, attribute.String("from", tr[0]), attribute.String("to", tr[1])); got != 1 {
				t.Errorf("transitions{%s→%s} = %d, want 1", tr[0], tr[1], got)
			}
		}
	})
}

func TestAFailedProbeOpensTheBreakerAgain(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		o := newObserved(t, s)
		u.status.Store(http.StatusServiceUnavailable)
		for range 5 {
			_, _ = o.get(t.Context(), u.URL)
		}
		eventually(t, "half-open", func() bool { return o.State() == breaker.HalfOpen })
		_, _ = o.get(t.Context(), u.URL)
		if s := o.State(); s != breaker.Open {
			t.Fatalf("after a failed probe: state %s, want open", s)
		}
	})
}

func TestClientErrorsAreSuccesses(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		o := newObserved(t, s)
		u.status.Store(http.StatusNotFound)
		for range 50 {
			if status, err := o.get(t.Context(), u.URL); err != nil || status != http.StatusNotFound {
				t.Fatalf("%d, %v", status, err)
			}
		}
		if s := o.State(); s != breaker.Closed {
			t.Errorf("after 50 answers of 404: state %s, want closed", s)
		}
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "success")); got != 50 {
			t.Errorf("calls{outcome=success} = %d, want 50", got)
		}
	})
}

func TestCallerCancellationsNeverOpenTheBreaker(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		u.hang.Store(true) // a healthy but slow upstream: callers give up first
		o := newObserved(t, s)
		for i := range 20 {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(10*time.Millisecond, cancel)
			_, err := o.get(ctx, u.URL)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("call %d: %v, want the caller's cancellation", i, err)
			}
		}
		if s := o.State(); s != breaker.Closed {
			t.Errorf("after 20 calls cancelled by their callers: state %s, want closed", s)
		}
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "neutral")); got != 20 {
			t.Errorf("calls{outcome=neutral} = %d, want 20", got)
		}
		if got, ok := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); ok && got != 0 {
			t.Errorf("calls{outcome=failure} = %d, want 0", got)
		}
	})
}

func TestHangingUpstreamIsCutOffByTimeoutAndConcurrencyBound(t *testing.T) {
	u := newUpstream(t)
	u.hang.Store(true) // never answers
	s := small
	s.MinCalls, s.CallTimeout, s.MaxConcurrent, s.OpenTimeout = 4, 200*time.Millisecond, 4, time.Minute
	o := newObserved(t, s)
	const callers = 50
	var wg sync.WaitGroup
	var timeouts, rejections atomic.Int64
	for range callers {
		wg.Go(func() {
			_, err := o.get(t.Context(), u.URL)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				timeouts.Add(1)
			case errors.Is(err, breaker.ErrRejected):
				rejections.Add(1)
			default:
				t.Errorf("call: %v, want a timeout or a rejection", err)
			}
		})
	}
	wg.Wait() // returns although the upstream never answers: every call was cut off
	if got := u.maxIn.Load(); got > 4 {
		t.Errorf("%d calls were at the upstream at once, want at most MaxConcurrent = 4", got)
	}
	if got := u.hits.Load(); got != timeouts.Load() || got > callers {
		t.Errorf("%d calls reached the upstream, %d timed out: want every call that reached it timed out", got, timeouts.Load())
	}
	if timeouts.Load()+rejections.Load() != callers {
		t.Errorf("%d timeouts + %d rejections, want %d calls", timeouts.Load(), rejections.Load(), callers)
	}
	if st := o.State(); st != breaker.Open {
		t.Errorf("after the timeouts: state %s, want open (timeouts are failures)", st)
	}
	t.Logf("%d callers: %d reached the hanging upstream (at most %d at once) and timed out, %d were rejected",
		callers, u.hits.Load(), u.maxIn.Load(), rejections.Load())
	// The breaker is open now: nothing more reaches the upstream.
	before := u.hits.Load()
	for range 10 {
		if _, err := o.get(t.Context(), u.URL); !errors.Is(err, breaker.ErrRejected) {
			t.Fatalf("call after opening: %v, want a rejection", err)
		}
	}
	if u.hits.Load() != before {
		t.Error("calls reached the upstream while open")
	}
}

// A call that ignores its context counts as a failure when its time is
// up, while it is still running (gobreaker alone counts it only when it
// returns).
func TestHungCallCountsAsFailureOnTime(t *testing.T) {
	o := newObserved(t, breaker.Settings{MinCalls: 1, CallTimeout: 50 * time.Millisecond, OpenTimeout: time.Minute})
	unblock := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := breaker.Do(t.Context(), o.Breaker, func(context.Context) (int, error) {
			<-unblock // ignores its context
			return 1, nil
		})
		done <- err
	}()
	eventually(t, "the hung call counted as a failure", func() bool { return o.State() == breaker.Open })
	select {
	case <-done:
		t.Fatal("Do returned before its function did")
	default:
	}
	close(unblock)
	if err := <-done; err != nil {
		t.Fatalf("Do: %v, want the function's own nil", err)
	}
	if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 1 {
		t.Errorf("calls{outcome=failure} = %d, want 1 (the late success is not counted again)", got)
	}
}

func TestForcedStatesHoldUntilReleased(t *testing.T) {
	bothPaths(t, small, func(t *testing.T, s breaker.Settings) {
		u := newUpstream(t)
		o := newObserved(t, s)
		if err := o.Force(breaker.HoldOpen); err != nil {
			t.Fatal(err)
		}
		for range 10 { // a healthy upstream, still rejected
			_, err := o.get(t.Context(), u.URL)
			var rej *breaker.RejectedError
			if !errors.As(err, &rej) || rej.Reason != "forced_open" {
				t.Fatalf("call while held open: %v, want a rejection (forced_open)", err)
			}
		}
		if u.hits.Load() != 0 || o.State() != breaker.ForcedOpen || o.stateGauge(t, breaker.ForcedOpen) != 1 {
			t.Fatalf("held open: %d hits, state %s", u.hits.Load(), o.State())
		}
		if err := o.Check().Func(t.Context()); err == nil {
			t.Error("health check passes while held open")
		}
		line := findLog(t, o.logs, "circuit breaker mode changed")
		if line["mode"] != "open" || line["to"] != "forced_open" {
			t.Errorf("mode change log: %v", line)
		}

		// Held closed: a failing upstream never opens it.
		u.status.Store(http.StatusInternalServerError)
		if err := o.Force(breaker.HoldClosed); err != nil {
			t.Fatal(err)
		}
		for range 30 {
			if status, err := o.get(t.Context(), u.URL); err != nil || status != 500 {
				t.Fatalf("call while held closed: %d, %v", status, err)
			}
		}
		if s := o.State(); s != breaker.ForcedClosed {
			t.Fatalf("state %s after 30 failures held closed, want forced_closed", s)
		}

		// Released: the breaker decides again, from where it was (closed; the
		// calls made while held were not counted).
		if err := o.Force(breaker.Auto); err != nil {
			t.Fatal(err)
		}
		if s := o.State(); s != breaker.Closed {
			t.Fatalf("state %s after release, want closed", s)
		}
		for range 5 {
			_, _ = o.get(t.Context(), u.URL)
		}
		if s := o.State(); s != breaker.Open {
			t.Errorf("state %s after 5 failures in auto mode, want open", s)
		}
	})
}

func TestDoClassifiesOutcomes(t *testing.T) {
	bothPaths(t, breaker.Settings{MinCalls: 3, FailureRatio: 1}, func(t *testing.T, s breaker.Settings) {
		notFound := errors.New("not found")
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		b, err := breaker.New("db", s, breaker.Options{
			Meter:        mp.Meter("t"),
			IsSuccessful: func(err error) bool { return errors.Is(err, notFound) },
		})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			fn   func(context.Context) (string, error)
			want string // Info counts field that grows
		}{
			{"nil error", func(context.Context) (string, error) { return "v", nil }, "successes"},
			{"accepted error", func(context.Context) (string, error) { return "", notFound }, "successes"},
			{"other error", func(context.Context) (string, error) { return "", errors.New("boom") }, "failures"},
		}
		for _, c := range cases {
			before := b.Info().Counts
			if _, err := breaker.Do(t.Context(), b, c.fn); err != nil && c.want == "" {
				t.Fatal(err)
			}
			after := b.Info().Counts
			grew := map[string]bool{"successes": after.Successes > before.Successes, "failures": after.Failures > before.Failures, "neutral": after.Neutral > before.Neutral}
			if !grew[c.want] {
				t.Errorf("%s: counts %+v → %+v, want %s to grow", c.name, before, after, c.want)
			}
		}
		// A panic is a failure, and goes on up.
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic did not go on up")
				}
			}()
			_, _ = breaker.Do(t.Context(), b, func(context.Context) (int, error) { panic("boom") })
		}()
		if got := b.Info().Counts.Failures; got != 2 {
			t.Errorf("failures after a panic = %d, want 2", got)
		}
		// The caller's cancellation is neutral.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _ = breaker.Do(ctx, b, func(ctx context.Context) (int, error) { return 0, ctx.Err() })
		if got := b.Info().Counts.Neutral; got != 1 {
			t.Errorf("neutral after a cancelled call = %d, want 1", got)
		}
	})
}

func TestSettings(t *testing.T) {
	b, err := breaker.New("x", breaker.Settings{}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := breaker.Settings{Window: breaker.DefaultWindow, MinCalls: breaker.DefaultMinCalls, FailureRatio: breaker.DefaultFailureRatio,
		OpenTimeout: breaker.DefaultOpenTimeout, HalfOpenCalls: breaker.DefaultHalfOpenCalls, CallTimeout: breaker.DefaultCallTimeout,
		MaxConcurrent: breaker.DefaultMaxConcurrent}
	if got := b.Settings(); got != want {
		t.Errorf("zero Settings gave %+v, want the defaults %+v", got, want)
	}
	for _, c := range []struct {
		name string
		s    breaker.Settings
		want []string
	}{
		{"ratio above 1", breaker.Settings{FailureRatio: 1.5}, []string{"FAILURE_RATIO"}},
		{"negative window and timeout", breaker.Settings{Window: -1, OpenTimeout: -1}, []string{"WINDOW", "OPEN_TIMEOUT"}},
	} {
		_, err := breaker.New("x", c.s, breaker.Options{})
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %s", c.name, err, w)
			}
		}
	}
	for _, name := range []string{"", "a/b", "a b"} {
		if _, err := breaker.New(name, breaker.Settings{}, breaker.Options{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if m, err := breaker.ParseMode("closed"); err != nil || m != breaker.HoldClosed {
		t.Errorf("ParseMode(closed) = %v, %v", m, err)
	}
	if _, err := breaker.ParseMode("shut"); err == nil {
		t.Error("ParseMode(shut) accepted")
	}
}

// The transport reads the body under the call's deadline and lets go of
// it when the body is closed; the request's own body is closed on a
// rejection.
func TestTransportClosesTheRequestBodyOnRejection(t *testing.T) {
	bothPaths(t, breaker.Settings{}, func(t *testing.T, s breaker.Settings) {
		b, err := breaker.New("x", s, breaker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Force(breaker.HoldOpen)
		body := &closeCounter{Reader: bytes.NewReader([]byte("payload"))}
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", body)
		if _, err := b.Transport(nil).RoundTrip(req); !errors.Is(err, breaker.ErrRejected) {
			t.Fatalf("RoundTrip: %v, want a rejection", err)
		}
		if !body.closed {
			t.Error("the request body was not closed")
		}
	})
}

type closeCounter struct {
	io.Reader
	closed bool
}

func (c *closeCounter) Close() error { c.closed = true; return nil }

// TestEnvDefaultsAreTheDefaults: Settings loaded from config with no
// variable set (its envDefault tags) are what New makes of zero Settings.
func TestEnvDefaultsAreTheDefaults(t *testing.T) {
	fromTags, err := config.Load[breaker.Settings](config.Options{Environ: map[string]string{}, Files: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := breaker.New("x", breaker.Settings{}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fromTags != b.Settings() {
		t.Errorf("envDefault tags give %+v, New's defaults are %+v", fromTags, b.Settings())
	}
}

// MaxConcurrent calls in flight reject the next one at once; a call that
// returns, panics or is rejected by the state gives its slot back.
func TestConcurrencyBoundAndPanicsGiveSlotsBack(t *testing.T) {
	bothPaths(t, breaker.Settings{MaxConcurrent: 1, MinCalls: 4, FailureRatio: 0.75}, func(t *testing.T, s breaker.Settings) {
		b, err := breaker.New("bound", s, breaker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inside, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			_, err := breaker.Do(t.Context(), b, func(context.Context) (int, error) {
				close(inside)
				<-release
				return 1, nil
			})
			done <- err
		}()
		<-inside
		_, err = breaker.Do(t.Context(), b, func(context.Context) (int, error) { return 1, nil })
		var rej *breaker.RejectedError
		if !errors.As(err, &rej) || rej.Reason != "concurrency" {
			t.Fatalf("second call with MaxConcurrent 1 in flight: %v, want a rejection (concurrency)", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for range 3 { // more panics than slots: each gives its slot back
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Errorf("recovered %v, want the call's own panic", p)
					}
				}()
				_, _ = breaker.Do(t.Context(), b, func(context.Context) (int, error) { panic("boom") })
			}()
		}
		if st := b.State(); st != breaker.Open {
			t.Fatalf("after a success and 3 panics (MinCalls 4, ratio 0.75): state %s, want open", st)
		}
		for range 3 {
			_, err := breaker.Do(t.Context(), b, func(context.Context) (int, error) { return 1, nil })
			if !errors.As(err, &rej) || rej.Reason != "open" {
				t.Fatalf("call while open: %v, want a rejection (open)", err)
			}
		}
		for _, m := range []breaker.Mode{breaker.HoldOpen, breaker.HoldClosed} {
			_ = b.Force(m)
			_, err := breaker.Do(t.Context(), b, func(context.Context) (int, error) { return 1, nil })
			if m == breaker.HoldClosed && err != nil {
				t.Errorf("call held closed after the panics and rejections: %v, want it let through (every slot given back)", err)
			}
		}
	})
}

// Calls that hang count as failures at their own deadlines, each once,
// among many that return at once, from many goroutines: the one timer of
// the breaker's watch waits for each deadline in turn.
func TestEachHungCallCountsOnceAtItsDeadline(t *testing.T) {
	const timeout = 100 * time.Millisecond
	b, err := breaker.New("watch", breaker.Settings{CallTimeout: timeout, MinCalls: math.MaxUint32, MaxConcurrent: -1}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	quick := func(context.Context) (int, error) { return 1, nil }
	release := make(chan struct{})
	hang := func(context.Context) (int, error) { <-release; return 1, nil }
	var wg sync.WaitGroup
	// Two hung calls 40 ms apart, a quick call before each: the timer is
	// set for the first quick call's deadline and must wait again.
	starts := make([]time.Time, 2)
	for i := range starts {
		if i > 0 {
			time.Sleep(40 * time.Millisecond)
		}
		_, _ = breaker.Do(t.Context(), b, quick)
		starts[i] = time.Now()
		wg.Go(func() { _, _ = breaker.Do(t.Context(), b, hang) })
	}
	var counted [2]time.Time
	for n := uint32(0); n < 2; {
		if time.Since(starts[0]) > 5*time.Second {
			t.Fatalf("after 5 s, %d of the 2 hung calls counted", n)
		}
		if f := b.Info().Counts.Failures; f > n {
			for ; n < f && n < 2; n++ {
				counted[n] = time.Now()
			}
		}
		time.Sleep(time.Millisecond)
	}
	for i := range counted {
		if early := starts[i].Add(timeout).Sub(counted[i]); early > 0 {
			t.Errorf("hung call %d counted %v before its deadline", i, early)
		}
	}
	// Many goroutines, quick calls and hung ones mixed.
	const goroutines, each = 20, 50
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if (g+i)%10 == 0 {
					wg.Go(func() { _, _ = breaker.Do(t.Context(), b, hang) })
					continue
				}
				_, _ = breaker.Do(t.Context(), b, quick)
			}
		})
	}
	hung := 2 + goroutines*each/10
	eventually(t, "every hung call counted", func() bool { return b.Info().Counts.Failures >= uint32(hung) })
	close(release)
	wg.Wait()
	c := b.Info().Counts
	if c.Failures != uint32(hung) || c.Successes != uint32(2+goroutines*each-goroutines*each/10) {
		t.Errorf("counts %+v, want %d failures (the hung calls, once each) and %d successes", c, hung, 2+goroutines*each-goroutines*each/10)
	}
}
