package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/internal/httpmeta"
	"github.com/operable-go/operable/telemetry"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scrape(t *testing.T, p *telemetry.Provider, accept string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "item") })
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	return mux
}

// copying is middleware that copies the request before the router, as many
// do; the route must survive it.
func copying(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), copyKey{}, 1)))
	})
}

type copyKey struct{}

func TestServerREDAndSpans(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "svc"})
	h := p.Middleware(copying(httpmeta.CaptureRoute(routes())))
	for i := range 100 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/"+strconv.Itoa(i), nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/fail", strings.NewReader("12345")))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere/7", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/items/1", nil))

	byRoute := map[string]telemetrytest.Point{}
	for _, pt := range obs.Points(t, "http.server.request.duration") {
		byRoute[pt.Attrs["http.request.method"]+" "+pt.Attrs["http.route"]+" "+pt.Attrs["http.response.status_code"]] = pt
	}
	cases := []struct {
		key       string
		count     float64
		errorType string
	}{
		{"GET /items/{id} 200", 100, ""}, // a hundred ids, one series
		{"POST /fail 502", 1, "502"},
		{"GET  404", 1, ""}, // unmatched: no http.route
		{"_OTHER  405", 1, ""},
	}
	for _, c := range cases {
		pt, ok := byRoute[c.key]
		if !ok || pt.Value != c.count || pt.Attrs["error.type"] != c.errorType {
			t.Errorf("series %q = %+v (found %v), want count %v error.type %q; all: %v", c.key, pt, ok, c.count, c.errorType, byRoute)
		}
	}
	if len(byRoute) != len(cases) {
		t.Errorf("%d series, want %d: %v", len(byRoute), len(cases), byRoute)
	}
	sizes := obs.Points(t, "http.server.request.body.size")
	var sawFive bool
	for _, pt := range sizes {
		sawFive = sawFive || (pt.Attrs["http.route"] == "/fail" && pt.Sum == 5)
	}
	if !sawFive {
		t.Errorf("request body sizes %v lack the 5-byte POST /fail", sizes)
	}

	names := map[string]int{}
	for _, s := range obs.Spans() {
		names[s.Name()]++
		if s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %s kind %v", s.Name(), s.SpanKind())
		}
		if s.Name() == "POST /fail" && s.Status().Code != codes.Error {
			t.Errorf("5xx span status %v, want Error", s.Status())
		}
	}
	if names["GET /items/{id}"] != 100 || names["POST /fail"] != 1 || names["GET"] != 1 {
		t.Errorf("span names %v", names)
	}
}

func TestPropagationFromClientToServer(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "svc"})
	srv := httptest.NewServer(p.Middleware(httpmeta.CaptureRoute(routes())))
	defer srv.Close()
	client := &http.Client{Transport: p.Transport(nil)}
	ctx, parent := p.TracerProvider().Tracer("test").Start(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/items/9", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	parent.End()
	client.CloseIdleConnections()

	var server, clientSpan trace.SpanContext
	var serverParent trace.SpanID
	for _, s := range obs.Spans() {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server, serverParent = s.SpanContext(), s.Parent().SpanID()
		case trace.SpanKindClient:
			clientSpan = s.SpanContext()
		}
	}
	if server.TraceID() != parent.SpanContext().TraceID() || serverParent != clientSpan.SpanID() {
		t.Errorf("the server span is not the client span's child: server %v parent %v client %v", server, serverParent, clientSpan)
	}
	pts := obs.Points(t, "http.client.request.duration")
	if len(pts) != 1 || pts[0].Attrs["http.response.status_code"] != "200" || pts[0].Attrs["server.address"] != "127.0.0.1" {
		t.Errorf("client metric points %v", pts)
	}
}

func TestClientRecordsFailures(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{})
	client := &http.Client{Transport: p.Transport(nil)}
	if _, err := client.Get("http://127.0.0.1:1/unreachable"); err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	pts := obs.Points(t, "http.client.request.duration")
	if len(pts) != 1 || pts[0].Attrs["error.type"] == "" {
		t.Errorf("a failed call recorded %v, want one point with error.type", pts)
	}
}

func TestPrometheusExpositionWithExemplars(t *testing.T) {
	p, _ := telemetrytest.New(t, telemetry.Options{ServiceName: "svc", ServiceVersion: "v1"})
	h := p.Middleware(httpmeta.CaptureRoute(routes()))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/1", nil))
	text := scrape(t, p, "")
	for _, want := range []string{`http_server_request_duration_seconds_count{`, `http_route="/items/{id}"`,
		"target_info{", `service_name="svc"`, "go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(text, want) {
			t.Errorf("text exposition lacks %s", want)
		}
	}
	om := scrape(t, p, "application/openmetrics-text; version=1.0.0")
	if !strings.Contains(om, `# {trace_id="`) {
		t.Errorf("OpenMetrics exposition has no exemplar with a trace id:\n%.2000s", om)
	}
}

func TestStandardVariables(t *testing.T) {
	var console bytes.Buffer
	p, err := telemetry.New(context.Background(), telemetry.Options{
		ServiceName: "from-config",
		Console:     &console,
		Environ: map[string]string{
			"OTEL_SERVICE_NAME":        "from-env",
			"OTEL_RESOURCE_ATTRIBUTES": "team=ops,region=eu",
			"OTEL_TRACES_EXPORTER":     "console",
			"OTEL_METRICS_EXPORTER":    "prometheus,console",
			"OTEL_LOGS_EXPORTER":       "console",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
	span.End()
	slog.New(p.LogHandler()).Info("bridged record")
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := console.String()
	for _, want := range []string{`"Name":"work"`, "from-env", "region", "team", "bridged record"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %s", want)
		}
	}
	if strings.Contains(out, "from-config") {
		t.Error("OTEL_SERVICE_NAME did not win over the configured name")
	}

	if p, _ := telemetry.New(context.Background(), telemetry.Options{}); p.LogHandler() != nil {
		t.Error("LogHandler without OTEL_LOGS_EXPORTER is not nil")
	} else {
		_ = p.Shutdown(context.Background())
	}

	_, err = telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_METRICS_EXPORTER": "statsd", "OTEL_PROPAGATORS": "b3",
		"OTEL_LOGS_EXPORTER": "fluentd",
	}})
	// Each variable is named with the names it takes; the bad value is
	// never quoted back (any variable may hold a secret).
	for _, want := range []string{"OTEL_TRACES_EXPORTER: ", "OTEL_METRICS_EXPORTER: ", "OTEL_PROPAGATORS: ", "OTEL_LOGS_EXPORTER: ", "otlp"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with bad variables = %v, want it to name %s", err, want)
		}
	}
	for _, bad := range []string{"zipkin", "statsd", "b3", "fluentd"} {
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("New with bad variables = %v: it quotes %s", err, bad)
		}
	}
}

// TestMiddlewareContinuesTraceStateAndBaggage: the W3C headers a caller
// sends, in any case, reach the server span (trace id, parent, tracestate)
// and the handler's context (baggage), over a real connection.
func TestMiddlewareContinuesTraceStateAndBaggage(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "svc"})
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- baggage.FromContext(r.Context()).Member("tenant").Value()
	})
	srv := httptest.NewServer(p.Middleware(h))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	req.Header["TRACESTATE"] = []string{"vendor=opaque"}
	req.Header.Set("Baggage", "tenant=acme")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if tenant := <-got; tenant != "acme" {
		t.Errorf("baggage member tenant = %q, want acme", tenant)
	}
	spans := obs.Spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	sc, parent := spans[0].SpanContext(), spans[0].Parent()
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || parent.SpanID().String() != "00f067aa0ba902b7" ||
		sc.TraceState().Get("vendor") != "opaque" {
		t.Errorf("server span %v, parent %v: not the caller's trace", sc, parent)
	}
}

func TestActiveRequestsCountsTheRequestsInFlight(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "svc"})
	entered, release := make(chan struct{}), make(chan struct{})
	h := p.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	active := func() map[string]float64 {
		m := map[string]float64{}
		for _, pt := range obs.Points(t, "http.server.active_requests") {
			m[pt.Attrs["http.request.method"]] = pt.Value
		}
		return m
	}
	if got := active(); len(got) != 0 {
		t.Errorf("before any request: %v, want no series", got)
	}
	var done sync.WaitGroup
	for _, method := range []string{"GET", "GET", "GET", "POST", "BREW"} {
		done.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/", nil)) })
		<-entered
	}
	if got, want := active(), map[string]float64{"GET": 3, "POST": 1, "_OTHER": 1}; !maps.Equal(got, want) {
		t.Errorf("in flight: %v, want %v", got, want)
	}
	close(release)
	done.Wait()
	if got, want := active(), map[string]float64{"GET": 0, "POST": 0, "_OTHER": 0}; !maps.Equal(got, want) {
		t.Errorf("after: %v, want %v", got, want)
	}
}

// TestTracesOffKeepsTheCallersSpanContext: with no span processor the
// middleware starts no span, and the handler still sees the caller's span
// context (the logs' trace ids), or none.
func TestTracesOffKeepsTheCallersSpanContext(t *testing.T) {
	p, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "svc", Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	const traceID, spanID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	for _, tc := range []struct {
		name, traceparent, wantTrace string
	}{
		{"caller's", "00-" + traceID + "-" + spanID + "-01", traceID},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc trace.SpanContext
			var recording bool
			h := p.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				span := trace.SpanFromContext(r.Context())
				sc, recording = span.SpanContext(), span.IsRecording()
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tc.traceparent != "" {
				req.Header.Set("traceparent", tc.traceparent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			got := ""
			if sc.HasTraceID() {
				got = sc.TraceID().String()
			}
			if got != tc.wantTrace || recording || (tc.wantTrace != "" && (!sc.IsRemote() || sc.SpanID().String() != spanID)) {
				t.Errorf("handler's span context %v (recording %v), want trace %q from the caller", sc, recording, tc.wantTrace)
			}
		})
	}
}
