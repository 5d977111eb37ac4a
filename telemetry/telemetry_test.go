package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/internal/httpmeta"
	"github.com/operable-go/operable/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newProvider(t *testing.T) *telemetry.Provider {
	t.Helper()
	p, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "svc", ServiceVersion: "v1", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func scrape(t *testing.T, p *telemetry.Provider) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// series returns the exposition lines of name whose labels contain every
// label in want.
func series(body, name string, want ...string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func TestMiddlewareRecordsREDWithTheRoutePattern(t *testing.T) {
	p := newProvider(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	// A middleware between ours and the router copies the request, as
	// many do; the route must survive it.
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), copyKey{}, 1)))
		})
	}
	h := p.Middleware(copying(httpmeta.CaptureRoute(mux)))
	for _, rq := range []struct{ method, path string }{
		{"GET", "/items/1"}, {"GET", "/items/2"}, {"POST", "/fail"}, {"GET", "/nowhere/7"}, {"BREW", "/items/3"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rq.method, rq.path, nil))
	}
	body := scrape(t, p)
	const count = "http_server_request_duration_seconds_count"
	cases := []struct {
		name   string
		labels []string
		want   string
	}{
		{"route pattern", []string{`http_route="/items/{id}"`, `http_response_status_code="200"`, `http_request_method="GET"`}, " 2"},
		{"5xx carries error.type", []string{`http_route="/fail"`, `error_type="502"`}, " 1"},
		{"unknown method folded", []string{`http_request_method="_OTHER"`}, " 1"},
	}
	for _, c := range cases {
		got := series(body, count, c.labels...)
		if len(got) != 1 || !strings.HasSuffix(got[0], c.want) {
			t.Errorf("%s: series %v, want one ending in %q", c.name, got, c.want)
		}
	}
	unmatched := series(body, count, `http_response_status_code="404"`, `http_request_method="GET"`)
	if len(unmatched) != 1 || strings.Contains(unmatched[0], "http_route") {
		t.Errorf("unmatched request: series %v, want one without http_route", unmatched)
	}
	if strings.Contains(body, "/items/1") || strings.Contains(body, "/nowhere") {
		t.Error("a raw path reached the metrics")
	}
	for _, want := range []string{"http_server_active_requests{", "target_info{", `service_name="svc"`, "go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

func TestMetricsHandlerServesOpenMetricsWhenAsked(t *testing.T) {
	p := newProvider(t)
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type = %q, want OpenMetrics", ct)
	}
}

// copyKey marks the request copy a middleware makes in these tests.
type copyKey struct{}
