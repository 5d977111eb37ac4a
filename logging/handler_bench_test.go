package logging_test

// The handlers of this package one by one and together, on the common
// record shape, beside slog's JSON handler alone: where the time goes.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/operable-go/operable/logging"
)

func benchRecord(b *testing.B, h slog.Handler) {
	l := slog.New(h)
	ctx := logging.ContextWithRequestID(context.Background(), "4bf92f3577b34da6")
	err := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	b.ReportAllocs()
	for b.Loop() {
		l.LogAttrs(ctx, slog.LevelInfo, "request served",
			slog.String("method", "GET"), slog.String("route", "/items/{id}"), slog.Int("status", 200),
			slog.Float64("duration", 0.0123), slog.Int64("bytes", 512), slog.Any("error", err))
	}
}

func base() slog.Handler {
	return slog.NewJSONHandler(io.Discard, nil).WithAttrs([]slog.Attr{slog.String("service", "s"), slog.String("version", "v"), slog.String("env", "e")})
}

func BenchmarkPartsJSON(b *testing.B)    { benchRecord(b, base()) }
func BenchmarkPartsContext(b *testing.B) { benchRecord(b, logging.NewContextHandler(base())) }
func BenchmarkPartsRedact(b *testing.B) {
	benchRecord(b, logging.NewRedactHandler(base(), logging.RedactOptions{}))
}
func BenchmarkPartsBoth(b *testing.B) {
	benchRecord(b, logging.NewContextHandler(logging.NewRedactHandler(base(), logging.RedactOptions{})))
}

// BenchmarkPartsSinglePass is what logging.New returns by default: the
// three layers above in one pass.
func BenchmarkPartsSinglePass(b *testing.B) {
	l, err := logging.New(logging.Options{Writer: io.Discard, Service: "s", Version: "v", Env: "e"})
	if err != nil {
		b.Fatal(err)
	}
	benchRecord(b, l.Handler())
}

// BenchmarkPartsSinglePassKnown is the default logger as the root builds
// it, with registered secret values: one alphanumeric, one whose every
// encoded form differs from it (percent, JSON, both base64 alphabets).
func BenchmarkPartsSinglePassKnown(b *testing.B) {
	known := &logging.KnownValues{}
	known.Add("kn0wn-s3cret-value")
	known.Add("an0ther/s3cret+with=specials&\"q\"")
	l, err := logging.New(logging.Options{Writer: io.Discard, Known: known, Service: "s", Version: "v", Env: "e"})
	if err != nil {
		b.Fatal(err)
	}
	benchRecord(b, l.Handler())
}

// The other configurations of logging.New: a sink beside stdout (a JSON
// handler, as a file sink would be), slog's text handler, and a
// ReplaceAttr, which takes stdout off the single pass.
func benchNew(b *testing.B, opts logging.Options) {
	opts.Writer, opts.Service, opts.Version, opts.Env = io.Discard, "s", "v", "e"
	l, err := logging.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	benchRecord(b, l.Handler())
}

func BenchmarkNewWithSink(b *testing.B) {
	benchNew(b, logging.Options{Sinks: []logging.Sink{{Handler: slog.NewJSONHandler(io.Discard, nil)}}})
}
func BenchmarkNewText(b *testing.B) { benchNew(b, logging.Options{Format: "text"}) }
func BenchmarkNewReplaceAttr(b *testing.B) {
	benchNew(b, logging.Options{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }})
}
