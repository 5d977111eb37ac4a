package logging_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/operable-go/operable/logging"
)

// TestRequestIDsCarriesOneIDThroughTheHandler: the id RequestIDs puts in
// the context is the one it echoes, whatever the handler does to the
// response header's values; contexts derived from the request's carry it,
// and a nearer ContextWithRequestID wins.
func TestRequestIDsCarriesOneIDThroughTheHandler(t *testing.T) {
	cases := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request) string // returns the id the handler's records would carry
		want    func(echoed string) string
	}{
		{"derived context", func(_ http.ResponseWriter, r *http.Request) string {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			return logging.RequestID(ctx)
		}, func(echoed string) string { return echoed }},
		{"header values written over", func(w http.ResponseWriter, r *http.Request) string {
			w.Header()[http.CanonicalHeaderKey(logging.RequestIDHeader)][0] = "changed"
			return logging.RequestID(r.Context())
		}, func(string) string { return "kept-id" }},
		{"nearer id", func(_ http.ResponseWriter, r *http.Request) string {
			return logging.RequestID(logging.ContextWithRequestID(r.Context(), "inner"))
		}, func(string) string { return "inner" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			h := logging.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = c.handler(w, r) }))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set(logging.RequestIDHeader, "kept-id")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if want := c.want(rec.Header().Get(logging.RequestIDHeader)); got != want || got == "" {
				t.Errorf("the handler's id = %q, want %q", got, want)
			}
		})
	}
	if id := logging.RequestID(context.Background()); id != "" {
		t.Errorf("RequestID(Background) = %q, want empty", id)
	}
}
