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
	// SensitiveKeys are added to those of [DefaultSensitiveKeys].
	// Default: none.
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
// level, msg, then, when the context of a ...Context call holds them,
// request_id (see [ContextWithRequestID]), trace_id and span_id, always at
// the top level of the record, then service, version and env, then the
// attributes of With and of the call. Every record is masked as
// [NewRedactHandler] masks it before any output sees it.
//
// There is one pipeline, whatever the options. With the JSON format and no
// ReplaceAttr, stdout is written by one handler that adds the ids, masks
// and encodes in a single pass, and its bytes are the same with sinks or
// without. With the text format or a ReplaceAttr, stdout is written by the
// chain [NewContextHandler] → [NewRedactHandler] → slog's handler, which
// puts the same keys in the same order (a ReplaceAttr then rewrites them,
// after redaction). The sinks are fed by that chain, each behind its own
// level: beside the single pass, one chain of their own masks each record
// once for all of them; beside slog's handler, one chain feeds stdout and
// the sinks. A fan-out (slog-multi) gives each output its own copy of the
// record, stdout first, and turns a panicking sink into an error. The
// sampler (SamplePerSecond) is in front of everything, so that stdout and
// the sinks get the same records.
//
// One difference remains between the two ways: the single pass masks the
// attributes of With once, with the values registered in Known by then,
// while the chain masks them again in every record. A value registered in
// Known after a With is therefore masked in that With's attributes by the
// chain (in the sinks, the text format, with a ReplaceAttr) but not by the
// single pass. Register the secrets before logging with them.
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
	// chain masks the record and adds the ids for the handlers in hs.
	chain := func(hs ...slog.Handler) slog.Handler {
		// Fanout gives each handler its own copy of the record and turns
		// a panicking one into an error, so that one bad sink cannot stop
		// the others.
		return NewContextHandler(&redactHandler{r: r, next: slogmulti.Fanout(hs...)})
	}
	var h slog.Handler
	if opts.Format != "text" && opts.ReplaceAttr == nil {
		// The common case in one handler: ids, redaction and encoding in
		// a single pass (see jsonHandler). The sinks get their own chain
		// beside it, behind a fan-out that keeps a panicking sink from
		// stdout; stdout comes first.
		h = newJSONHandler(w, level, r)
		if len(opts.Sinks) > 0 {
			h = slogmulti.Fanout(h, chain(sinks(level, opts.Sinks)...))
		}
	} else {
		h = chain(append([]slog.Handler{stdlibHandler(w, level, opts)}, sinks(level, opts.Sinks)...)...)
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
	return slog.New(h.WithAttrs(attrs)), nil
}

// sinks returns the sinks' handlers, each behind its own level.
func sinks(level slog.Leveler, ss []Sink) []slog.Handler {
	hs := make([]slog.Handler, 0, len(ss))
	for _, s := range ss {
		sl := s.Level
		if sl == nil {
			sl = level
		}
		hs = append(hs, &levelFilter{level: sl, next: s.Handler})
	}
	return hs
}

// stdlibHandler returns slog's handler for the format, for [New] when the
// single-pass JSON handler does not apply (text or a ReplaceAttr). The
// record's time gets the same fixed three fractional digits as the
// single-pass handler writes.
func stdlibHandler(w io.Writer, level *slog.LevelVar, opts Options) slog.Handler {
	if opts.Format == "text" {
		// The text handler writes fixed milliseconds by itself.
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: opts.ReplaceAttr})
	}
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
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replace})
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
// at millisecond precision and adds, from the context of the ...Context
// call, request_id, trace_id and span_id at the top level of the record,
// first, before every other attribute, also after WithAttrs and WithGroup:
// it keeps the attributes and the groups itself, and passes next one
// record rebuilt as the ids, then the attributes of WithAttrs, then the
// record's own, nested in the open groups. This is the order [New] writes
// on every path. next therefore sees no WithAttrs or WithGroup call, and a
// record only holds what each call of the logger passed; the cost is a
// record rebuilt whenever there is an id or an attribute to put first.
func NewContextHandler(next slog.Handler) slog.Handler {
	return &contextHandler{next: next}
}

type contextHandler struct {
	next   slog.Handler // as given: no attributes, no groups
	attrs  []slog.Attr  // the attributes given before the first group
	groups []groupFrame // the groups opened since, outermost first
}

type groupFrame struct {
	name  string
	attrs []slog.Attr
}

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// inlineAttrs is how many attributes a rebuilt record gathers without
// allocating.
const inlineAttrs = 16

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
	if n == 0 && len(h.attrs) == 0 && len(h.groups) == 0 {
		return h.next.Handle(ctx, r)
	}
	// The ids, the attributes, then the record's own: gathered first, so
	// that the new record grows once.
	var buf [inlineAttrs]slog.Attr
	all := buf[:0]
	if total := n + len(h.attrs) + r.NumAttrs(); total > len(buf) {
		all = make([]slog.Attr, 0, total)
	}
	all = append(append(all, ids[:n]...), h.attrs...)
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool { all = append(all, a); return true })
	} else {
		// Nest the record's attributes in the open groups, innermost
		// first; a group left empty is dropped by GroupValue.
		inner := make([]slog.Attr, 0, r.NumAttrs())
		r.Attrs(func(a slog.Attr) bool { inner = append(inner, a); return true })
		for i := len(h.groups) - 1; i >= 0; i-- {
			g := h.groups[i]
			attrs := append(append(make([]slog.Attr, 0, len(g.attrs)+len(inner)), g.attrs...), inner...)
			inner = []slog.Attr{{Key: g.name, Value: slog.GroupValue(attrs...)}}
		}
		all = append(all, inner...)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(all...)
	return h.next.Handle(ctx, out)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &contextHandler{next: h.next, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
	}
	groups := append([]groupFrame(nil), h.groups...)
	last := &groups[len(groups)-1]
	last.attrs = append(last.attrs[:len(last.attrs):len(last.attrs)], as...)
	return &contextHandler{next: h.next, attrs: h.attrs, groups: groups}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := append(h.groups[:len(h.groups):len(h.groups)], groupFrame{name: name})
	return &contextHandler{next: h.next, attrs: h.attrs, groups: groups}
}
