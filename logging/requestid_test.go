package logging_test

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/logging"
)

// madeID is the shape of an id made for a request: 24 hex digits.
var madeID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// TestRequestIDContextKeepsOrMakesTheID: Begin keeps an id fit to log and
// replaces any other by a new one (the rule of KeepOrMakeRequestID); the id
// is what RequestID reads from the context and from any context derived
// from it, the parent's values still answer, and a nearer
// ContextWithRequestID wins.
func TestRequestIDContextKeepsOrMakesTheID(t *testing.T) {
	cases := []struct {
		name, incoming string
		keep           bool
	}{
		{"kept", "req-42", true},
		{"kept at the bound", strings.Repeat("a", 128), true},
		{"empty", "", false},
		{"over the bound", strings.Repeat("a", 129), false},
		{"a space", "req 42", false},
		{"a newline", "req-42\n", false},
		{"not ASCII", "réq", false},
	}
	type parentKey struct{}
	parent := context.WithValue(context.Background(), parentKey{}, "parent's")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rc logging.RequestIDContext
			id := rc.Begin(parent, c.incoming)
			if c.keep && id != c.incoming {
				t.Errorf("Begin(%q) = %q, want it kept", c.incoming, id)
			}
			if !c.keep && !madeID.MatchString(id) {
				t.Errorf("Begin(%q) = %q, want 24 new hex digits", c.incoming, id)
			}
			derived, cancel := context.WithCancel(&rc)
			defer cancel()
			for name, ctx := range map[string]context.Context{"its own": &rc, "derived": derived} {
				if got := logging.RequestID(ctx); got != id {
					t.Errorf("RequestID(%s context) = %q, want %q", name, got, id)
				}
				if got := ctx.Value(parentKey{}); got != "parent's" {
					t.Errorf("the parent's value through the %s context = %v", name, got)
				}
			}
			if got := rc.RequestID(); got != id {
				t.Errorf("RequestIDContext.RequestID() = %q, want %q", got, id)
			}
			if got := logging.RequestID(logging.ContextWithRequestID(derived, "inner")); got != "inner" {
				t.Errorf("a nearer ContextWithRequestID gives %q, want inner", got)
			}
		})
	}
}

// TestRequestIDContextMakesADifferentIDEachTime: made ids are random, and
// each context keeps its own.
func TestRequestIDContextMakesADifferentIDEachTime(t *testing.T) {
	seen := map[string]bool{}
	ctxs := make([]*logging.RequestIDContext, 100)
	ids := make([]string, len(ctxs))
	for i := range ctxs {
		ctxs[i] = &logging.RequestIDContext{}
		ids[i] = ctxs[i].Begin(context.Background(), "")
		if seen[ids[i]] {
			t.Fatalf("id %q made twice", ids[i])
		}
		seen[ids[i]] = true
	}
	for i, c := range ctxs {
		if got := logging.RequestID(c); got != ids[i] {
			t.Errorf("context %d carries %q, want the %q Begin returned", i, got, ids[i])
		}
	}
}

// TestAMadeIDDoesNotKeepItsRecord: a transport keeps the ids it sent for
// a while (HTTP/2's header compression table), so a made id must not be
// memory inside the record that carries it, which would keep the record,
// and all it points to, alive with the id.
func TestAMadeIDDoesNotKeepItsRecord(t *testing.T) {
	type record struct {
		logging.RequestIDContext
		_ [1 << 10]byte // a record worth keeping alive
	}
	collected := make(chan struct{})
	r := &record{}
	id := r.Begin(context.Background(), "")
	runtime.AddCleanup(r, func(struct{}) { close(collected) }, struct{}{})
	r = nil
	for range 10 {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(id)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Errorf("the record is still alive while its made id %q is", id)
}

// TestRequestIDContextBeginsOnceOnAParent: a second Begin would change the
// id under the records holding the first, and a nil parent would fail at
// the first lookup far from its cause: both panic in Begin.
func TestRequestIDContextBeginsOnceOnAParent(t *testing.T) {
	var begun logging.RequestIDContext
	begun.Begin(context.Background(), "")
	for name, begin := range map[string]func(){
		"twice": func() { begun.Begin(context.Background(), "") },
		"a nil parent": func() {
			var rc logging.RequestIDContext
			//lint:ignore SA1012 the misuse under test
			rc.Begin(nil, "")
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Begin %s did not panic", name)
				}
			}()
			begin()
		}()
	}
}

// TestRequestIDContextEndsWithItsParent: its deadline, Done and Err are
// its parent's.
func TestRequestIDContextEndsWithItsParent(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	var rc logging.RequestIDContext
	rc.Begin(parent, "req-42")
	want, _ := parent.Deadline()
	if got, ok := rc.Deadline(); !ok || !got.Equal(want) {
		t.Errorf("Deadline = %v %v, want the parent's %v", got, ok, want)
	}
	cancel()
	select {
	case <-rc.Done():
	case <-time.After(time.Second):
		t.Fatal("Done did not close with the parent's")
	}
	if !errors.Is(rc.Err(), context.Canceled) {
		t.Errorf("Err = %v, want the parent's Canceled", rc.Err())
	}
}

// TestRequestIDContextAllocationBudget: embedded in a transport's record
// of a call, the request id and its context cost no allocation of their
// own to set and to read: a kept id none, a made id its string.
func TestRequestIDContextAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	type record struct {
		logging.RequestIDContext
		method string
	}
	for _, tt := range []struct {
		incoming string
		want     float64
	}{{"req-42", 1}, {"", 2}} {
		var id string
		got := testing.AllocsPerRun(1000, func() {
			r := &record{method: "m"}
			r.Begin(context.Background(), tt.incoming)
			id = logging.RequestID(r)
		})
		if got > tt.want || id == "" {
			t.Errorf("incoming %q: %v allocations (id %q), want %v (the record's, and a made id's string)", tt.incoming, got, id, tt.want)
		}
	}
}
