package breaker

import (
	"context"
	"sync"
	"time"
)

// watch reports the calls of one breaker that are still running at their
// deadline. It holds the calls in flight in order of deadline, and one
// timer for the earliest: a call costs a lock to go in and one to come
// out, not a runtime timer of its own to start and stop (see
// BENCHMARKS.md, issue 22). The timer is set again only for a deadline
// earlier than the one it waits for, so that in a steady flow it fires
// about once per call timeout, finds the calls that came and went, and
// waits for the earliest one left. Its function runs in a goroutine of
// the runtime's and returns; a breaker owns no goroutine.
type watch struct {
	mu         sync.Mutex
	head, tail *call       // in flight, by deadline
	timer      *time.Timer // made at the first call; runs fire
	armed      time.Time   // when timer fires; zero: not set
	free       *call       // calls done with, for reuse, linked by next
	nfree      int
}

// maxFree bounds the calls a watch keeps for reuse.
const maxFree = 128

// start returns a call for b, watched until deadline (now + the call
// timeout): one the watch kept, or a new one.
func (w *watch) start(b *Breaker, parent context.Context, done func(error), slot bool, now, deadline time.Time) *call {
	w.mu.Lock()
	c := w.free
	if c != nil {
		w.free, c.next = c.next, nil
		w.nfree--
	} else {
		c = &call{b: b}
	}
	c.parent, c.done, c.slot, c.deadline = parent, done, slot, deadline
	c.ended.Store(false)
	// Calls come in nearly in order of deadline: look from the tail.
	p := w.tail
	for p != nil && deadline.Before(p.deadline) {
		p = p.prev
	}
	c.prev = p
	if p == nil {
		c.next, w.head = w.head, c
	} else {
		c.next, p.next = p.next, c
	}
	if c.next == nil {
		w.tail = c
	} else {
		c.next.prev = c
	}
	c.watched = true
	if w.armed.IsZero() || deadline.Before(w.armed) {
		w.armed = deadline
		if w.timer == nil {
			w.timer = time.AfterFunc(deadline.Sub(now), w.fire)
		} else {
			w.timer.Reset(deadline.Sub(now))
		}
	}
	w.mu.Unlock()
	return c
}

// remove stops watching c and keeps it for a next call, unless the timer
// has taken c already: its report may still be reading c, which is left
// to the GC.
func (w *watch) remove(c *call) {
	w.mu.Lock()
	if c.watched {
		w.unlink(c)
		if w.nfree < maxFree {
			c.parent, c.done = nil, nil // c.b stays: the watch is b's
			c.next, w.free = w.free, c
			w.nfree++
		}
	}
	w.mu.Unlock()
}

// unlink takes c out of the list; w.mu is held.
func (w *watch) unlink(c *call) {
	if c.prev == nil {
		w.head = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		w.tail = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.watched = nil, nil, false
}

// fire takes the calls whose deadline has passed, sets the timer for the
// earliest one left, and reports each taken call as hung.
func (w *watch) fire() {
	now := time.Now()
	var hung []*call
	w.mu.Lock()
	for c := w.head; c != nil && !now.Before(c.deadline); c = w.head {
		w.unlink(c)
		hung = append(hung, c)
	}
	w.armed = time.Time{}
	if w.head != nil {
		w.armed = w.head.deadline
		w.timer.Reset(w.armed.Sub(now))
	}
	w.mu.Unlock()
	for _, c := range hung {
		c.expired()
	}
}
