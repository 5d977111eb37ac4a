package telemetrytest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/operable-go/operable/telemetry"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

func items() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	return mux
}

var requests = []telemetrytest.Request{
	{Method: "GET", Path: "/items/1", Route: "/items/{id}", Status: 200},
	{Method: "GET", Path: "/items/2", Route: "/items/{id}", Status: 200},
	{Method: "GET", Path: "/nowhere/3", Route: "", Status: 404},
	{Method: "GET", Path: "/boom", Route: "/boom", Status: 500},
}

// TestTheSDKsMiddlewarePassesTheKit: the telemetry middleware over a mux
// keeps every rule.
func TestTheSDKsMiddlewarePassesTheKit(t *testing.T) {
	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "kit"})
	telemetrytest.RunHTTP(t, p.Middleware(items()), obs, requests)
}

// TestTheKitCatchesBrokenTelemetry: a handler with no telemetry, and one
// that labels by raw path and starts no server span, break the rules,
// each named.
func TestTheKitCatchesBrokenTelemetry(t *testing.T) {
	_, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "none"})
	err := telemetrytest.TestHTTP(items(), obs, requests)
	for _, rule := range []string{telemetrytest.RuleServerSpan, telemetrytest.RuleDurationMetric, telemetrytest.RuleErrorStatus} {
		if err == nil || !strings.Contains(err.Error(), rule+":") {
			t.Errorf("no telemetry: %v, want %s broken", err, rule)
		}
	}

	p, obs := telemetrytest.New(t, telemetry.Options{ServiceName: "raw"})
	counter, _ := p.MeterProvider().Meter("raw").Float64Histogram("http.server.request.duration")
	raw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items().ServeHTTP(w, r)
		counter.Record(r.Context(), 0.001, withRawPath(r))
	})
	err = telemetrytest.TestHTTP(raw, obs, requests)
	if err == nil || !strings.Contains(err.Error(), telemetrytest.RuleRouteTemplate+": the metric attribute http.route holds the raw path /items/1") {
		t.Errorf("raw paths: %v, want %s broken", err, telemetrytest.RuleRouteTemplate)
	}

	p, obs = telemetrytest.New(t, telemetry.Options{ServiceName: "orphan"})
	orphan := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The span ignores the caller's traceparent.
		_, span := p.TracerProvider().Tracer("orphan").Start(r.Context(), r.Method+" "+r.URL.Path, serverKind())
		defer span.End()
		items().ServeHTTP(w, r)
	})
	if err := telemetrytest.TestHTTP(orphan, obs, requests); err == nil || !strings.Contains(err.Error(), telemetrytest.RuleTraceContext+":") {
		t.Errorf("orphan spans: %v, want %s broken", err, telemetrytest.RuleTraceContext)
	}
}
