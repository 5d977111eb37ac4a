package breaker

import (
	"context"
	"time"
)

// Ticket is a call that [Breaker.Allow] let through, until its outcome is
// reported with [Ticket.Done]. It is safe for concurrent use. The zero
// Ticket belongs to no breaker: its Done does nothing.
type Ticket call

// The phases of a call, in call.ended. A Ticket's are ticketAdmitted
// (holding what Allow took), ticketLate (holding nothing: its admission
// ended at its CallTimeout, its outcome to come) and callEnded.
const (
	callRunning = iota
	callEnded
	ticketLate

	ticketAdmitted = callRunning
	ticketDone     = callEnded
)

// Allow lets one call through, or rejects it as Do would, for a caller
// that starts the call and learns its outcome in separate steps (a stream
// opened now and ended in a callback); Do is simpler when one function
// runs the whole call. A rejection is a [*RejectedError], counted as Do
// counts its own. A call let through is reported once, with its
// ticket's Done.
//
// A ticket holds what a call in flight holds: one of MaxConcurrent's
// slots and, while the breaker is half open, one of its probe calls. It
// holds them until its Done, or until its CallTimeout at the latest, so
// that a caller that never reports cannot keep them: then it gives them
// back and its admission counts as neutral (the breaker does not bound
// the call, which runs under the caller's context, so its lasting says
// nothing of the dependency). A Done after that counts as a call made
// and ended at that moment: counted where one would be let through, and
// dropped, not counted as a rejection, where not (the breaker open, its
// probes all taken). Without a call timeout (CallTimeout negative) there
// is no bound to hold anything under: a ticket holds nothing, is let
// through while the breaker is half open, probes taken or not, and its
// Done counts as such a call of that moment.
//
// ctx is the caller's: Done classifies an error against it as Do does.
func (b *Breaker) Allow(ctx context.Context) (*Ticket, error) {
	mode := Mode(b.mode.Load())
	if mode == HoldOpen {
		b.m.reject(rejectForced)
		return nil, b.rejected[rejectForced]
	}
	if b.direct != nil {
		if mode == Auto && fromGobreaker(b.direct.State()) == Open {
			b.m.reject(rejectOpen)
			return nil, b.rejected[rejectOpen]
		}
		t := &Ticket{b: b, parent: ctx}
		t.ended.Store(ticketLate)
		return t, nil
	}
	slot, done, err := b.admit(mode)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	t := &Ticket{b: b, parent: ctx, done: done, slot: slot, ticket: true, due: now.Add(b.settings.CallTimeout)}
	b.watch.add((*call)(t), now)
	return t, nil
}

// Done reports the call's outcome as Do counts fn's error: nil is a
// success; an error once the context given to Allow was cancelled is
// neutral; a deadline, or any other error that Options.IsSuccessful does
// not accept, is a failure. Only the first Done of a ticket counts; later
// ones do nothing.
func (t *Ticket) Done(err error) {
	c := (*call)(t)
	if c.b == nil {
		return
	}
	switch {
	case c.ended.CompareAndSwap(ticketAdmitted, ticketDone):
		c.b.watch.remove(c)
		c.report(c.b.classify(c.parent, err))
		c.b.giveSlot(c.slot)
	case c.ended.CompareAndSwap(ticketLate, ticketDone):
		c.b.late(c.b.classify(c.parent, err))
	}
}

// ticketExpired ends the admission of a ticket still not done at its
// CallTimeout: neutral, and what it held given back.
func (c *call) ticketExpired() {
	if c.ended.CompareAndSwap(ticketAdmitted, ticketLate) {
		c.report(errNeutral)
		c.b.giveSlot(c.slot)
	}
}

// late counts the outcome of a ticket whose admission ended: as a call of
// now, if one would be let through; dropped otherwise.
func (b *Breaker) late(outcome error) {
	switch Mode(b.mode.Load()) {
	case HoldOpen:
		return
	case HoldClosed:
		b.m.outcome(outcome)
		return
	}
	if b.direct != nil {
		ran := false
		_, _ = b.direct.Execute(func() (struct{}, error) { ran = true; return struct{}{}, outcome })
		if ran { // else rejected: dropped
			b.m.outcome(outcome)
		}
		return
	}
	done, err := b.cb.Allow()
	if err != nil {
		return
	}
	done(outcome)
	b.m.outcome(outcome)
}
