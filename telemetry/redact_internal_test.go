package telemetry

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/operable-go/operable/logging"
)

// BenchmarkSpanRedaction measures redactSpan alone on an ended server span
// as the middleware records it, with nothing to mask: what the redacting
// processor adds to each span's end, beside BenchmarkSpan's whole request.
func BenchmarkSpanRedaction(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, span := tp.Tracer("t").Start(context.Background(), "GET /items/{id}")
	span.SetAttributes(semconv.HTTPRequestMethodKey.String("GET"), semconv.HTTPResponseStatusCode(200),
		semconv.HTTPRoute("/items/{id}"), semconv.URLPath("/items/42"), semconv.URLScheme("http"))
	span.End()
	s := rec.Ended()[0]
	known := &logging.KnownValues{}
	for _, v := range []string{"admin-token-0123456789", "db-password-abcdef", "api-key-zyxwvu"} {
		known.Add(v)
	}
	for _, c := range []struct {
		name string
		r    Redactor
	}{
		{"trivial", RedactorFunc(func(key, value string) string {
			if strings.Contains(value, "secret") {
				return "[REDACTED]"
			}
			return value
		})},
		// What the root's redactor spends on each string: logging.Mask.
		{"mask", RedactorFunc(func(key, value string) string { return logging.Mask(value, known) })},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if redactSpan(c.r, s) != s {
					b.Fatal("masked a clean span")
				}
			}
		})
	}
}
