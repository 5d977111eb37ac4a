package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/operable-go/operable/logging"
)

// The logging benchmarks write the same record, the common shape of a
// service's log line (a message, five fields, an error, a request id), to
// io.Discard.

var errBench = errors.New("dial tcp 10.0.0.7:5432: connection refused")

func benchSlog(b *testing.B, l *slog.Logger) {
	ctx := logging.ContextWithRequestID(context.Background(), "4bf92f3577b34da6")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served",
				slog.String("method", "GET"), slog.String("route", "/items/{id}"), slog.Int("status", 200),
				slog.Float64("duration", 0.0123), slog.Int64("bytes", 512), slog.Any("error", errBench))
		}
	})
}

// BenchmarkLogSlogJSON is the floor: slog's own JSON handler, with the same
// identity attributes and the request id passed as an attribute.
func BenchmarkLogSlogJSON(b *testing.B) {
	l := slog.New(slog.NewJSONHandler(io.Discard, nil)).With("service", "s", "version", "v", "env", "e", "request_id", "4bf92f3577b34da6")
	benchSlog(b, l)
}

// BenchmarkLogOperable is ours with every redaction layer on: sensitive
// keys, secret shapes in every string and error, and a registered secret
// value, plus the context handler adding the request id.
func BenchmarkLogOperable(b *testing.B) {
	known := &logging.KnownValues{}
	known.Add("kn0wn-s3cret-value")
	known.Add("another-registered-secret")
	l, err := logging.New(logging.Options{Writer: io.Discard, Known: known, Service: "s", Version: "v", Env: "e"})
	if err != nil {
		b.Fatal(err)
	}
	benchSlog(b, l)
}

// BenchmarkLogZap is go.uber.org/zap's production JSON logger, no redaction.
func BenchmarkLogZap(b *testing.B) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel)).
		With(zap.String("service", "s"), zap.String("version", "v"), zap.String("env", "e"))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Info("request served",
				zap.String("method", "GET"), zap.String("route", "/items/{id}"), zap.Int("status", 200),
				zap.Float64("duration", 0.0123), zap.Int64("bytes", 512), zap.Error(errBench),
				zap.String("request_id", "4bf92f3577b34da6"))
		}
	})
}

// BenchmarkLogZerolog is github.com/rs/zerolog's JSON logger with a
// timestamp, no redaction.
func BenchmarkLogZerolog(b *testing.B) {
	l := zerolog.New(io.Discard).With().Timestamp().Str("service", "s").Str("version", "v").Str("env", "e").Logger()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Info().Str("method", "GET").Str("route", "/items/{id}").Int("status", 200).
				Float64("duration", 0.0123).Int64("bytes", 512).Err(errBench).
				Str("request_id", "4bf92f3577b34da6").Msg("request served")
		}
	})
}

// discard is a handler that drops every record: behind a *slog.Logger, the
// floor of what any handler can cost (slog's own Record and its attribute
// slice beyond the first five).
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return true }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }

// BenchmarkLogSlogDiscard is the floor of every slog handler: the same
// call into a handler that does nothing.
func BenchmarkLogSlogDiscard(b *testing.B) {
	benchSlog(b, slog.New(discard{}).With("service", "s", "version", "v", "env", "e"))
}
