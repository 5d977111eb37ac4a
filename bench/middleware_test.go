package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/operable-go/operable"
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

func serve(b *testing.B, h http.Handler) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/items/42", nil)
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

// BenchmarkOtelhttpMetrics is the anchor most Go teams use for RED metrics:
// otelhttp with a meter provider exporting to Prometheus and tracing off,
// with no access log (it has none), so less work than our chain does.
func BenchmarkOtelhttpMetrics(b *testing.B) {
	exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h := otelhttp.NewHandler(routes(), "server",
		otelhttp.WithMeterProvider(mp), otelhttp.WithTracerProvider(noop.NewTracerProvider()))
	serve(b, h)
}
