// Package telemetrytest observes what a telemetry.Provider records, in
// memory, so that service authors can test their own metrics and spans
// without a backend: a manual metric reader and a span recorder wired into
// a real provider, one made by [New] or a whole service's (attach an
// [Observer] through operable.Options.Telemetry). With a
// telemetry.Options.Redactor, as a service's provider has, the observer
// gets the spans masked, as every exporter does.
//
// [TestHTTP] and [RunHTTP] are the conformance kit for a service's HTTP
// telemetry seen from outside: a server span per request continuing the
// caller's trace, the duration histogram by method, route template and
// status, no raw path in any attribute, and 5xx marked as errors.
package telemetrytest

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/operable-go/operable/telemetry"
)

// Observer holds what the provider recorded.
type Observer struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
}

// NewObserver returns an Observer to attach to a provider's options with
// [Observer.Attach]: for a provider built elsewhere, such as the one of an
// operable.Service (its Options.Telemetry takes Attach).
func NewObserver() *Observer {
	return &Observer{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
}

// Attach adds the observer's metric reader and span recorder to opts.
func (o *Observer) Attach(opts *telemetry.Options) {
	opts.MetricReaders = append(opts.MetricReaders, o.reader)
	opts.SpanProcessors = append(opts.SpanProcessors, o.spans)
}

// New returns a provider built from opts with an Observer attached; the
// provider is shut down when the test ends. A nil opts.Environ stands for
// an empty map here, not for the process environment, so that the OTEL_*
// variables of the machine running the tests change nothing.
func New(tb testing.TB, opts telemetry.Options) (*telemetry.Provider, *Observer) {
	tb.Helper()
	if opts.Environ == nil {
		opts.Environ = map[string]string{}
	}
	o := NewObserver()
	o.Attach(&opts)
	p, err := telemetry.New(context.Background(), opts)
	if err != nil {
		tb.Fatalf("telemetrytest: %v", err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, o
}

// Spans returns the spans that have ended.
func (o *Observer) Spans() []sdktrace.ReadOnlySpan { return o.spans.Ended() }

// Point is one data point of a metric: its attributes as strings, and its
// value (a sum, a gauge, or a histogram's count).
type Point struct {
	Attrs map[string]string
	Value float64
	Sum   float64 // histograms only
}

// Points collects the current points of the metric named name.
func (o *Observer) Points(tb testing.TB, name string) []Point {
	tb.Helper()
	out, err := o.collect(name)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func (o *Observer) collect(name string) ([]Point, error) {
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		return nil, fmt.Errorf("telemetrytest: collect: %w", err)
	}
	var out []Point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				out = appendHistogram(out, d)
			case metricdata.Histogram[int64]:
				out = appendHistogram(out, d)
			case metricdata.Sum[int64]:
				out = appendPoints(out, d.DataPoints)
			case metricdata.Sum[float64]:
				out = appendPoints(out, d.DataPoints)
			case metricdata.Gauge[int64]:
				out = appendPoints(out, d.DataPoints)
			case metricdata.Gauge[float64]:
				out = appendPoints(out, d.DataPoints)
			}
		}
	}
	return out, nil
}

func appendHistogram[N int64 | float64](out []Point, h metricdata.Histogram[N]) []Point {
	for _, dp := range h.DataPoints {
		out = append(out, Point{Attrs: attrs(dp.Attributes), Value: float64(dp.Count), Sum: float64(dp.Sum)})
	}
	return out
}

func appendPoints[N int64 | float64](out []Point, dps []metricdata.DataPoint[N]) []Point {
	for _, dp := range dps {
		out = append(out, Point{Attrs: attrs(dp.Attributes), Value: float64(dp.Value)})
	}
	return out
}

func attrs(s attribute.Set) map[string]string {
	m := map[string]string{}
	for _, kv := range s.ToSlice() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}
