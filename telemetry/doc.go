// Package telemetry sets up OpenTelemetry for a service from the standard
// OTEL_* variables, and records the RED metrics (rate, errors, duration) and
// spans of every HTTP request it serves and sends, named as the
// OpenTelemetry HTTP semantic conventions name them.
//
// Metrics go to a Prometheus registry of the [Provider]'s own, served by
// [Provider.MetricsHandler] with the Go runtime and process collectors and
// with exemplars in OpenMetrics, and, when OTEL_METRICS_EXPORTER says so,
// to OTLP or the console at the same time. Traces go to OTLP or the console
// when OTEL_TRACES_EXPORTER says so, and are off by default. No global
// provider, propagator or registry is touched. telemetrytest observes a
// Provider in memory for tests.
package telemetry
