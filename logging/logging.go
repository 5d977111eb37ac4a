package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Options configure [New]. The zero value logs JSON at info level to
// os.Stdout with no identity attributes.
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
	// ReplaceAttr, when set, rewrites or drops attributes as
	// slog.HandlerOptions.ReplaceAttr does, after the time is formatted.
	// Default: nil.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
}

// New returns a logger that writes one record per line in the contract's
// format: keys time (RFC 3339, UTC, milliseconds), level, msg, service,
// version, env, and request_id when the context of a ...Context call holds
// one (see [ContextWithRequestID]).
func New(opts Options) (*slog.Logger, error) {
	w := opts.Writer
	if w == nil {
		w = os.Stdout
	}
	level := opts.Level
	if level == nil {
		level = new(slog.LevelVar)
	}
	replace := replaceTime
	if user := opts.ReplaceAttr; user != nil {
		replace = func(groups []string, a slog.Attr) slog.Attr { return user(groups, replaceTime(groups, a)) }
	}
	ho := &slog.HandlerOptions{Level: level, ReplaceAttr: replace}
	var h slog.Handler
	switch opts.Format {
	case "", "json":
		h = slog.NewJSONHandler(w, ho)
	case "text":
		h = slog.NewTextHandler(w, ho)
	default:
		return nil, fmt.Errorf("logging: unknown format %q (want json or text)", opts.Format)
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
	return slog.New(&contextHandler{h.WithAttrs(attrs)}), nil
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

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func replaceTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(timeFormat))
	}
	return a
}

// contextHandler adds the request id of the record's context to the record.
// Known limit: after WithGroup the id lands inside the group.
type contextHandler struct {
	slog.Handler
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &contextHandler{h.Handler.WithAttrs(as)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{h.Handler.WithGroup(name)}
}
