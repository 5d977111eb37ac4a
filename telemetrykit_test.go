package operable_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

// TestAServicesTelemetryPassesTheKit: a whole service's app chain, seen
// from outside, keeps the rules of telemetrytest's HTTP kit.
func TestAServicesTelemetryPassesTheKit(t *testing.T) {
	obs := telemetrytest.NewObserver()
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard, Telemetry: obs.Attach})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	s.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) })
	telemetrytest.RunHTTP(t, s.AppHandler(), obs, []telemetrytest.Request{
		{Method: "GET", Path: "/items/1", Route: "/items/{id}", Status: 200},
		{Method: "GET", Path: "/items/2", Route: "/items/{id}", Status: 200},
		{Method: "GET", Path: "/unknown/7", Status: 404},
		{Method: "POST", Path: "/fail", Route: "/fail", Status: 502},
	})
}
