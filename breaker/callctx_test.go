package breaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/operable-go/operable/breaker"
)

type ctxKey struct{}

// inCall runs check with the context Do gives fn, on a breaker with the
// call timeout d, and returns that context for checks after the call.
func inCall(t *testing.T, parent context.Context, d time.Duration, check func(ctx context.Context)) context.Context {
	t.Helper()
	b, err := breaker.New("ctx", breaker.Settings{CallTimeout: d}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kept context.Context
	_, _ = breaker.Do(parent, b, func(ctx context.Context) (int, error) {
		kept = ctx
		check(ctx)
		return 0, ctx.Err()
	})
	return kept
}

// wait fails the test unless ch is closed within a few seconds.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not done after 5s", what)
	}
}

// The context a call runs with behaves as context.WithTimeout's: its
// deadline, its end at the deadline, with the caller's context, or when
// the call is over, the contexts derived from it, its values.
func TestCallContextIsATimeoutContext(t *testing.T) {
	const timeout = 50 * time.Millisecond
	parent := context.WithValue(t.Context(), ctxKey{}, "v")

	t.Run("deadline", func(t *testing.T) {
		start := time.Now()
		inCall(t, parent, timeout, func(ctx context.Context) {
			dl, ok := ctx.Deadline()
			if !ok || dl.Before(start.Add(timeout)) || dl.After(time.Now().Add(timeout)) {
				t.Errorf("Deadline() = %v, %v; want start + %v", dl, ok, timeout)
			}
			if v := ctx.Value(ctxKey{}); v != "v" {
				t.Errorf("Value = %v, want the caller's v", v)
			}
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			ran := make(chan struct{})
			context.AfterFunc(ctx, func() { close(ran) })
			if ctx.Err() != nil {
				t.Fatalf("Err before the deadline = %v", ctx.Err())
			}
			wait(t, ctx.Done(), "the call's context at its deadline")
			if time.Since(start) < timeout {
				t.Errorf("done after %v, before the %v deadline", time.Since(start), timeout)
			}
			wait(t, child.Done(), "a context derived from it") // cancelled after, as the context package's children are
			for name, err := range map[string]error{"Err": ctx.Err(), "Cause": context.Cause(ctx), "the derived context's Err": child.Err()} {
				if err != context.DeadlineExceeded {
					t.Errorf("%s = %v, want context.DeadlineExceeded", name, err)
				}
			}
			wait(t, ran, "a function given to context.AfterFunc")
		})
	})

	t.Run("the caller's earlier deadline", func(t *testing.T) {
		p, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		want, _ := p.Deadline()
		inCall(t, p, time.Hour, func(ctx context.Context) {
			if dl, _ := ctx.Deadline(); !dl.Equal(want) {
				t.Errorf("Deadline() = %v, want the caller's %v", dl, want)
			}
			wait(t, ctx.Done(), "the call's context at the caller's deadline")
			if ctx.Err() != context.DeadlineExceeded {
				t.Errorf("Err = %v, want context.DeadlineExceeded", ctx.Err())
			}
		})
	})

	t.Run("the caller cancels", func(t *testing.T) {
		cause := errors.New("the caller's cause")
		p, cancel := context.WithCancelCause(parent)
		defer cancel(nil)
		inCall(t, p, time.Hour, func(ctx context.Context) {
			child, stop := context.WithCancel(ctx)
			defer stop()
			cancel(cause)
			wait(t, ctx.Done(), "the call's context after the caller's cancel")
			wait(t, child.Done(), "a context derived from it")
			if ctx.Err() != context.Canceled || context.Cause(ctx) != cause || context.Cause(child) != cause {
				t.Errorf("Err %v, Cause %v, derived Cause %v; want context.Canceled and the caller's cause", ctx.Err(), context.Cause(ctx), context.Cause(child))
			}
		})
	})

	t.Run("the caller cancels after the deadline", func(t *testing.T) {
		// The one difference from context.WithTimeout's, as Do's doc says.
		cause := errors.New("the caller's cause")
		p, cancel := context.WithCancelCause(parent)
		defer cancel(nil)
		inCall(t, p, timeout, func(ctx context.Context) {
			wait(t, ctx.Done(), "the call's context at its deadline")
			cancel(cause)
			if ctx.Err() != context.DeadlineExceeded || context.Cause(ctx) != cause {
				t.Errorf("Err %v, Cause %v; want context.DeadlineExceeded and the caller's cause", ctx.Err(), context.Cause(ctx))
			}
		})
	})

	t.Run("the caller had cancelled", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		cancel()
		inCall(t, p, time.Hour, func(ctx context.Context) {
			if ctx.Err() != context.Canceled {
				t.Errorf("Err = %v, want context.Canceled at once", ctx.Err())
			}
			wait(t, ctx.Done(), "the call's context of a cancelled caller")
		})
	})

	t.Run("the call is over", func(t *testing.T) {
		var early <-chan struct{}
		ctx := inCall(t, parent, time.Hour, func(ctx context.Context) { early = ctx.Done() })
		wait(t, early, "Done asked for during the call, after it")
		wait(t, ctx.Done(), "Done asked for after the call")
		if ctx.Err() != context.Canceled {
			t.Errorf("Err after the call = %v, want context.Canceled", ctx.Err())
		}
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		wait(t, child.Done(), "a context derived after the call")
		ran := make(chan struct{})
		context.AfterFunc(ctx, func() { close(ran) })
		wait(t, ran, "context.AfterFunc after the call")
	})

	t.Run("AfterFunc stopped", func(t *testing.T) {
		ran := make(chan struct{})
		inCall(t, parent, time.Hour, func(ctx context.Context) {
			stop := context.AfterFunc(ctx, func() { close(ran) })
			if !stop() {
				t.Error("stop() = false before the end, want true")
			}
			if stop() {
				t.Error("stop() again = true, want false")
			}
		})
		select {
		case <-ran:
			t.Error("a stopped function ran")
		case <-time.After(20 * time.Millisecond):
		}
	})

	t.Run("no goroutine per derived context", func(t *testing.T) {
		inCall(t, parent, time.Hour, func(ctx context.Context) {
			before := runtime.NumGoroutine()
			var cancels []context.CancelFunc
			for range 100 {
				_, cancel := context.WithCancel(ctx)
				cancels = append(cancels, cancel)
			}
			if n := runtime.NumGoroutine() - before; n > 10 {
				t.Errorf("%d goroutines more for 100 derived contexts, want none", n)
			}
			for _, c := range cancels {
				c()
			}
		})
	})
}

// Through the transport, the call's context bounds the body too: it is
// read after the outcome is counted, and cut at the deadline.
func TestTransportBodyUnderTheCallTimeout(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("head "))
		w.(http.Flusher).Flush()
		if r.URL.Path == "/stall" {
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("tail"))
	}))
	defer srv.Close()
	defer close(stall)
	b, err := breaker.New("body", breaker.Settings{CallTimeout: 100 * time.Millisecond}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: b.Transport(tr)}
	for _, c := range []struct {
		path    string
		wantErr error
	}{
		{"/", nil},
		{"/stall", context.DeadlineExceeded},
	} {
		resp, err := client.Get(srv.URL + c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, c.wantErr) || c.wantErr == nil && string(body) != "head tail" {
			t.Errorf("%s: body %q, %v; want the whole body or %v", c.path, body, err, c.wantErr)
		}
	}
	if got := b.Info().Counts.Successes; got != 2 {
		t.Errorf("successes = %d, want 2 (each counted when its headers came)", got)
	}
}
