package telemetry

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// Options describe the service to the telemetry backends. The zero value
// names the service "unknown_service", as OpenTelemetry does.
type Options struct {
	// ServiceName is the resource's service.name. Default: "unknown_service".
	ServiceName string
	// ServiceVersion is service.version. Default: none.
	ServiceVersion string
	// Environment is deployment.environment.name. Default: none.
	Environment string
}

// Provider owns the meter provider and the Prometheus registry of one
// service. Create it with [New] and call [Provider.Shutdown] at the end.
// It is safe for concurrent use.
type Provider struct {
	meterProvider *sdkmetric.MeterProvider
	registry      *prometheus.Registry
	server        serverMetrics
}

// New builds the meter provider, with a Prometheus exporter on a registry of
// its own that also holds the Go runtime and process collectors. ctx bounds
// the detection of the resource.
func New(ctx context.Context, opts Options) (*Provider, error) {
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
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("telemetry: go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("telemetry: process collector: %w", err)
	}
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(exporter))
	p := &Provider{meterProvider: mp, registry: reg}
	if p.server, err = newServerMetrics(mp.Meter(scopeName)); err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, err
	}
	return p, nil
}

const scopeName = "github.com/operable-go/operable/telemetry"

// MeterProvider returns the provider's meter provider, for the service's own
// instruments.
func (p *Provider) MeterProvider() metric.MeterProvider { return p.meterProvider }

// MetricsHandler serves the registry in the Prometheus text format, or
// OpenMetrics when the scraper asks for it.
func (p *Provider) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Shutdown flushes and stops the meter provider. It returns when ctx is done
// at the latest.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.meterProvider.Shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}
