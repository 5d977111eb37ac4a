package logging

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"
)

// SamplerOptions configure [NewSampler].
type SamplerOptions struct {
	// PerSecond is how many records with the same level and message are
	// written in one second; the rest are counted. Required, positive.
	PerSecond int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// samplerShards spreads the counters so that concurrent loggers rarely
// share a lock.
const samplerShards = 16

type samplerState struct {
	opts   SamplerOptions
	seed   maphash.Seed
	shards [samplerShards]samplerShard
}

type samplerShard struct {
	mu     sync.Mutex
	window int64 // unix second the counts belong to
	counts map[samplerKey]*samplerCount
}

type samplerKey struct {
	level slog.Level
	msg   string
}

type samplerCount struct {
	n, suppressed int
}

type sampler struct {
	s    *samplerState
	next slog.Handler
}

// NewSampler returns a handler that passes at most opts.PerSecond records
// with the same level and message per second to next, and counts the rest.
// When a second with suppressed records has passed, the next record that
// falls in the same shard of counters first writes one summary per
// suppressed message: msg "log records suppressed", with "message",
// "suppressed" and "per_second". A flood thus costs a few lines, not
// thousands, and is never silent.
func NewSampler(next slog.Handler, opts SamplerOptions) slog.Handler {
	if opts.PerSecond <= 0 {
		opts.PerSecond = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &samplerState{opts: opts, seed: maphash.MakeSeed()}
	return &sampler{s: s, next: next}
}

func (h *sampler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *sampler) Handle(ctx context.Context, r slog.Record) error {
	now := h.s.opts.Now().Unix()
	sh := &h.s.shards[maphash.String(h.s.seed, r.Message)%samplerShards]
	key := samplerKey{r.Level, r.Message}

	sh.mu.Lock()
	var summaries []slog.Record
	if sh.window != now {
		for k, c := range sh.counts {
			if c.suppressed > 0 {
				sum := slog.NewRecord(r.Time, k.level, "log records suppressed", 0)
				sum.AddAttrs(slog.String("message", k.msg), slog.Int("suppressed", c.suppressed),
					slog.Int("per_second", h.s.opts.PerSecond))
				summaries = append(summaries, sum)
			}
		}
		clear(sh.counts)
		sh.window = now
	}
	if sh.counts == nil {
		sh.counts = map[samplerKey]*samplerCount{}
	}
	c := sh.counts[key]
	if c == nil {
		c = &samplerCount{}
		sh.counts[key] = c
	}
	c.n++
	pass := c.n <= h.s.opts.PerSecond
	if !pass {
		c.suppressed++
	}
	sh.mu.Unlock()

	for _, sum := range summaries {
		_ = h.next.Handle(ctx, sum)
	}
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *sampler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sampler{s: h.s, next: h.next.WithAttrs(as)}
}

func (h *sampler) WithGroup(name string) slog.Handler {
	return &sampler{s: h.s, next: h.next.WithGroup(name)}
}
