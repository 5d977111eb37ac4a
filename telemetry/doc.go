// Package telemetry sets up OpenTelemetry metrics for a service and records
// the RED metrics (rate, errors, duration) of every HTTP request it serves,
// named as the OpenTelemetry HTTP semantic conventions name them.
//
// Metrics go to a Prometheus registry of the [Provider]'s own, served by
// [Provider.MetricsHandler] with the Go runtime and process collectors; no
// global provider or registry is touched. Later work adds tracing, OTLP
// export configured from the standard OTEL_* variables, and client metrics.
package telemetry
