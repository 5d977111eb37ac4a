package operable_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
)

// TestPanicsBecome500sThatAreLoggedAndCounted drives the application chain
// over real HTTP with handlers that panic before and after sending their
// status.
func TestPanicsBecome500sThatAreLoggedAndCounted(t *testing.T) {
	var out, traces syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{
		Name: "t", Environ: loopbackEnv("OTEL_TRACES_EXPORTER", "console"), Stdout: &out, Stderr: &traces,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /early", func(http.ResponseWriter, *http.Request) { panic("early boom") })
	s.HandleFunc("GET /late", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("late boom")
	})
	srv := httptest.NewServer(s.AppHandler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/early")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET /early = %d, want 500", resp.StatusCode)
	}
	// After the status went out, the only honest signal left is an
	// aborted response: the client must see an error, not a success.
	resp, err = http.Get(srv.URL + "/late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("GET /late read a complete response; want the connection aborted")
	}

	access := map[any]any{}
	var panics int
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON", line)
		}
		switch m["msg"] {
		case "request":
			access[m["route"]] = m["status"]
		case "handler panicked":
			panics++
			if stack, _ := m["stack"].(string); !strings.HasPrefix(stack, "goroutine ") {
				t.Errorf("panic record without a stack: %v", m)
			}
		}
	}
	if panics != 2 || access["/early"] != 500.0 || access["/late"] != 500.0 {
		t.Errorf("%d panic records, access statuses %v; want 2 and both 500", panics, access)
	}

	// Both are counted as 500s with error.type, and their spans end in error.
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, route := range []string{"/early", "/late"} {
		want := `error_type="500",http_request_method="GET",http_response_status_code="500",http_route="` + route + `"`
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics has no 500 with error_type for %s", route)
		}
	}
	s.Stop()
	if err := s.Run(context.Background()); err != nil { // runs the stop hooks, flushing the spans
		t.Fatal(err)
	}
	for _, name := range []string{`"Name":"GET /early"`, `"Name":"GET /late"`} {
		i := strings.Index(traces.String(), name)
		if i < 0 || !strings.Contains(traces.String()[i:], `"Code":"Error"`) || !strings.Contains(traces.String()[i:], "panic: ") {
			t.Errorf("no span %s ended in error with the panic recorded", name)
		}
	}
}
