package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/operable-go/operable/telemetry"
)

func ExampleProvider_Middleware() {
	tp, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "orders", ServiceVersion: "v1.4.0"})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	// Requests are recorded under http_route="/orders/{id}".
	go func() { _ = http.ListenAndServe("127.0.0.1:8080", tp.Middleware(mux)) }()
	// Metrics on a separate listener.
	_ = http.ListenAndServe("127.0.0.1:9090", tp.MetricsHandler())
}

// New reports every bad variable at once, each as a *VarError naming it
// and the form it wants, never quoting the value.
func ExampleVarError() {
	_, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_SAMPLER": "sometimes", "OTEL_BSP_MAX_QUEUE_SIZE": "lots",
	}})
	var ve *telemetry.VarError
	fmt.Println(errors.As(err, &ve))
	fmt.Println(err)
	// Output:
	// true
	// telemetry: OTEL_TRACES_SAMPLER: unsupported sampler (want always_off, always_on, parentbased_always_off, parentbased_always_on, parentbased_traceidratio or traceidratio)
	// OTEL_BSP_MAX_QUEUE_SIZE: want a positive integer
}

// A Redactor masks every span before any processor or exporter sees it:
// here a recorder, as a collector would get the span.
func ExampleOptions_redactor() {
	rec := tracetest.NewSpanRecorder()
	tp, err := telemetry.New(context.Background(), telemetry.Options{
		Environ:        map[string]string{},
		SpanProcessors: []sdktrace.SpanProcessor{rec},
		Redactor: telemetry.RedactorFunc(func(key, value string) string {
			if key == "auth.token" {
				return "[REDACTED]"
			}
			return strings.ReplaceAll(value, "hunter2", "[REDACTED]")
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()

	_, span := tp.TracerProvider().Tracer("example").Start(context.Background(), "login")
	span.SetAttributes(attribute.String("auth.token", "abc123"), attribute.String("note", "password hunter2"))
	span.End()
	for _, kv := range rec.Ended()[0].Attributes() {
		fmt.Println(kv.Key, kv.Value.AsString())
	}
	// Output:
	// auth.token [REDACTED]
	// note password [REDACTED]
}
