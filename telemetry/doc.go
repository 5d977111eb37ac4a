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
//
// # Variables
//
// [New] reads these from [Options].Environ, as the OpenTelemetry
// specification defines them, checks them all before it builds anything,
// and reports every bad value at once as a [VarError] that names its
// variable and the form it wants, and never quotes the value or any part
// of it (any of them may carry a credential):
//
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (key=value,...,
//     percent-encoded values).
//   - OTEL_METRICS_EXPORTER: prometheus, otlp, console or none, several at
//     once. Default: prometheus.
//   - OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER: otlp, console or none.
//     Default: none; see [Provider.LogHandler] for the logs.
//   - OTEL_PROPAGATORS: tracecontext, baggage or none. Default: both.
//   - OTEL_TRACES_SAMPLER: always_on, always_off, traceidratio,
//     parentbased_always_on, parentbased_always_off or
//     parentbased_traceidratio (default parentbased_always_on), and
//     OTEL_TRACES_SAMPLER_ARG, the ratio from 0 to 1 (default 1), checked
//     whatever the sampler.
//   - OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE,
//     OTEL_BSP_MAX_EXPORT_BATCH_SIZE (defaults 5000 ms, 30000 ms, 2048, 512)
//     and the same OTEL_BLRP_* for the logs (1000 ms, 30000 ms, 2048, 512).
//   - OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT (60000 ms,
//     30000 ms), for the otlp and console metric exporters.
//   - OTEL_METRICS_EXEMPLAR_FILTER: trace_based (default), always_on or
//     always_off; OTEL_GO_X_CARDINALITY_LIMIT (default 2000, zero or less
//     for no limit).
//   - OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_ATTRIBUTE_COUNT_LIMIT (default
//     none and 128), overridden per signal by OTEL_SPAN_ATTRIBUTE_*_LIMIT and
//     OTEL_LOGRECORD_ATTRIBUTE_*_LIMIT; OTEL_SPAN_EVENT_COUNT_LIMIT,
//     OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
//     OTEL_LINK_ATTRIBUTE_COUNT_LIMIT (default 128).
//
// For each signal exported over OTLP, OTEL_EXPORTER_OTLP_{SIGNAL}_* wins
// over OTEL_EXPORTER_OTLP_*, where SIGNAL is TRACES, METRICS or LOGS:
//
//   - PROTOCOL: http/protobuf (default) or grpc; http/json for traces; logs
//     go over http/protobuf only.
//   - ENDPOINT: over http, the general endpoint is a base URL to which
//     /v1/traces, /v1/metrics or /v1/logs is appended, and a per-signal one
//     is used as it is. Default: http://localhost:4318. Over gRPC, a URL
//     whose scheme decides TLS, or a target such as host:port. Default:
//     localhost:4317.
//   - INSECURE: true for a gRPC target given without a scheme to go without
//     TLS. Default: false.
//   - HEADERS: name=value,... with percent-encoded values. Default: none.
//   - TIMEOUT in milliseconds. Default: 10000.
//   - COMPRESSION: gzip or none (default).
//   - CERTIFICATE, the CA bundle that verifies the collector, and
//     CLIENT_CERTIFICATE with CLIENT_KEY for mutual TLS: PEM files.
//   - For metrics, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
//     (cumulative, delta or lowmemory; default cumulative) and
//     OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION
//     (explicit_bucket_histogram, the default, or
//     base2_exponential_bucket_histogram).
//
// These are checked only for the signals that export over OTLP, since
// their meaning depends on the protocol and they name files to read.
// Numbers of milliseconds and sizes are positive, limits non-negative, and
// booleans true or false.
//
// The OpenTelemetry SDK and its exporters read many of these variables
// again from the process environment, whatever the options say, and log
// what they cannot parse, raw, through the SDK's global logger. So that a
// value New accepts never makes them do so, New is at least as strict as
// they are: it checks every variable set, the general and the per-signal
// forms both, though one wins; numbers are read as they are, without
// surrounding spaces; OTEL_RESOURCE_ATTRIBUTES and the HEADERS take no
// empty entry; and a gRPC endpoint must parse as a URL (a bare address
// starts with a host name: http://10.0.0.1:4317, not 10.0.0.1:4317).
//
// # Redaction
//
// With [Options].Redactor, every span is masked as it ends, before any
// span processor or exporter sees it, and so is the resource, which every
// export carries and /metrics shows as target_info. The root package gives
// one that applies the logger's rules.
package telemetry
