package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	slogmulti "github.com/samber/slog-multi"
	"go.opentelemetry.io/otel/trace"
)

// Options configure [New]. The zero value logs JSON at info level to
// os.Stdout with the default redaction and no identity attributes.
type Options struct {
	// Writer receives the log lines. Default: os.Stdout.
	Writer io.Writer
	// Level is the minimum level, shared so that it can change at run time.
	// Default: a new LevelVar at info.
	Level *slog.LevelVar
	// Format is "json" or "text". Default: "json".
	Format string
	// Service, Version and Env are added to every record as "service",
	// "version" and "env" when not empty.
	Service, Version, Env string
	// SensitiveKeys are added to DefaultSensitiveKeys. Default: none.
	SensitiveKeys []string
	// Known holds the secret values the service loaded, masked wherever
	// they appear. Default: nil, none.
	Known *KnownValues
	// Sinks receive every record too, after redaction, each at its own
	// level; stdout stays the first destination. Default: none.
	Sinks []Sink
	// SamplePerSecond, when positive, writes at most that many records with
	// the same level and message per second and summarizes the rest (see
	// [NewSampler]). Default: 0, every record is written.
	SamplePerSecond int
	// ReplaceAttr, when set, rewrites or drops attributes as
	// slog.HandlerOptions.ReplaceAttr does. It runs after redaction.
	// Default: nil.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
}

// New returns a logger that writes one record per line in the contract's
// format: keys time (RFC 3339, UTC, exactly three fractional digits),
// level, msg, service,
// version, env, and, when the context of a ...Context call holds them,
// request_id (see [ContextWithRequestID]), trace_id and span_id, always at
// the top level of the record. Every record is masked as
// [NewRedactHandler] masks it, before any output sees it. With the JSON
// format, no sinks and no ReplaceAttr, one handler does it all in a single
// pass; otherwise the chain NewContextHandler → NewRedactHandler → slog's
// handler (and the sinks) writes the same lines.
func New(opts Options) (*slog.Logger, error) {
	w := opts.Writer
	if w == nil {
		w = os.Stdout
	}
	level := opts.Level
	if level == nil {
		level = new(slog.LevelVar)
	}
	if opts.Format != "" && opts.Format != "json" && opts.Format != "text" {
		return nil, fmt.Errorf("logging: unknown format %q (want json or text)", opts.Format)
	}
	for i, s := range opts.Sinks {
		if s.Handler == nil {
			return nil, fmt.Errorf("logging: sink %d has no Handler", i)
		}
	}
	r := newRedactor(RedactOptions{Keys: opts.SensitiveKeys, Known: opts.Known})
	var h slog.Handler
	fused := opts.Format != "text" && len(opts.Sinks) == 0 && opts.ReplaceAttr == nil
	if fused {
		// The common case in one handler: ids, redaction and encoding
		// in a single pass (see jsonHandler).
		h = newJSONHandler(w, level, r)
	} else {
		h = &redactHandler{r: r, next: composed(w, level, opts)}
	}
	if opts.SamplePerSecond > 0 {
		h = NewSampler(h, SamplerOptions{PerSecond: opts.SamplePerSecond})
	}
	var attrs []slog.Attr
	for _, a := range []slog.Attr{
		slog.String("service", opts.Service),
		slog.String("version", opts.Version),
		slog.String("env", opts.Env),
	} {
		if a.Value.String() != "" {
			attrs = append(attrs, a)
		}
	}
	h = h.WithAttrs(attrs)
	if !fused {
		h = NewContextHandler(h)
	}
	return slog.New(h), nil
}

// composed returns slog's handler for the format with the sinks beside it,
// for [New] when the single-pass JSON handler does not apply (text, sinks
// or a ReplaceAttr). The record's time gets the same fixed three
// fractional digits as the single-pass handler writes.
func composed(w io.Writer, level *slog.LevelVar, opts Options) slog.Handler {
	replace := func(groups []string, a slog.Attr) slog.Attr {
		// groups is nil only for the built-in attributes.
		if groups == nil && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			a.Value = slog.StringValue(string(appendMillis(nil, a.Value.Time())))
		}
		if opts.ReplaceAttr != nil {
			a = opts.ReplaceAttr(groups, a)
		}
		return a
	}
	var h slog.Handler
	if opts.Format == "text" {
		// The text handler writes fixed milliseconds by itself.
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: opts.ReplaceAttr})
	} else {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replace})
	}
	if len(opts.Sinks) == 0 {
		return h
	}
	hs := []slog.Handler{h}
	for _, s := range opts.Sinks {
		sl := s.Level
		if sl == nil {
			sl = level
		}
		hs = append(hs, &levelFilter{level: sl, next: s.Handler})
	}
	// Fanout gives each handler its own copy of the record and turns a
	// panicking sink into an error, so one bad sink cannot stop the
	// others. Redaction wraps the fan-out: the same clean record goes to
	// stdout and to each sink.
	return slogmulti.Fanout(hs...)
}

// ParseLevel parses "debug", "info", "warn" or "error" (any case).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown level %q (want debug, info, warn or error)", s)
}

// NewContextHandler returns a handler that puts each record's time in UTC
// and adds, from the context of the ...Context call, request_id, trace_id
// and span_id at the top level of the record, also after WithGroup: it keeps
// the groups itself and nests the record's attributes into them, so that the
// ids stay where queries look for them.
func NewContextHandler(next slog.Handler) slog.Handler {
	return &contextHandler{next: next}
}

type contextHandler struct {
	next   slog.Handler // holds the attributes given before the first group
	groups []groupFrame // the groups opened since, outermost first
}

type groupFrame struct {
	name  string
	attrs []slog.Attr
}

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	// UTC at millisecond precision: the JSON handler prints RFC 3339 with
	// trailing zeros trimmed ("…:05.78Z" for 780 ms), without allocating.
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	var ids [3]slog.Attr
	n := 0
	if id := RequestID(ctx); id != "" {
		ids[n] = slog.String("request_id", id)
		n++
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		ids[n] = slog.String("trace_id", sc.TraceID().String())
		ids[n+1] = slog.String("span_id", sc.SpanID().String())
		n += 2
	}
	if len(h.groups) == 0 {
		r.AddAttrs(ids[:n]...)
		return h.next.Handle(ctx, r)
	}
	// Nest the record's attributes in the open groups, innermost first.
	inner := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { inner = append(inner, a); return true })
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		attrs := append(append(make([]slog.Attr, 0, len(g.attrs)+len(inner)), g.attrs...), inner...)
		inner = []slog.Attr{{Key: g.name, Value: slog.GroupValue(attrs...)}}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(inner...)
	out.AddAttrs(ids[:n]...)
	return h.next.Handle(ctx, out)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &contextHandler{next: h.next.WithAttrs(as)}
	}
	groups := append([]groupFrame(nil), h.groups...)
	last := &groups[len(groups)-1]
	last.attrs = append(append([]slog.Attr(nil), last.attrs...), as...)
	return &contextHandler{next: h.next, groups: groups}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := append(append([]groupFrame(nil), h.groups...), groupFrame{name: name})
	return &contextHandler{next: h.next, groups: groups}
}
