package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options describe the service to the telemetry backends. The zero value
// names the service "unknown_service", exports metrics to the Prometheus
// registry only and records no traces, whatever OTEL_* says: the standard
// variables are read from Environ, and only when it is set (the root
// package passes the process environment).
type Options struct {
	// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME
	// or OTEL_RESOURCE_ATTRIBUTES set it. Default: "unknown_service".
	ServiceName string
	// ServiceVersion is service.version. Default: none.
	ServiceVersion string
	// Environment is deployment.environment.name. Default: none.
	Environment string
	// Environ holds the OTEL_* variables to honour: OTEL_SERVICE_NAME,
	// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER (otlp, console, none;
	// default none), OTEL_METRICS_EXPORTER (prometheus, otlp, console,
	// none, several at once; default prometheus), OTEL_PROPAGATORS
	// (tracecontext, baggage, none; default both), OTEL_LOGS_EXPORTER
	// (otlp over http/protobuf, console, none; default none: see
	// [Provider.LogHandler]). The OTLP exporters read
	// their own OTEL_EXPORTER_OTLP_* variables (endpoint, protocol,
	// headers) and the tracer provider reads OTEL_TRACES_SAMPLER from the
	// process environment. Default: nil, none of them.
	Environ map[string]string
	// Console receives the console exporters' output. Default: os.Stderr
	// (stdout carries the JSON logs).
	Console io.Writer
	// MetricReaders and SpanProcessors are added to the pipelines, for
	// tests (see telemetrytest) and custom exports. Default: none.
	MetricReaders  []sdkmetric.Reader
	SpanProcessors []sdktrace.SpanProcessor
}

// Provider owns the meter and tracer providers and the Prometheus registry
// of one service; it sets no global. Create it with [New] and call
// [Provider.Shutdown] at the end. It is safe for concurrent use.
type Provider struct {
	loggerProvider   *sdklog.LoggerProvider // nil when no logs exporter is set
	meterProvider    *sdkmetric.MeterProvider
	tracerProvider   *sdktrace.TracerProvider
	effectiveTracers trace.TracerProvider // tracerProvider, or no-op when spans go nowhere
	tracer           trace.Tracer
	series           seriesCache
	propagator       propagation.TextMapPropagator
	registry         *prometheus.Registry
	server           serverMetrics
	client           clientMetrics
}

// New builds the resource, the meter provider (a Prometheus exporter on a
// registry of its own that also holds the Go runtime and process
// collectors, plus any other exporter OTEL_METRICS_EXPORTER names) and the
// tracer provider. ctx bounds the resource detection and the exporters'
// set-up. Bad OTEL_* values are reported together.
func New(ctx context.Context, opts Options) (*Provider, error) {
	env := func(k string) string { return opts.Environ[k] }
	console := opts.Console
	if console == nil {
		console = os.Stderr
	}
	res, err := newResource(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	var errs []error
	reg := prometheus.NewRegistry()
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, r := range opts.MetricReaders {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	for _, name := range list(env("OTEL_METRICS_EXPORTER"), "prometheus") {
		switch name {
		case "prometheus":
			if err := reg.Register(collectors.NewGoCollector()); err != nil {
				errs = append(errs, err)
			}
			if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
				errs = append(errs, err)
			}
			exp, err := otelprom.New(otelprom.WithRegisterer(reg))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			mopts = append(mopts, sdkmetric.WithReader(exp))
		case "otlp":
			exp, err := otlpMetricExporter(ctx, env)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		case "console":
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(console))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		case "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_METRICS_EXPORTER: unknown exporter %q (want prometheus, otlp, console or none)", name))
		}
	}

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, p := range opts.SpanProcessors {
		topts = append(topts, sdktrace.WithSpanProcessor(p))
	}
	for _, name := range list(env("OTEL_TRACES_EXPORTER"), "none") {
		switch name {
		case "otlp":
			exp, err := otlpTraceExporter(ctx, env)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			topts = append(topts, sdktrace.WithBatcher(exp))
		case "console":
			exp, err := stdouttrace.New(stdouttrace.WithWriter(console))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			topts = append(topts, sdktrace.WithBatcher(exp))
		case "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER: unknown exporter %q (want otlp, console or none)", name))
		}
	}

	var props []propagation.TextMapPropagator
	for _, name := range list(env("OTEL_PROPAGATORS"), "tracecontext,baggage") {
		switch name {
		case "tracecontext":
			props = append(props, propagation.TraceContext{})
		case "baggage":
			props = append(props, propagation.Baggage{})
		case "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_PROPAGATORS: unknown propagator %q (want tracecontext, baggage or none)", name))
		}
	}
	var lopts []sdklog.LoggerProviderOption
	for _, name := range list(env("OTEL_LOGS_EXPORTER"), "none") {
		switch name {
		case "otlp":
			if p, err := protocol(env, "LOGS"); err != nil || p != "http/protobuf" {
				errs = append(errs, errors.New("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: logs go over http/protobuf only"))
				continue
			}
			exp, err := otlploghttp.New(ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			lopts = append(lopts, sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		case "console":
			exp, err := stdoutlog.New(stdoutlog.WithWriter(console))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			lopts = append(lopts, sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		case "none":
		default:
			errs = append(errs, fmt.Errorf("OTEL_LOGS_EXPORTER: unknown exporter %q (want otlp, console or none)", name))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("telemetry: %w", errors.Join(errs...))
	}

	mp := sdkmetric.NewMeterProvider(mopts...)
	tp := sdktrace.NewTracerProvider(topts...)
	p := &Provider{
		meterProvider: mp, tracerProvider: tp, registry: reg,
		effectiveTracers: tp,
		propagator:       propagation.NewCompositeTextMapPropagator(props...),
	}
	if len(lopts) > 0 {
		p.loggerProvider = sdklog.NewLoggerProvider(append(lopts, sdklog.WithResource(res))...)
	}
	if len(topts) == 1 { // no exporter, no processor: nobody would see a span
		// The no-op tracer still carries the caller's span context, so
		// propagation and the logs' trace ids keep working, at no cost.
		p.effectiveTracers = noop.NewTracerProvider()
	}
	p.tracer = p.effectiveTracers.Tracer(scopeName)
	meter := mp.Meter(scopeName)
	if p.server, err = newServerMetrics(meter); err == nil {
		p.client, err = newClientMetrics(meter)
	}
	if err != nil {
		_ = p.Shutdown(ctx)
		return nil, err
	}
	return p, nil
}

// list splits a comma-separated variable, or def when it is empty.
func list(v, def string) []string {
	if strings.TrimSpace(v) == "" {
		v = def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(strings.ToLower(s)); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// protocol returns the OTLP protocol for a signal, from its own variable or
// the general one. Default: http/protobuf, as the specification says.
func protocol(env func(string) string, signal string) (string, error) {
	p := env("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
	if p == "" {
		p = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch p {
	case "", "http/protobuf":
		return "http/protobuf", nil
	case "grpc":
		return p, nil
	}
	return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported (want http/protobuf or grpc)", p)
}

func otlpTraceExporter(ctx context.Context, env func(string) string) (sdktrace.SpanExporter, error) {
	p, err := protocol(env, "TRACES")
	if err != nil {
		return nil, err
	}
	if p == "grpc" {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

func otlpMetricExporter(ctx context.Context, env func(string) string) (sdkmetric.Exporter, error) {
	p, err := protocol(env, "METRICS")
	if err != nil {
		return nil, err
	}
	if p == "grpc" {
		return otlpmetricgrpc.New(ctx)
	}
	return otlpmetrichttp.New(ctx)
}

// newResource describes the service: our attributes, then the host and the
// process (not its command line, which may hold secrets), then
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which win.
func newResource(ctx context.Context, opts Options) (*resource.Resource, error) {
	name := opts.ServiceName
	if name == "" {
		name = "unknown_service"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(opts.ServiceVersion))
	}
	if opts.Environment != "" {
		attrs = append(attrs, semconv.DeploymentEnvironmentName(opts.Environment))
	}
	ropts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
	}
	var fromEnv []attribute.KeyValue
	if v := opts.Environ["OTEL_RESOURCE_ATTRIBUTES"]; v != "" {
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", k)
			}
			fromEnv = append(fromEnv, attribute.String(strings.TrimSpace(k), strings.TrimSpace(val)))
		}
	}
	if v := opts.Environ["OTEL_SERVICE_NAME"]; v != "" {
		fromEnv = append(fromEnv, semconv.ServiceName(v))
	}
	ropts = append(ropts, resource.WithAttributes(fromEnv...))
	return resource.New(ctx, ropts...)
}

const scopeName = "github.com/operable-go/operable/telemetry"

// MeterProvider returns the provider's meter provider, for the service's own
// instruments.
func (p *Provider) MeterProvider() metric.MeterProvider { return p.meterProvider }

// TracerProvider returns the provider's tracer provider, for the service's
// own spans. When no exporter or processor would receive spans it is a
// no-op provider that still carries the caller's span context.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.effectiveTracers }

// Propagator returns the context propagator OTEL_PROPAGATORS chose.
func (p *Provider) Propagator() propagation.TextMapPropagator { return p.propagator }

// MetricsHandler serves the registry in the Prometheus text format, or
// OpenMetrics, with exemplars, when the scraper asks for it.
func (p *Provider) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// LogHandler returns the OpenTelemetry logs bridge (otelslog) when
// OTEL_LOGS_EXPORTER names an exporter, else nil. Give it to logging as a
// sink, behind the redactor: the bridge prints structs with %+v, fields
// and all. Its batch processor queues records, so a slow collector does not
// block the caller.
func (p *Provider) LogHandler() slog.Handler {
	if p.loggerProvider == nil {
		return nil
	}
	return otelslog.NewHandler(scopeName, otelslog.WithLoggerProvider(p.loggerProvider))
}

// Shutdown flushes every exporter and stops the providers. It returns when
// ctx is done at the latest.
func (p *Provider) Shutdown(ctx context.Context) error {
	err := errors.Join(p.tracerProvider.Shutdown(ctx), p.meterProvider.Shutdown(ctx))
	if p.loggerProvider != nil {
		err = errors.Join(err, p.loggerProvider.Shutdown(ctx))
	}
	if err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}
