package breaker_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/operable-go/operable/breaker"
)

// TestDoneCountsTheOutcomeAsDoDoes: a ticket is one call, counted by its
// Done as Do counts fn's error, with and without a call timeout; a second
// Done changes nothing.
func TestDoneCountsTheOutcomeAsDoDoes(t *testing.T) {
	notFound := errors.New("not found")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		want    breaker.Counts
		outcome string // the calls metric's outcome that counts one
	}{
		{name: "nil error", err: nil, want: breaker.Counts{Calls: 1, Successes: 1}, outcome: "success"},
		{name: "accepted error", err: notFound, want: breaker.Counts{Calls: 1, Successes: 1}, outcome: "success"},
		{name: "other error", err: errors.New("connection reset"), want: breaker.Counts{Calls: 1, Failures: 1}, outcome: "failure"},
		{name: "caller cancelled", ctx: cancelled, err: context.Canceled, want: breaker.Counts{Calls: 1, Neutral: 1}, outcome: "neutral"},
		{name: "caller's deadline", ctx: expired, err: context.DeadlineExceeded, want: breaker.Counts{Calls: 1, Failures: 1}, outcome: "failure"},
	}
	bothPaths(t, breaker.Settings{MinCalls: math.MaxUint32}, func(t *testing.T, s breaker.Settings) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				o := newObserved(t, s)
				b, err := breaker.New("db", s, breaker.Options{IsSuccessful: func(err error) bool { return errors.Is(err, notFound) }})
				if err != nil {
					t.Fatal(err)
				}
				ctx := tt.ctx
				if ctx == nil {
					ctx = t.Context()
				}
				for _, b := range []*breaker.Breaker{o.Breaker, b} {
					if b == o.Breaker && tt.err == notFound {
						continue // o has no IsSuccessful
					}
					tk, err := b.Allow(ctx)
					if err != nil {
						t.Fatalf("Allow = %v", err)
					}
					tk.Done(tt.err)
					if got := b.Info().Counts; got != tt.want {
						t.Errorf("%s: counts %+v, want %+v", b.Name(), got, tt.want)
					}
					tk.Done(nil) // again: nothing more
					tk.Done(errors.New("late"))
					if got := b.Info().Counts; got != tt.want {
						t.Errorf("%s: counts %+v after two more Done, want %+v", b.Name(), got, tt.want)
					}
				}
				if tt.err == notFound {
					return
				}
				if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", tt.outcome)); got != 1 {
					t.Errorf("calls{outcome=%s} = %d, want 1", tt.outcome, got)
				}
			})
		}
	})
	var zero breaker.Ticket
	zero.Done(nil) // belongs to no breaker: nothing happens
}

// TestAllowRejectsAsDoDoes: Allow rejects where Do would, with the same
// reasons and counts; a held-closed breaker lets a ticket through and
// counts nothing in its window.
func TestAllowRejectsAsDoDoes(t *testing.T) {
	tests := []struct {
		name   string
		s      breaker.Settings
		setup  func(t *testing.T, b *breaker.Breaker) (release func())
		reason string
	}{
		{name: "forced open", s: small, reason: "forced_open", setup: func(t *testing.T, b *breaker.Breaker) func() {
			_ = b.Force(breaker.HoldOpen)
			return func() { _ = b.Force(breaker.Auto) }
		}},
		{name: "open", s: small, reason: "open", setup: func(t *testing.T, b *breaker.Breaker) func() {
			for range 5 {
				tk, err := b.Allow(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				tk.Done(errors.New("boom"))
			}
			return func() {}
		}},
		{name: "concurrency", s: breaker.Settings{MaxConcurrent: 2}, reason: "concurrency", setup: func(t *testing.T, b *breaker.Breaker) func() {
			var held []*breaker.Ticket
			for range 2 {
				tk, err := b.Allow(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, tk)
			}
			return func() {
				for _, tk := range held {
					tk.Done(nil)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newObserved(t, tt.s)
			release := tt.setup(t, o.Breaker)
			tk, err := o.Allow(t.Context())
			var rej *breaker.RejectedError
			if tk != nil || !errors.As(err, &rej) || rej.Reason != tt.reason || !errors.Is(err, breaker.ErrRejected) {
				t.Fatalf("Allow = %v, %v; want a rejection (%s)", tk, err, tt.reason)
			}
			if got, _ := o.metric(t, breaker.RejectionsMetric, attribute.String("reason", tt.reason)); got != 1 {
				t.Errorf("rejections{reason=%s} = %d, want 1", tt.reason, got)
			}
			if tt.reason == "open" {
				return
			}
			release()
			if tk, err = o.Allow(t.Context()); err != nil {
				t.Fatalf("Allow once released = %v", err)
			}
			tk.Done(nil)
		})
	}
	// Held closed: let through, the outcome in the calls metric only.
	o := newObserved(t, small)
	_ = o.Force(breaker.HoldClosed)
	tk, err := o.Allow(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tk.Done(errors.New("boom"))
	_ = o.Force(breaker.Auto)
	if got := o.Info().Counts; got != (breaker.Counts{}) {
		t.Errorf("counts %+v after a ticket held closed, want none", got)
	}
	if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 1 {
		t.Errorf("calls{outcome=failure} = %d, want 1", got)
	}
}

// halfOpen returns a breaker of s opened by one failure and now half open.
func halfOpen(t *testing.T, s breaker.Settings) *observed {
	t.Helper()
	s.MinCalls, s.FailureRatio, s.OpenTimeout = 1, 1, 50*time.Millisecond
	o := newObserved(t, s)
	tk, err := o.Allow(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tk.Done(errors.New("boom"))
	if o.State() != breaker.Open {
		t.Fatalf("state %s after a failure, want open", o.State())
	}
	eventually(t, "half open after OpenTimeout", func() bool { return o.State() == breaker.HalfOpen })
	return o
}

// TestTicketsTakeAndGiveBackHalfOpenProbes: while the breaker is half
// open each ticket holds a probe until its Done; a neutral outcome gives
// the probe back, successes close the breaker, a failure opens it again;
// the transitions are logged and counted as Do's are.
func TestTicketsTakeAndGiveBackHalfOpenProbes(t *testing.T) {
	o := halfOpen(t, breaker.Settings{HalfOpenCalls: 2})
	ctx1, cancel1 := context.WithCancel(t.Context())
	defer cancel1()
	t1, err1 := o.Allow(ctx1)
	t2, err2 := o.Allow(t.Context())
	if err1 != nil || err2 != nil {
		t.Fatalf("two probes: %v, %v", err1, err2)
	}
	if _, err := o.Allow(t.Context()); !errors.Is(err, breaker.ErrRejected) || err.(*breaker.RejectedError).Reason != "half_open" {
		t.Fatalf("a third ticket while two probes are out = %v, want rejected (half_open)", err)
	}
	// t1's caller gives up: neutral, its probe back.
	cancel1()
	t1.Done(context.Canceled)
	t3, err := o.Allow(t.Context())
	if err != nil {
		t.Fatalf("a ticket after a neutral probe = %v, want its probe", err)
	}
	t3.Done(nil)
	if o.State() != breaker.HalfOpen {
		t.Fatalf("state %s after one success of two, want half open", o.State())
	}
	if _, err := o.Allow(t.Context()); err == nil || err.(*breaker.RejectedError).Reason != "half_open" {
		t.Fatalf("a ticket while t2's probe is out and t3's spent = %v, want rejected (half_open)", err)
	}
	t2.Done(nil)
	if o.State() != breaker.Closed {
		t.Fatalf("state %s after two successful probes, want closed", o.State())
	}
	for _, tr := range [][2]string{{"closed", "open"}, {"open", "half_open"}, {"half_open", "closed"}} {
		if got, _ := o.metric(t, breaker.TransitionsMetric, attribute.String("from", tr[0]), attribute.String("to", tr[1])); got != 1 {
			t.Errorf("transitions{%s→%s} = %d, want 1", tr[0], tr[1], got)
		}
	}
	if line := findLog(t, o.logs, "circuit breaker state changed"); line["breaker"] != "upstream" {
		t.Errorf("state change log: %v", line)
	}

	// A failed probe opens it again.
	o = halfOpen(t, breaker.Settings{HalfOpenCalls: 2})
	tk, err := o.Allow(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tk.Done(errors.New("boom"))
	if o.State() != breaker.Open {
		t.Errorf("state %s after a failed probe, want open", o.State())
	}
}

// TestAnAbandonedTicketGivesBackWhatItHoldsAtItsCallTimeout: a ticket
// never done holds its MaxConcurrent slot, and half open its probe, for
// CallTimeout and no longer; that admission counts as neutral; its late
// Done counts as a call of that moment, or is dropped, not rejected, when
// no call would be let through.
func TestAnAbandonedTicketGivesBackWhatItHoldsAtItsCallTimeout(t *testing.T) {
	const callTimeout = 100 * time.Millisecond
	t.Run("slot", func(t *testing.T) {
		o := newObserved(t, breaker.Settings{MaxConcurrent: 1, CallTimeout: callTimeout, MinCalls: 1, FailureRatio: 0.5})
		start := time.Now()
		abandoned, err := o.Allow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Allow(t.Context()); err == nil || err.(*breaker.RejectedError).Reason != "concurrency" {
			t.Fatalf("Allow while the slot is held = %v, want rejected (concurrency)", err)
		}
		eventually(t, "the slot back", func() bool { return o.Info().Counts.Neutral == 1 })
		if d := time.Since(start); d < callTimeout {
			t.Errorf("the admission ended %v after Allow, before its CallTimeout %v", d, callTimeout)
		}
		tk, err := o.Allow(t.Context())
		if err != nil {
			t.Fatalf("Allow after the abandoned ticket's CallTimeout = %v, want let through", err)
		}
		tk.Done(nil)
		abandoned.Done(errors.New("reset")) // late: a failure of now, which opens the breaker
		if got := o.Info().Counts; got.Failures != 0 || o.State() != breaker.Open {
			t.Errorf("counts %+v, state %s after the late failure, want open (counts cleared)", got, o.State())
		}
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 1 {
			t.Errorf("calls{outcome=failure} = %d, want the late failure", got)
		}
		abandoned.Done(errors.New("again")) // done: nothing
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 1 {
			t.Errorf("calls{outcome=failure} = %d after a second Done, want 1", got)
		}
	})
	t.Run("probe", func(t *testing.T) {
		o := halfOpen(t, breaker.Settings{HalfOpenCalls: 1, CallTimeout: callTimeout})
		start := time.Now()
		abandoned, err := o.Allow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Allow(t.Context()); err == nil || err.(*breaker.RejectedError).Reason != "half_open" {
			t.Fatalf("Allow while the probe is held = %v, want rejected (half_open)", err)
		}
		var probe *breaker.Ticket
		eventually(t, "the probe back", func() bool { probe, err = o.Allow(t.Context()); return err == nil })
		if d := time.Since(start); d < callTimeout {
			t.Errorf("the probe came back %v after Allow, before its CallTimeout %v", d, callTimeout)
		}
		// The late outcome while the new probe is out: dropped, no rejection.
		rejectedBefore, _ := o.metric(t, breaker.RejectionsMetric, attribute.String("reason", "half_open"))
		abandoned.Done(errors.New("reset"))
		if o.State() != breaker.HalfOpen {
			t.Errorf("state %s after a late outcome with no probe free, want half open (dropped)", o.State())
		}
		if got, _ := o.metric(t, breaker.RejectionsMetric, attribute.String("reason", "half_open")); got != rejectedBefore {
			t.Errorf("rejections{half_open} %d → %d: a dropped late outcome counted as a rejection", rejectedBefore, got)
		}
		if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "failure")); got != 1 {
			t.Errorf("calls{outcome=failure} = %d, want the one that opened the breaker only", got)
		}
		probe.Done(nil)
		if o.State() != breaker.Closed {
			t.Errorf("state %s after the probe succeeded, want closed", o.State())
		}
	})
}

// TestTicketsWithoutACallTimeoutHoldNothing: without a call timeout a
// ticket holds no slot and no probe; its Done counts as a call of that
// moment, dropped when the breaker would not let one through.
func TestTicketsWithoutACallTimeoutHoldNothing(t *testing.T) {
	o := halfOpen(t, breaker.Settings{HalfOpenCalls: 1, MaxConcurrent: 1, CallTimeout: -1})
	t1, err1 := o.Allow(t.Context())
	t2, err2 := o.Allow(t.Context())
	if err1 != nil || err2 != nil {
		t.Fatalf("two tickets half open, one probe, one slot: %v, %v; want both let through", err1, err2)
	}
	t1.Done(errors.New("boom")) // a failed probe: open again
	if o.State() != breaker.Open {
		t.Fatalf("state %s after a failure, want open", o.State())
	}
	t2.Done(nil) // open: dropped
	if got, _ := o.metric(t, breaker.CallsMetric, attribute.String("outcome", "success")); got != 0 {
		t.Errorf("calls{outcome=success} = %d, want the dropped outcome uncounted", got)
	}
	if _, err := o.Allow(t.Context()); err == nil || err.(*breaker.RejectedError).Reason != "open" {
		t.Errorf("Allow while open = %v, want rejected (open)", err)
	}
}

// TestTicketsDoneAndExpiringConcurrently: tickets done around their
// CallTimeout, from many goroutines, each count once (or, past their
// CallTimeout, a neutral admission and their outcome), and every slot
// comes back.
func TestTicketsDoneAndExpiringConcurrently(t *testing.T) {
	const goroutines, each, slots = 8, 200, 64
	b, err := breaker.New("race", breaker.Settings{CallTimeout: 2 * time.Millisecond, MinCalls: math.MaxUint32,
		MaxConcurrent: slots}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				tk, err := b.Allow(t.Context())
				for deadline := time.Now().Add(5 * time.Second); err != nil; tk, err = b.Allow(t.Context()) {
					if time.Now().After(deadline) { // the slots are all out: wait for one, not forever
						t.Errorf("no slot for 5s: %v", err)
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
				time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
				tk.Done(nil)
			}
		})
	}
	wg.Wait()
	c := b.Info().Counts
	if c.Successes != goroutines*each || c.Failures != 0 || c.Calls != c.Successes+c.Neutral {
		t.Errorf("counts %+v, want %d successes, and as many calls more as neutral admissions", c, goroutines*each)
	}
	if c.Neutral == 0 {
		t.Logf("no ticket outlived its CallTimeout: counts %+v", c)
	}
	var held []*breaker.Ticket
	for i := range slots {
		tk, err := b.Allow(t.Context())
		if err != nil {
			t.Fatalf("slot %d of %d: %v, want every slot back", i, slots, err)
		}
		held = append(held, tk)
	}
	for _, tk := range held {
		tk.Done(nil)
	}
}

// TestAnOutcomeFromAnEarlierStateIsDropped: a ticket let through while the
// breaker was closed, done after it opened and went half open, is not
// taken for a probe: its success neither closes the breaker nor uses a
// probe. Without a call timeout every outcome is a call of its Done, as
// Allow's doc says: there, it is the probe.
func TestAnOutcomeFromAnEarlierStateIsDropped(t *testing.T) {
	bothPaths(t, breaker.Settings{HalfOpenCalls: 1, CallTimeout: 10 * time.Second}, func(t *testing.T, s breaker.Settings) {
		s.MinCalls, s.FailureRatio, s.OpenTimeout = 1, 1, 50*time.Millisecond
		b, err := breaker.New("old", s, breaker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		old, err := b.Allow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		failed, err := b.Allow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		failed.Done(errors.New("boom"))
		eventually(t, "half open", func() bool { return b.State() == breaker.HalfOpen })
		old.Done(nil)
		if s.CallTimeout < 0 {
			if b.State() != breaker.Closed {
				t.Errorf("state %s, want closed by the outcome counted as a probe", b.State())
			}
			return
		}
		if b.State() != breaker.HalfOpen {
			t.Fatalf("state %s after an outcome from the closed state, want half open still", b.State())
		}
		probe, err := b.Allow(t.Context())
		if err != nil {
			t.Fatalf("the probe after an old outcome = %v, want it free", err)
		}
		probe.Done(nil)
		if b.State() != breaker.Closed {
			t.Errorf("state %s after the probe, want closed", b.State())
		}
	})
}
