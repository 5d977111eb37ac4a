package telemetrytest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Request is one request the HTTP kit sends, and what the handler must
// record of it.
type Request struct {
	// Method and Path are sent ("GET", "/items/42").
	Method, Path string
	// Route is the route template the handler matches Path with
	// ("/items/{id}"), as http.route must say; "" for a path no route
	// matches, which must carry no http.route.
	Route string
	// Status is the status the handler answers.
	Status int
}

// The rules of the HTTP kit, by name.
const (
	RuleServerSpan     = "server-span"     // one server span per request, with method, route and status
	RuleDurationMetric = "duration-metric" // http.server.request.duration by method, route and status
	RuleRouteTemplate  = "route-template"  // no raw path in any span or metric attribute
	RuleErrorStatus    = "error-status"    // a 5xx marks the span as an error and the metric with error.type
	RuleTraceContext   = "trace-context"   // a traceparent header makes the server span its child
)

// traceparent is the W3C trace context the kit sends with every request.
const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + parentTrace + "-" + parentSpan + "-01"
)

// TestHTTP sends reqs through h, an HTTP handler whose telemetry o
// observes (a service's AppHandler with the observer attached through
// operable.Options.Telemetry, or a telemetry.Provider's Middleware over a
// mux), and checks what it recorded against the rules of RED telemetry
// and the OpenTelemetry semantic conventions. It returns nil, or one error
// listing each broken rule as "rule: what". Give two requests of the same
// route with different paths, so that a raw path shows, and one answered
// 5xx, or RuleErrorStatus cannot be judged (and is reported so).
func TestHTTP(h http.Handler, o *Observer, reqs []Request) error {
	rec, err := record(h, o, reqs)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range httpRules {
		if err := r.check(rec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

// RunHTTP is TestHTTP with each rule a subtest of t, named after it.
func RunHTTP(t *testing.T, h http.Handler, o *Observer, reqs []Request) {
	t.Helper()
	rec, err := record(h, o, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range httpRules {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(rec); err != nil {
				t.Error(err)
			}
		})
	}
}

// recording is what the kit's requests left.
type recording struct {
	reqs   []Request
	spans  []sdktrace.ReadOnlySpan // one per request, in order; nil where none was found
	points []Point                 // of http.server.request.duration
}

func record(h http.Handler, o *Observer, reqs []Request) (*recording, error) {
	if len(reqs) == 0 {
		return nil, errors.New("telemetrytest: TestHTTP needs requests")
	}
	rec := &recording{reqs: reqs}
	for _, r := range reqs {
		before := len(o.Spans())
		req := httptest.NewRequest(r.Method, r.Path, nil)
		req.Header.Set("Traceparent", traceparent)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != r.Status {
			return nil, fmt.Errorf("telemetrytest: %s %s answered %d, want %d (fix the Request)", r.Method, r.Path, w.Code, r.Status)
		}
		var server sdktrace.ReadOnlySpan
		for _, s := range o.Spans()[before:] {
			if s.SpanKind() == trace.SpanKindServer {
				server = s
			}
		}
		rec.spans = append(rec.spans, server)
	}
	points, err := o.collect("http.server.request.duration")
	if err != nil {
		return nil, err
	}
	rec.points = points
	return rec, nil
}

type httpRule struct {
	name  string
	check func(*recording) error
}

var httpRules = []httpRule{
	{RuleServerSpan, checkServerSpans},
	{RuleDurationMetric, checkDuration},
	{RuleRouteTemplate, checkRouteTemplates},
	{RuleErrorStatus, checkErrorStatus},
	{RuleTraceContext, checkTraceContext},
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func checkServerSpans(rec *recording) error {
	var errs []error
	for i, r := range rec.reqs {
		s := rec.spans[i]
		if s == nil {
			errs = append(errs, fmt.Errorf("%s %s: no server span", r.Method, r.Path))
			continue
		}
		a := spanAttrs(s)
		want := map[string]string{"http.request.method": r.Method, "http.response.status_code": fmt.Sprint(r.Status)}
		if r.Route != "" {
			want["http.route"] = r.Route
		}
		for k, v := range want {
			if a[k] != v {
				errs = append(errs, fmt.Errorf("%s %s: span attribute %s = %q, want %q", r.Method, r.Path, k, a[k], v))
			}
		}
		if r.Route == "" && a["http.route"] != "" {
			errs = append(errs, fmt.Errorf("%s %s matches no route, but its span has http.route %q", r.Method, r.Path, a["http.route"]))
		}
		if name := r.Method + " " + r.Route; r.Route != "" && s.Name() != name {
			errs = append(errs, fmt.Errorf("%s %s: span name %q, want %q", r.Method, r.Path, s.Name(), name))
		}
	}
	return errors.Join(errs...)
}

func checkDuration(rec *recording) error {
	if len(rec.points) == 0 {
		return errors.New("no http.server.request.duration points")
	}
	var errs []error
	for _, r := range rec.reqs {
		if !slices.ContainsFunc(rec.points, func(p Point) bool {
			return p.Attrs["http.request.method"] == r.Method && p.Attrs["http.route"] == r.Route &&
				p.Attrs["http.response.status_code"] == fmt.Sprint(r.Status)
		}) {
			errs = append(errs, fmt.Errorf("%s %s: no point with its method, route %q and status %d", r.Method, r.Path, r.Route, r.Status))
		}
	}
	return errors.Join(errs...)
}

func checkRouteTemplates(rec *recording) error {
	var errs []error
	for i, r := range rec.reqs {
		if r.Path == r.Route {
			continue // a path with no parameter is its own template
		}
		for _, p := range rec.points {
			for k, v := range p.Attrs {
				if v == r.Path {
					errs = append(errs, fmt.Errorf("the metric attribute %s holds the raw path %s: one series per URL", k, r.Path))
				}
			}
		}
		if s := rec.spans[i]; s != nil && spanAttrs(s)["http.route"] == r.Path {
			errs = append(errs, fmt.Errorf("the span's http.route is the raw path %s", r.Path))
		}
	}
	return errors.Join(errs...)
}

func checkErrorStatus(rec *recording) error {
	judged := false
	var errs []error
	for i, r := range rec.reqs {
		if r.Status < 500 {
			continue
		}
		judged = true
		if s := rec.spans[i]; s != nil && s.Status().Code != codes.Error {
			errs = append(errs, fmt.Errorf("%s %s answered %d, but its span's status is %v, want Error", r.Method, r.Path, r.Status, s.Status().Code))
		}
		if !slices.ContainsFunc(rec.points, func(p Point) bool {
			return p.Attrs["http.response.status_code"] == fmt.Sprint(r.Status) && p.Attrs["error.type"] != ""
		}) {
			errs = append(errs, fmt.Errorf("%s %s answered %d, but no duration point has error.type", r.Method, r.Path, r.Status))
		}
	}
	if !judged {
		return errors.New("no request answered 5xx: give one, or skip this rule")
	}
	return errors.Join(errs...)
}

func checkTraceContext(rec *recording) error {
	var errs []error
	for i, r := range rec.reqs {
		s := rec.spans[i]
		if s == nil {
			continue // server-span reports it
		}
		if s.SpanContext().TraceID().String() != parentTrace || s.Parent().SpanID().String() != parentSpan {
			errs = append(errs, fmt.Errorf("%s %s: the server span is not a child of the request's traceparent", r.Method, r.Path))
		}
	}
	return errors.Join(errs...)
}
