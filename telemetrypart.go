package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/telemetry"
)

// startTelemetry builds the telemetry provider from the configuration and
// the OTEL_* variables of the service's environment. It is released (its
// exporters flushed and shut down) when a later step fails or an unrun
// service is closed; once the service runs, the stop sequence's last hook
// does it (see startHealth).
//
// The provider masks what it exports (span names, attributes, events,
// links, status descriptions, the resource) with the logger's rules
// (logging.Redactor.Attr): the known secret values are created here, before the
// provider, so that a span ended before the logging step is masked like
// any other, and the logging step hands the same set to the logger. The
// OpenTelemetry SDK's own diagnostics are routed to the service's logs from
// here on (see otelDiagnostics), so that what the exporters log while they
// are set up is redacted JSON too.
func (s *Service) startTelemetry(ctx context.Context, opts Options) error {
	s.known = &logging.KnownValues{}
	// Until the logger exists, the SDK's diagnostics go to a logger of the
	// same format and redaction on the same output.
	boot, err := logging.New(logging.Options{
		Writer: opts.Stdout, Format: s.cfg.LogFormat, Known: s.known,
		Service: s.cfg.ServiceName, Version: s.cfg.ServiceVersion, Env: s.cfg.Environment,
	})
	if err != nil {
		return fmt.Errorf("operable: %w", err)
	}
	// Pushed first, so released last: the final flush's errors are logged.
	s.release.push("opentelemetry diagnostics", otelDiagnostics.route(s, boot))
	to := telemetry.Options{
		ServiceName: s.cfg.ServiceName, ServiceVersion: s.cfg.ServiceVersion, Environment: s.cfg.Environment,
		Environ: s.env, Console: opts.Stderr, Redactor: telemetry.RedactorFunc(logging.NewRedactor(logging.RedactOptions{Known: s.known}).Attr),
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
	{Var: "OTEL_TRACES_SAMPLER_ARG", Type: "float", Default: "1", Description: "the ratio (0 to 1) of the traceidratio samplers; checked whatever the sampler"},
	{Var: "OTEL_EXPORTER_OTLP_ENDPOINT", Type: "url", Default: "http://localhost:4318", Description: "the collector; _TRACES_, _METRICS_, _LOGS_ forms per signal"},
	{Var: "OTEL_EXPORTER_OTLP_PROTOCOL", Type: "string", Default: "http/protobuf", Description: "http/protobuf or grpc (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_HEADERS", Type: "name=value,...", Secret: true, Description: "headers of every export, percent-encoded values (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_TIMEOUT", Type: "milliseconds", Default: "10000", Description: "bounds each export (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_COMPRESSION", Type: "string", Default: "none", Description: "gzip or none (per signal too)"},
	{Var: "OTEL_EXPORTER_OTLP_CERTIFICATE", Type: "file", Description: "the CA bundle that verifies the collector; _CLIENT_CERTIFICATE and _CLIENT_KEY for mutual TLS"},
	{Var: "OTEL_METRIC_EXPORT_INTERVAL", Type: "milliseconds", Default: "60000", Description: "how often otlp and console metrics are exported"},
	{Var: "OTEL_BSP_SCHEDULE_DELAY", Type: "milliseconds", Default: "5000", Description: "span batching; OTEL_BSP_* and OTEL_BLRP_* (logs) for the queue and batch sizes"},
}

// otelDiagnostics routes the OpenTelemetry SDK's diagnostics, its
// internal logger (otel.SetLogger) and its error handler
// (otel.SetErrorHandler), to the logs of the last service built: redacted
// JSON lines (or text, with LOG_FORMAT=text) on its stdout, at its level,
// with "logger":"opentelemetry". These are process-wide settings of the
// OpenTelemetry SDK, so the last service whose New reached the telemetry
// step wins. Before a service's logger exists, its diagnostics go to a
// logger of the same format and redaction on the same output; after the
// service is released (a failed New, Close), or when no service is current,
// to a redacting JSON logger on stderr. The SDK's defaults, which print
// raw text on stderr, are never restored.
var otelDiagnostics diagnosticsRouter

type diagnosticsRouter struct {
	cur atomic.Pointer[diagnosticsRoute]
}

// diagnosticsRoute is one service's destination.
type diagnosticsRoute struct {
	owner  *Service
	logger atomic.Pointer[slog.Logger]
}

// diagnosticsFallback logs the SDK's diagnostics when no service is
// current: redacted JSON on stderr. Built on first use.
var diagnosticsFallback = sync.OnceValue(func() *slog.Logger {
	l, _ := logging.New(logging.Options{Writer: os.Stderr}) // the zero options cannot fail
	return l
})

// route makes s the destination of the SDK's diagnostics, logged with
// logger until bind gives s's own, and returns the release that ends it.
func (d *diagnosticsRouter) route(s *Service, logger *slog.Logger) func(context.Context) error {
	r := &diagnosticsRoute{owner: s}
	r.logger.Store(logger)
	d.cur.Store(r)
	otel.SetLogger(logr.New(otelLogSink{d: d}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		d.logger().LogAttrs(context.Background(), slog.LevelError, "opentelemetry error",
			slog.String("logger", "opentelemetry"), slog.Any("error", err))
	}))
	return func(context.Context) error {
		d.cur.CompareAndSwap(r, nil)
		return nil
	}
}

// bind gives s's logger to its route, if s is still the current one.
func (d *diagnosticsRouter) bind(s *Service, logger *slog.Logger) {
	if r := d.cur.Load(); r != nil && r.owner == s {
		r.logger.Store(logger)
	}
}

func (d *diagnosticsRouter) logger() *slog.Logger {
	if r := d.cur.Load(); r != nil {
		return r.logger.Load()
	}
	return diagnosticsFallback()
}

// otelLogSink is the logr.LogSink the SDK logs through: each call becomes
// a record of the current service's logger.
type otelLogSink struct {
	d     *diagnosticsRouter
	name  string
	attrs []any
}

// otelLevel maps logr's verbosity, as the OpenTelemetry SDK uses it (Warn
// is V(1), Info V(4), Debug V(8)), to slog's levels: its warnings are
// warnings, its informational and debug messages are debug.
func otelLevel(v int) slog.Level {
	switch {
	case v <= 0:
		return slog.LevelInfo
	case v < 4:
		return slog.LevelWarn
	case v < 8:
		return slog.LevelDebug
	}
	return slog.LevelDebug - 4
}

func (otelLogSink) Init(logr.RuntimeInfo) {}

func (l otelLogSink) Enabled(v int) bool {
	return l.d.logger().Enabled(context.Background(), otelLevel(v))
}

func (l otelLogSink) Info(v int, msg string, kv ...any) { l.log(otelLevel(v), msg, nil, kv) }

func (l otelLogSink) Error(err error, msg string, kv ...any) { l.log(slog.LevelError, msg, err, kv) }

func (l otelLogSink) log(level slog.Level, msg string, err error, kv []any) {
	logger := l.d.logger()
	ctx := context.Background()
	if !logger.Enabled(ctx, level) {
		return
	}
	name := "opentelemetry"
	if l.name != "" {
		name += "/" + l.name
	}
	args := append([]any{slog.String("logger", name)}, l.attrs...)
	if err != nil {
		args = append(args, slog.Any("error", err))
	}
	logger.Log(ctx, level, msg, append(args, kv...)...)
}

func (l otelLogSink) WithValues(kv ...any) logr.LogSink {
	l.attrs = append(l.attrs[:len(l.attrs):len(l.attrs)], kv...)
	return l
}

func (l otelLogSink) WithName(name string) logr.LogSink {
	if l.name != "" {
		name = l.name + "/" + name
	}
	l.name = name
	return l
}
