package operable

import (
	"context"
	"errors"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/telemetry"
)

// startTelemetry builds the telemetry provider from the configuration and
// the OTEL_* variables of the service's environment. It is released (its
// exporters flushed and shut down) when a later step fails or an unrun
// service is closed; once the service runs, the stop sequence's last hook
// does it (see startHealth).
func (s *Service) startTelemetry(ctx context.Context, opts Options) error {
	to := telemetry.Options{
		ServiceName: s.cfg.ServiceName, ServiceVersion: s.cfg.ServiceVersion, Environment: s.cfg.Environment,
		Environ: s.env, Console: opts.Stderr,
	}
	if opts.Telemetry != nil {
		opts.Telemetry(&to)
	}
	tel, err := telemetry.New(ctx, to)
	if err != nil {
		// Bad OTEL_* values are configuration too (exit code 78): one
		// problem per variable.
		return &config.Error{Problems: telemetryProblems(err)}
	}
	s.tel = tel
	s.release.push("telemetry", tel.Shutdown)
	return nil
}

// telemetryProblems turns telemetry.New's error into problems: one per bad
// variable (a *telemetry.VarError anywhere in the tree of joined and
// wrapped errors), or the error itself when it holds none.
func telemetryProblems(err error) []config.Problem {
	var problems []config.Problem
	var walk func(error)
	walk = func(err error) {
		var ve *telemetry.VarError
		switch u := err.(type) {
		case *telemetry.VarError:
			problems = append(problems, config.Problem{Var: u.Var, Reason: u.Err.Error()})
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if errors.As(err, &ve) {
				walk(u.Unwrap())
				return
			}
			problems = append(problems, config.Problem{Reason: err.Error()})
		default:
			problems = append(problems, config.Problem{Reason: err.Error()})
		}
	}
	walk(err)
	return problems
}

// telemetryFlushTimeout bounds the final flush of metrics, spans and logs.
const telemetryFlushTimeout = 2 * time.Second

// telemetryVariables are the main OTEL_* variables the telemetry part
// reads, for the reference (package telemetry's doc lists every one).
var telemetryVariables = []config.Field{
	{Var: "OTEL_SERVICE_NAME", Type: "string", Description: "the resource's service.name; wins over SERVICE_NAME"},
	{Var: "OTEL_RESOURCE_ATTRIBUTES", Type: "key=value,...", Description: "more resource attributes, percent-encoded values"},
	{Var: "OTEL_METRICS_EXPORTER", Type: "list", Default: "prometheus", Description: "prometheus, otlp, console or none, several at once"},
	{Var: "OTEL_TRACES_EXPORTER", Type: "list", Default: "none", Description: "otlp, console or none"},
	{Var: "OTEL_LOGS_EXPORTER", Type: "list", Default: "none", Description: "otlp, console or none: a sink of the logger, redacted"},
	{Var: "OTEL_PROPAGATORS", Type: "list", Default: "tracecontext,baggage", Description: "tracecontext, baggage or none"},
	{Var: "OTEL_TRACES_SAMPLER", Type: "string", Default: "parentbased_always_on", Description: "always_on, always_off, traceidratio or their parentbased_ forms"},
	{Var: "OTEL_TRACES_SAMPLER_ARG", Type: "float", Default: "1", Description: "the ratio of the traceidratio samplers"},
	{Var: "OTEL_EXPORTER_OTLP_ENDPOINT", Type: "url", Default: "http://localhost:4318", Description: "the collector; _TRACES_, _METRICS_, _LOGS_ forms per signal"},
	{Var: "OTEL_EXPORTER_OTLP_PROTOCOL", Type: "string", Default: "http/protobuf", Description: "http/protobuf or grpc (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_HEADERS", Type: "name=value,...", Secret: true, Description: "headers of every export, percent-encoded values (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_TIMEOUT", Type: "milliseconds", Default: "10000", Description: "bounds each export (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_COMPRESSION", Type: "string", Default: "none", Description: "gzip or none (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_CERTIFICATE", Type: "file", Description: "the CA bundle that verifies the collector; _CLIENT_CERTIFICATE and _CLIENT_KEY for mutual TLS"},
	{Var: "OTEL_METRIC_EXPORT_INTERVAL", Type: "milliseconds", Default: "60000", Description: "how often otlp and console metrics are exported"},
	{Var: "OTEL_BSP_SCHEDULE_DELAY", Type: "milliseconds", Default: "5000", Description: "span batching; OTEL_BSP_* and OTEL_BLRP_* (logs) for the queue and batch sizes"},
}
