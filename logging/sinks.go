package logging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Sink is an extra destination for the records, beside stdout: a file, the
// OpenTelemetry logs bridge (go.opentelemetry.io/contrib/bridges/otelslog),
// anything that is a slog.Handler. Every sink receives the record after
// redaction.
type Sink struct {
	// Handler writes the records. Wrap a handler that may be slow or may
	// block (a network exporter, a file on a slow disk) in [NewAsync], so
	// that it cannot hold up the others. Required.
	Handler slog.Handler
	// Level is the sink's own minimum level. Default: nil, the logger's
	// level.
	Level slog.Leveler
}

// levelFilter gives a handler its own minimum level.
type levelFilter struct {
	level slog.Leveler
	next  slog.Handler
}

func (h *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() && h.next.Enabled(ctx, l)
}
func (h *levelFilter) Handle(ctx context.Context, r slog.Record) error { return h.next.Handle(ctx, r) }
func (h *levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelFilter{h.level, h.next.WithAttrs(as)}
}
func (h *levelFilter) WithGroup(name string) slog.Handler {
	return &levelFilter{h.level, h.next.WithGroup(name)}
}

// AsyncOptions configure [NewAsync].
type AsyncOptions struct {
	// Queue is how many records may wait for the handler. When it is full,
	// new records for this handler are dropped and counted, so that a slow
	// sink never blocks the caller or the other sinks. Default: 1024.
	Queue int
}

// Async writes records to a handler from a goroutine of its own, through a
// bounded queue. Create it with [NewAsync] and stop it with [Async.Close],
// which drains the queue. It is safe for concurrent use.
type Async struct {
	q       chan asyncItem
	dropped atomic.Uint64
	failed  atomic.Uint64
	closed  atomic.Bool
	mu      sync.RWMutex // Handle holds it to read; Close to close q
	done    chan struct{}
	next    slog.Handler
}

type asyncItem struct {
	ctx context.Context
	h   slog.Handler
	r   slog.Record
}

// NewAsync starts the goroutine that feeds next.
func NewAsync(next slog.Handler, opts AsyncOptions) *Async {
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	a := &Async{q: make(chan asyncItem, opts.Queue), done: make(chan struct{}), next: next}
	go a.run()
	return a
}

func (a *Async) run() {
	defer close(a.done)
	for it := range a.q {
		if err := it.h.Handle(it.ctx, it.r); err != nil {
			a.failed.Add(1)
		}
	}
}

// Handler returns the slog.Handler that queues records for next.
func (a *Async) Handler() slog.Handler { return &asyncHandler{a: a, next: a.next} }

// Dropped is how many records were dropped because the queue was full or
// the Async was closed.
func (a *Async) Dropped() uint64 { return a.dropped.Load() }

// Failed is how many records the handler returned an error for.
func (a *Async) Failed() uint64 { return a.failed.Load() }

// Close stops taking records and waits, until ctx is done, for the queued
// ones to be written. It returns an error naming how many were left.
func (a *Async) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed.Swap(true) {
		close(a.q)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logging: %d records not written: %w", len(a.q), ctx.Err())
	}
}

// errQueueFull is returned for a dropped record.
var errQueueFull = errors.New("logging: async queue full, record dropped")

type asyncHandler struct {
	a    *Async
	next slog.Handler
}

func (h *asyncHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *asyncHandler) Handle(ctx context.Context, r slog.Record) error {
	h.a.mu.RLock()
	defer h.a.mu.RUnlock()
	if h.a.closed.Load() {
		h.a.dropped.Add(1)
		return errQueueFull
	}
	select {
	case h.a.q <- asyncItem{ctx: context.WithoutCancel(ctx), h: h.next, r: r.Clone()}:
		return nil
	default:
		h.a.dropped.Add(1)
		return errQueueFull
	}
}

func (h *asyncHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &asyncHandler{a: h.a, next: h.next.WithAttrs(as)}
}

func (h *asyncHandler) WithGroup(name string) slog.Handler {
	return &asyncHandler{a: h.a, next: h.next.WithGroup(name)}
}
