package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/httpmeta"
	"github.com/operable-go/operable/telemetry"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handlers, not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

const itemRoute = "GET /items/{id}"

func item(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, `{"id":`+r.PathValue("id")+`}`)
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(itemRoute, item)
	return mux
}

func serve(b *testing.B, h http.Handler) { serveRequest(b, h, "/items/42") }

// serveRequest measures h serving GET path, in parallel, to a writer that
// keeps nothing.
func serveRequest(b *testing.B, h http.Handler, path string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkBareMux is the floor: the route with no middleware.
func BenchmarkBareMux(b *testing.B) { serve(b, routes()) }

// BenchmarkOperableChain is what the application listener serves: request
// id, RED metrics, JSON access log (to io.Discard), panic recovery, route
// capture.
func BenchmarkOperableChain(b *testing.B) {
	s, err := operable.New(context.Background(), operable.Options{
		Name: "bench", Stdout: io.Discard, Environ: map[string]string{},
	})
	if err != nil {
		b.Fatal(err)
	}
	s.HandleFunc(itemRoute, item)
	serve(b, s.AppHandler())
}

// discardSpans is a span processor that drops every span, so that the
// tracing benchmarks measure recording spans, not exporting them.
type discardSpans struct{}

func (discardSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardSpans) Shutdown(context.Context) error                  { return nil }
func (discardSpans) ForceFlush(context.Context) error                { return nil }

func operableTelemetry(b *testing.B, procs ...sdktrace.SpanProcessor) {
	p, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "bench", SpanProcessors: procs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	serve(b, p.Middleware(httpmeta.CaptureRoute(routes())))
}

func otelhttpHandler(b *testing.B, tp trace.TracerProvider) {
	exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	serve(b, otelhttp.NewHandler(routes(), "server", otelhttp.WithMeterProvider(mp), otelhttp.WithTracerProvider(tp)))
}

// BenchmarkOperableTelemetry is our telemetry middleware alone (RED metrics,
// body sizes, route capture, trace context carried), as the embedded
// default sets it up: Prometheus export, traces off.
func BenchmarkOperableTelemetry(b *testing.B) { operableTelemetry(b) }

// BenchmarkOtelhttp is the anchor most Go teams use, set up the same way:
// a meter provider exporting to Prometheus, traces off (a no-op tracer).
func BenchmarkOtelhttp(b *testing.B) { otelhttpHandler(b, noop.NewTracerProvider()) }

// BenchmarkOperableTelemetryTracing records a server span per request too.
func BenchmarkOperableTelemetryTracing(b *testing.B) { operableTelemetry(b, discardSpans{}) }

// BenchmarkOtelhttpTracing is otelhttp recording spans the same way.
func BenchmarkOtelhttpTracing(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardSpans{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	otelhttpHandler(b, tp)
}

// BenchmarkPromhttpChain is the promhttp instrumentation chain (in flight,
// duration and count by method and code), metrics only.
func BenchmarkPromhttpChain(b *testing.B) {
	reg := prometheus.NewRegistry()
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "in_flight_requests"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "request_duration_seconds", Buckets: prometheus.DefBuckets}, []string{"code", "method"})
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total"}, []string{"code", "method"})
	reg.MustRegister(inFlight, duration, counter)
	h := promhttp.InstrumentHandlerInFlight(inFlight,
		promhttp.InstrumentHandlerDuration(duration, promhttp.InstrumentHandlerCounter(counter, routes())))
	serve(b, h)
}
