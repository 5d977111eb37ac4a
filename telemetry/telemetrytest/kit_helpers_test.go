package telemetrytest_test

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

func withRawPath(r *http.Request) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("http.route", r.URL.Path), attribute.String("http.request.method", r.Method))
}

func serverKind() trace.SpanStartOption { return trace.WithSpanKind(trace.SpanKindServer) }
