package breaker

import (
	"context"
	"sync"
	"time"
)

// watch keeps the deadlines of one breaker's calls: at a call's deadline
// it counts the call as a failure if it is still running and ends its
// context. It holds the calls whose context is alive in order of
// deadline, and one timer for the earliest: a call costs a lock to go in
// and one to come out, not a runtime timer of its own to start and stop
// (see BENCHMARKS.md, issue 22). The timer is set again only for a
// deadline earlier than the one it waits for, so that in a steady flow it
// fires about once per call timeout, finds the calls that came and went,
// and waits for the earliest one left. Its function runs in a goroutine
// of the runtime's and returns; a breaker owns no goroutine.
type watch struct {
	mu         sync.Mutex
	head, tail *call       // alive, by deadline
	timer      *time.Timer // made at the first call; runs fire
	armed      time.Time   // when timer fires; zero: not set
}

// add watches c until it is due (now + the call timeout).
func (w *watch) add(c *call, now time.Time) {
	w.mu.Lock()
	// Calls come in nearly in order: look from the tail.
	p := w.tail
	for p != nil && c.due.Before(p.due) {
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
	if w.armed.IsZero() || c.due.Before(w.armed) {
		w.armed = c.due
		if w.timer == nil {
			w.timer = time.AfterFunc(c.due.Sub(now), w.fire)
		} else {
			w.timer.Reset(c.due.Sub(now))
		}
	}
	w.mu.Unlock()
}

// remove stops watching c, if the timer has not taken it.
func (w *watch) remove(c *call) {
	w.mu.Lock()
	if c.watched {
		w.unlink(c)
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
// earliest one left, reports each taken call still running as hung and
// ends its context.
func (w *watch) fire() {
	now := time.Now()
	var hung []*call
	w.mu.Lock()
	for c := w.head; c != nil && !now.Before(c.due); c = w.head {
		w.unlink(c)
		hung = append(hung, c)
	}
	w.armed = time.Time{}
	if w.head != nil {
		w.armed = w.head.due
		w.timer.Reset(w.armed.Sub(now))
	}
	w.mu.Unlock()
	for _, c := range hung {
		if c.ticket {
			c.ticketExpired()
			continue
		}
		c.expired()
		c.cancel(context.DeadlineExceeded)
	}
}
