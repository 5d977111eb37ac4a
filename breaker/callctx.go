package breaker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// call is one call let through with a call timeout, from its start to its
// outcome, and the context.Context the call runs with: the caller's
// context, bounded by the call timeout. Its deadline is kept by the
// breaker's watch, whose one timer both counts a call still running then
// as a failure and cancels its context, so that a call starts no runtime
// timer of its own (context.WithTimeout starts one and allocates four
// objects; a call allocates one, BENCHMARKS.md, issue 22). Like the
// context package's own, it is safe for concurrent use, and contexts
// derived from it are cancelled with it without a goroutine. Its values
// are the caller's, including the one context.Cause looks up, hence the
// difference Do's doc states. A [Ticket] is a call whose context no one
// runs with: at its deadline the watch only takes back what it holds.
type call struct {
	b      *Breaker
	parent context.Context // the caller's
	done   func(error)     // gobreaker's; nil when held closed
	ended  atomic.Int32    // callRunning, callEnded (reported) or, a Ticket's, ticketLate
	slot   bool            // holds a MaxConcurrent slot
	ticket bool            // a Ticket's record: not a context, and neutral at its deadline

	deadline time.Time // Deadline: the call timeout's, or the caller's if earlier

	mu         sync.Mutex
	ch         chan struct{} // Done, made when first asked for
	err        error         // nil until cancelled
	hooks      []*hook       // functions to call when cancelled (derived contexts)
	stopParent func() bool   // detaches from the caller's context

	// In b.watch's list until cancelled, or until its deadline.
	prev, next *call
	due        time.Time // start + the call timeout
	watched    bool
}

// hook is a function registered with AfterFunc; f is nil once it has run
// or been stopped.
type hook struct{ f func() }

// closed is the Done channel of a call cancelled before anyone asked.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// newCall returns a call with the caller's context parent, watched by b
// until it is due at now + the call timeout, and ended with parent.
func newCall(b *Breaker, parent context.Context, done func(error), slot bool, now time.Time) *call {
	c := &call{b: b, parent: parent, done: done, slot: slot, due: now.Add(b.settings.CallTimeout)}
	c.deadline = c.due
	if d, ok := parent.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	b.watch.add(c, now)
	if pd := parent.Done(); pd != nil {
		select {
		case <-pd:
			c.cancel(parent.Err())
		default:
			stop := context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
			c.mu.Lock()
			c.stopParent = stop
			c.mu.Unlock()
		}
	}
	return c
}

// Deadline returns the call timeout's deadline, or the caller's if it is
// earlier.
func (c *call) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the call's context is cancelled.
func (c *call) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
		if c.err != nil {
			close(c.ch)
		}
	}
	return c.ch
}

// Err returns nil, context.DeadlineExceeded once the call timeout is up,
// context.Canceled once the call is over, or the caller's context's error
// if it ended first.
func (c *call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value returns the caller's context's value for key.
func (c *call) Value(key any) any { return c.parent.Value(key) }

// String names the context, as the context package's own do.
func (c *call) String() string { return "breaker.call(" + c.b.name + ")" }

// AfterFunc arranges for f to run when the context is cancelled, and
// returns a function that stops it (true if that kept f from running).
// The context package uses it for the contexts derived from this one, so
// that they are cancelled with it without a goroutine each.
func (c *call) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f() // as context.AfterFunc does on a context already done
		return func() bool { return false }
	}
	h := &hook{f: f}
	c.hooks = append(c.hooks, h)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if h.f == nil {
			return false
		}
		h.f = nil
		for i, x := range c.hooks {
			if x == h {
				c.hooks = append(c.hooks[:i], c.hooks[i+1:]...)
				break
			}
		}
		return true
	}
}

// cancel ends the call's context with err, once: it closes Done, runs the
// hooks, lets go of the caller's context and leaves the watch.
func (c *call) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.ch == nil {
		c.ch = closed
	} else {
		close(c.ch)
	}
	hooks, stopParent := c.hooks, c.stopParent
	c.hooks, c.stopParent = nil, nil
	fs := make([]func(), 0, len(hooks))
	for _, h := range hooks {
		fs, h.f = append(fs, h.f), nil
	}
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
	if stopParent != nil {
		stopParent()
	}
	c.b.watch.remove(c)
}
