package httpmeta_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/httpmeta"
)

func TestRouteIsThePathTemplate(t *testing.T) {
	cases := map[string]string{
		"GET /items/{id}":         "/items/{id}",
		"/items/{id}":             "/items/{id}",
		"example.com/static/":     "/static/",
		"POST example.com/a/{b}/": "/a/{b}/",
		"":                        "",
	}
	for pattern, want := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Pattern = pattern
		if got := httpmeta.Route(r, nil); got != want {
			t.Errorf("Route(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestStartSharesOneInfoAlongTheChain(t *testing.T) {
	var outer, inner *httpmeta.Info
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("12345"))
		w.(http.Flusher).Flush()
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, outer = httpmeta.Start(w, r)
		// A copy of the request between the outer middleware and the router.
		r = r.WithContext(context.WithValue(r.Context(), copyKey{}, 1))
		w, r, inner = httpmeta.Start(w, r)
		httpmeta.CaptureRoute(mux).ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x/1", nil))
	if outer != inner {
		t.Fatal("Start made a second Info inside the chain")
	}
	if outer.Route != "GET /x/{id}" || outer.Status != http.StatusAccepted || outer.Bytes != 5 || !rec.Flushed {
		t.Errorf("Info = %+v, flushed %v; want route, 202, 5 bytes, flushed", *outer, rec.Flushed)
	}
}

func TestStatusOfAHandlerThatWroteNothingIs200(t *testing.T) {
	if got := httpmeta.StatusOf(&httpmeta.Info{}); got != http.StatusOK {
		t.Errorf("StatusOf(empty) = %d", got)
	}
}

// copyKey marks the request copy a middleware makes in these tests.
type copyKey struct{}

// TestTheRecordsContextIsTheRequestsContextWithTheInfo: values, deadline
// and cancellation of the request's context pass through the context Start
// makes, and contexts derived from it still carry the Info.
func TestTheRecordsContextIsTheRequestsContextWithTheInfo(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), copyKey{}, "outer"))
	r := httptest.NewRequest("GET", "/", nil).WithContext(parent)
	_, r, info := httpmeta.Start(httptest.NewRecorder(), r)
	derived, stop := context.WithCancel(context.WithValue(r.Context(), otherKey{}, 2))
	defer stop()
	if got := httpmeta.FromContext(derived); got != info || info == nil {
		t.Errorf("FromContext(derived) = %p, want the Info %p", got, info)
	}
	if got := derived.Value(copyKey{}); got != "outer" {
		t.Errorf("the parent's value = %v, want outer", got)
	}
	if httpmeta.FromContext(parent) != nil {
		t.Error("the parent context carries an Info")
	}
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the request's context did not reach a context derived from the record's")
	}
}

type otherKey struct{}
