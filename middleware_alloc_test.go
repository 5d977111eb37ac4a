//go:build !race

package operable_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/operable-go/operable"
)

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// TestAppChainAllocationBudget holds what the application listener's chain
// (request id, RED metrics, access line, panic recovery, route capture)
// adds to a routed request, in allocations, with its defaults (traces
// off): 4, the request copy that carries the id and the route record, the
// id, the id's header and context values in one, and the route record (the
// Info, the writer that counts status and bytes, its context value) in
// one. 12 before those were made in one piece, the no-op tracer's context
// skipped, the requests in flight counted with atomics, and the request
// copied once for the id and the record. (Run without the race detector,
// whose own allocations hide the count.)
func TestAppChainAllocationBudget(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Name: "alloc", Stdout: io.Discard, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	route := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"id":`+r.PathValue("id")+`}`) }
	s.HandleFunc("GET /items/{id}", route)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", route)

	req := httptest.NewRequest(http.MethodGet, "/items/42", nil)
	w := &discardWriter{h: http.Header{}}
	serve := func(h http.Handler) func() { return func() { clear(w.h); h.ServeHTTP(w, req) } }
	chain := s.AppHandler()
	chain.ServeHTTP(w, req) // the series' attribute set is built once, here
	bare := testing.AllocsPerRun(500, serve(mux))
	added := testing.AllocsPerRun(500, serve(chain)) - bare
	t.Logf("the chain adds %.0f allocations", added)
	if budget := 4.0; added > budget {
		t.Errorf("the chain adds %.0f allocations to a request (the bare route makes %.0f): budget %.0f", added, bare, budget)
	}
}
