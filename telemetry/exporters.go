package telemetry

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
)

// component is what an exporter factory builds: a metric reader, a span
// processor or a log processor, which owns its exporter.
type component interface {
	Shutdown(context.Context) error
}

// factory builds one exporter, wrapped in its reader or processor.
type factory[T component] func(b *builder) (T, error)

// exporters is the table of the exporters OTEL_METRICS_EXPORTER,
// OTEL_TRACES_EXPORTER and OTEL_LOGS_EXPORTER may name, per signal: name →
// factory. "none" is allowed in each and names nothing.
var exporters = struct {
	metrics map[string]factory[sdkmetric.Reader]
	traces  map[string]factory[sdktrace.SpanProcessor]
	logs    map[string]factory[sdklog.Processor]
}{
	metrics: map[string]factory[sdkmetric.Reader]{
		"prometheus": (*builder).prometheus,
		"otlp":       (*builder).otlpMetrics,
		"console":    (*builder).consoleMetrics,
	},
	traces: map[string]factory[sdktrace.SpanProcessor]{
		"otlp":    (*builder).otlpTraces,
		"console": (*builder).consoleTraces,
	},
	logs: map[string]factory[sdklog.Processor]{
		"otlp":    (*builder).otlpLogs,
		"console": (*builder).consoleLogs,
	},
}

// builder holds what the factories need, and what they have built so far.
type builder struct {
	ctx     context.Context // bounds the exporters' set-up
	s       *settings
	console io.Writer
	reg     *prometheus.Registry
	built   []component
}

// build runs the factories of names from table, in order, and keeps what
// they build for [builder.shutdown].
func build[T component](b *builder, signal string, names []string, table map[string]factory[T]) ([]T, error) {
	var out []T
	for _, name := range names {
		c, err := table[name](b)
		if err != nil {
			return nil, fmt.Errorf("%s exporter %s: %w", signal, name, err)
		}
		b.built = append(b.built, c)
		out = append(out, c)
	}
	return out, nil
}

// shutdown stops everything built, newest first, when New fails after
// building it: readers and processors run goroutines from their creation.
func (b *builder) shutdown() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), cleanupTimeout)
	defer cancel()
	for i := len(b.built) - 1; i >= 0; i-- {
		_ = b.built[i].Shutdown(ctx)
	}
}

func (b *builder) prometheus() (sdkmetric.Reader, error) {
	if err := b.reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := b.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	return otelprom.New(otelprom.WithRegisterer(b.reg))
}

func (b *builder) consoleMetrics() (sdkmetric.Reader, error) {
	exp, err := stdoutmetric.New(stdoutmetric.WithWriter(b.console))
	if err != nil {
		return nil, err
	}
	return sdkmetric.NewPeriodicReader(exp, b.s.reader...), nil
}

func (b *builder) consoleTraces() (sdktrace.SpanProcessor, error) {
	exp, err := stdouttrace.New(stdouttrace.WithWriter(b.console))
	if err != nil {
		return nil, err
	}
	return sdktrace.NewBatchSpanProcessor(exp, b.s.batchSpans...), nil
}

func (b *builder) consoleLogs() (sdklog.Processor, error) {
	exp, err := stdoutlog.New(stdoutlog.WithWriter(b.console))
	if err != nil {
		return nil, err
	}
	return sdklog.NewBatchProcessor(exp, b.s.batchLogs...), nil
}

// The OTLP factories pass every setting explicitly, defaults included: an
// option wins over the exporter's own reading of the process environment.

func (b *builder) otlpMetrics() (sdkmetric.Reader, error) {
	c := b.s.otlp[metricsSignal.name]
	var exp sdkmetric.Exporter
	var err error
	if c.protocol == "grpc" {
		exp, err = otlpmetricgrpc.New(b.ctx,
			otlpmetricgrpc.WithEndpoint(c.endpoint),
			otlpmetricgrpc.WithTLSCredentials(c.credentials()),
			otlpmetricgrpc.WithHeaders(c.headers),
			otlpmetricgrpc.WithTimeout(c.timeout),
			grpcCompression(c, otlpmetricgrpc.WithCompressor, otlpmetricgrpc.WithDialOption),
			otlpmetricgrpc.WithTemporalitySelector(c.temporality),
			otlpmetricgrpc.WithAggregationSelector(c.aggregation))
	} else {
		compression := otlpmetrichttp.NoCompression
		if c.gzip {
			compression = otlpmetrichttp.GzipCompression
		}
		exp, err = otlpmetrichttp.New(b.ctx,
			otlpmetrichttp.WithEndpointURL(c.endpoint),
			otlpmetrichttp.WithTLSClientConfig(c.httpTLS()),
			otlpmetrichttp.WithHeaders(c.headers),
			otlpmetrichttp.WithTimeout(c.timeout),
			otlpmetrichttp.WithCompression(compression),
			otlpmetrichttp.WithTemporalitySelector(c.temporality),
			otlpmetrichttp.WithAggregationSelector(c.aggregation))
	}
	if err != nil {
		return nil, err
	}
	return sdkmetric.NewPeriodicReader(exp, b.s.reader...), nil
}

func (b *builder) otlpTraces() (sdktrace.SpanProcessor, error) {
	c := b.s.otlp[tracesSignal.name]
	var exp sdktrace.SpanExporter
	var err error
	if c.protocol == "grpc" {
		exp, err = otlptracegrpc.New(b.ctx,
			otlptracegrpc.WithEndpoint(c.endpoint),
			otlptracegrpc.WithTLSCredentials(c.credentials()),
			otlptracegrpc.WithHeaders(c.headers),
			otlptracegrpc.WithTimeout(c.timeout),
			grpcCompression(c, otlptracegrpc.WithCompressor, otlptracegrpc.WithDialOption))
	} else {
		compression, enc := otlptracehttp.NoCompression, otlptracehttp.EncodingProtobuf
		if c.gzip {
			compression = otlptracehttp.GzipCompression
		}
		if c.protocol == "http/json" {
			enc = otlptracehttp.EncodingJSON
		}
		exp, err = otlptracehttp.New(b.ctx,
			otlptracehttp.WithEndpointURL(c.endpoint),
			otlptracehttp.WithTLSClientConfig(c.httpTLS()),
			otlptracehttp.WithHeaders(c.headers),
			otlptracehttp.WithTimeout(c.timeout),
			otlptracehttp.WithCompression(compression),
			otlptracehttp.WithEncoding(enc))
	}
	if err != nil {
		return nil, err
	}
	return sdktrace.NewBatchSpanProcessor(exp, b.s.batchSpans...), nil
}

func (b *builder) otlpLogs() (sdklog.Processor, error) {
	c := b.s.otlp[logsSignal.name]
	compression := otlploghttp.NoCompression
	if c.gzip {
		compression = otlploghttp.GzipCompression
	}
	exp, err := otlploghttp.New(b.ctx,
		otlploghttp.WithEndpointURL(c.endpoint),
		otlploghttp.WithTLSClientConfig(c.httpTLS()),
		otlploghttp.WithHeaders(c.headers),
		otlploghttp.WithTimeout(c.timeout),
		otlploghttp.WithCompression(compression))
	if err != nil {
		return nil, err
	}
	return sdklog.NewBatchProcessor(exp, b.s.batchLogs...), nil
}

// httpTLS returns the TLS configuration of an OTLP/http exporter: none
// for an http:// URL (the exporters refuse one there, and a nil one also
// drops the certificates of the process's variables), else the
// certificates'.
func (c otlpConfig) httpTLS() *tls.Config {
	if c.insecure {
		return nil
	}
	return c.tls
}

// credentials returns the gRPC transport security: none, or TLS with the
// configured certificates.
func (c otlpConfig) credentials() credentials.TransportCredentials {
	if c.insecure {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(c.tls)
}

// grpcCompression returns the option that sets the gRPC exporters'
// compression either way: their WithCompressor knows only "gzip" (any
// other name is reported to the global error handler), so no compression
// is asked for as the "identity" encoding, which overrides a gzip the
// exporter took from the process environment.
func grpcCompression[O any](c otlpConfig, withCompressor func(string) O, withDialOption func(...grpc.DialOption) O) O {
	if c.gzip {
		return withCompressor("gzip")
	}
	return withDialOption(grpc.WithDefaultCallOptions(grpc.UseCompressor(encoding.Identity)))
}
