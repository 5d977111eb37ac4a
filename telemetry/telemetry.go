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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/operable-go/operable/internal/environ"
)

// Options describe the service to the telemetry backends. The zero value
// names the service "unknown_service" and reads the standard OTEL_*
// variables from the process environment; with none of them set, metrics go
// to the Prometheus registry only and no span is recorded.
type Options struct {
	// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME
	// or OTEL_RESOURCE_ATTRIBUTES set it. Default: "unknown_service".
	ServiceName string
	// ServiceVersion is service.version. Default: none.
	ServiceVersion string
	// Environment is deployment.environment.name. Default: none.
	Environment string
	// Environ holds the OTEL_* variables to honour (the package
	// documentation lists them): a map given for tests, or nil for the
	// process environment; an empty map sets none. Every setting is taken
	// from it and passed to the SDK and the exporters explicitly, so that
	// with a map they do not go by the process's OTEL_* variables, with
	// two exceptions the SDK forces: the providers merge in the attributes
	// of the process's OTEL_RESOURCE_ATTRIBUTES that the resource does not
	// set (masked with the rest when a Redactor is set), and the SDK reads
	// its experimental OTEL_GO_X_* switches, other
	// than OTEL_GO_X_CARDINALITY_LIMIT, from the process. Default: nil,
	// the process environment.
	Environ map[string]string
	// Console receives the console exporters' output. Default: os.Stderr
	// (stdout carries the JSON logs).
	Console io.Writer
	// MetricReaders and SpanProcessors are added to the pipelines, for
	// tests (see telemetrytest) and custom exports. New leaves them alone
	// when it fails. Default: none.
	MetricReaders  []sdkmetric.Reader
	SpanProcessors []sdktrace.SpanProcessor
	// Redactor, when set, masks secrets before anything leaves the
	// provider: every span's name, attributes, events, links and status
	// description as it ends, before any span processor or exporter sees
	// it (those of SpanProcessors included; their OnStart still gets the
	// live span), and the string attributes of the resource, which every
	// export carries and /metrics shows in target_info. Metric attributes
	// are not passed to it. Default: nil, nothing is masked.
	Redactor Redactor
}

// Provider owns the meter and tracer providers and the Prometheus registry
// of one service; it sets no global. Create it with [New] and call
// [Provider.Shutdown] at the end. It is safe for concurrent use.
type Provider struct {
	loggerProvider   *sdklog.LoggerProvider // nil when no logs exporter is set
	meterProvider    *sdkmetric.MeterProvider
	tracerProvider   *sdktrace.TracerProvider
	effectiveTracers trace.TracerProvider // tracerProvider, or no-op when spans go nowhere
	spans            bool                 // whether a span goes anywhere: effectiveTracers is tracerProvider
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
// set-up. New first reads and checks every variable it honours and reports
// all the bad ones together, naming each variable, before it builds
// anything; when building fails, it shuts down what it had built.
func New(ctx context.Context, opts Options) (*Provider, error) {
	s, problems := parse(environ.Or(opts.Environ))
	if len(problems) > 0 {
		return nil, fmt.Errorf("telemetry: %w", errors.Join(problems...))
	}
	res, err := newResource(ctx, opts, s.resource)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	b := &builder{ctx: ctx, s: s, console: opts.Console, reg: prometheus.NewRegistry()}
	if b.console == nil {
		b.console = os.Stderr
	}
	readers, err := build(b, "metrics", s.metrics, exporters.metrics)
	var spans []sdktrace.SpanProcessor
	if err == nil {
		spans, err = build(b, "traces", s.traces, exporters.traces)
	}
	var logs []sdklog.Processor
	if err == nil {
		logs, err = build(b, "logs", s.logs, exporters.logs)
	}
	if err != nil {
		b.shutdown()
		return nil, fmt.Errorf("telemetry: %w", err)
	}

	mopts := append([]sdkmetric.Option{sdkmetric.WithResource(res)}, s.meter...)
	for _, r := range append(slices.Clone(opts.MetricReaders), readers...) {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	topts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res), sdktrace.WithSampler(s.sampler), sdktrace.WithRawSpanLimits(s.spanLimits),
	}
	spans = append(slices.Clone(opts.SpanProcessors), spans...)
	switch {
	case len(spans) > 0 && opts.Redactor != nil:
		// One processor in front of all: each span is masked once.
		topts = append(topts, sdktrace.WithSpanProcessor(&redactingProcessor{r: opts.Redactor, next: spans}))
	default:
		for _, sp := range spans {
			topts = append(topts, sdktrace.WithSpanProcessor(sp))
		}
	}
	mp := sdkmetric.NewMeterProvider(mopts...)
	tp := sdktrace.NewTracerProvider(topts...)
	p := &Provider{
		meterProvider: mp, tracerProvider: tp, registry: b.reg,
		effectiveTracers: tp, spans: len(spans) > 0,
		propagator: propagation.NewCompositeTextMapPropagator(s.propagators...),
	}
	if len(logs) > 0 {
		lopts := append([]sdklog.LoggerProviderOption{sdklog.WithResource(res)}, s.logger...)
		for _, lp := range logs {
			lopts = append(lopts, sdklog.WithProcessor(lp))
		}
		p.loggerProvider = sdklog.NewLoggerProvider(lopts...)
	}
	if len(spans) == 0 { // no exporter, no processor: nobody would see a span
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
		// The providers run nothing of their own: stopping what was built
		// stops everything but the caller's readers and processors.
		b.shutdown()
		return nil, err
	}
	return p, nil
}

// cleanupTimeout bounds the shutdown of what a failing New had built.
const cleanupTimeout = 5 * time.Second

// newResource describes the service: our attributes, then the host and the
// process (not its command line, which may hold secrets), then fromEnv
// (OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME), which wins; masked
// by opts.Redactor.
func newResource(ctx context.Context, opts Options, fromEnv []attribute.KeyValue) (*resource.Resource, error) {
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
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithAttributes(fromEnv...),
	)
	if err != nil {
		return nil, err
	}
	return redactResource(opts.Redactor, res), nil
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
