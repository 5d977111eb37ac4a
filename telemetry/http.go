package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/internal/httpmeta"
)

// durationBuckets are the semantic conventions' advised boundaries for
// http.server.request.duration and http.client.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

type serverMetrics struct {
	duration     metric.Float64Histogram
	active       *activeRequests
	requestSize  metric.Int64Histogram
	responseSize metric.Int64Histogram
}

func newServerMetrics(m metric.Meter) (serverMetrics, error) {
	s := serverMetrics{active: &activeRequests{}}
	var errs [4]error
	s.duration, errs[0] = m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	_, errs[1] = m.Int64ObservableUpDownCounter("http.server.active_requests",
		metric.WithUnit("{request}"),
		metric.WithDescription("Number of active HTTP server requests."),
		metric.WithInt64Callback(s.active.observe))
	s.requestSize, errs[2] = m.Int64Histogram("http.server.request.body.size",
		metric.WithUnit("By"), metric.WithDescription("Size of HTTP server request bodies."))
	s.responseSize, errs[3] = m.Int64Histogram("http.server.response.body.size",
		metric.WithUnit("By"), metric.WithDescription("Size of HTTP server response bodies."))
	for _, err := range errs {
		if err != nil {
			return s, fmt.Errorf("telemetry: %w", err)
		}
	}
	return s, nil
}

// Middleware records, for every request, a server span named "METHOD
// route" (continuing the caller's trace from the W3C traceparent and
// baggage headers) and the metrics http.server.request.duration,
// http.server.active_requests, http.server.request.body.size and
// http.server.response.body.size, with the attributes http.request.method
// (unknown methods as "_OTHER"), http.route (the matched route pattern,
// never the raw path; absent when no route matched),
// http.response.status_code, and error.type (the status code) on 5xx. A 5xx
// marks the span as an error. server.address is not taken from the
// client's Host header, so a client cannot create series.
//
// The route is the pattern that a router such as [http.ServeMux] records
// in the r.Pattern of the request it is handed. Put this middleware
// directly around the ServeMux, or around middleware that passes that same
// request on. Middleware that copies the request (r.WithContext, r.Clone)
// hands the router a copy whose pattern this middleware does not see: the
// requests are then recorded without http.route, and their spans are named
// after the method alone. The root package's Service needs none of this:
// it captures the route inside the router, whatever middleware sits in
// between.
func (p *Provider) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		method := methodOf(r.Method)
		ctx := p.propagator.Extract(r.Context(), canonicalCarrier(r.Header))
		var span trace.Span
		if p.spans {
			ctx, span = p.tracer.Start(ctx, method, serverSpan...)
		} else {
			// The no-op tracer's Start returns the caller's span context
			// as it is, and otherwise puts a no-op span in a new context
			// (and so a new request): SpanFromContext gives the same span
			// without either.
			span = trace.SpanFromContext(ctx)
		}
		w, r, info := httpmeta.StartWithContext(w, r, ctx)

		active := p.server.active.start(method)
		defer func() {
			active.Add(-1)
			status := httpmeta.StatusOf(info)
			route := httpmeta.Route(r, info)
			s := p.series.server(method, route, status)
			if span.IsRecording() {
				if route != "" {
					span.SetName(s.spanName)
				}
				// One call, so the span's attribute slice grows once, from a
				// pooled slice: spans copy the attributes they are given.
				ap := spanAttrs.Get().(*[]attribute.KeyValue)
				attrs := append(append((*ap)[:0], s.attrs...), semconv.URLPath(r.URL.Path), semconv.URLScheme(scheme(r)))
				span.SetAttributes(attrs...)
				clear(attrs) // keep no request's path alive in the pool
				*ap = attrs[:0]
				spanAttrs.Put(ap)
				if status >= 500 {
					span.SetStatus(codes.Error, http.StatusText(status))
				}
			}
			p.server.duration.Record(ctx, time.Since(start).Seconds(), s.record...)
			if r.ContentLength >= 0 {
				p.server.requestSize.Record(ctx, r.ContentLength, s.record...)
			}
			p.server.responseSize.Record(ctx, info.Bytes, s.record...)
			span.End()
		}()
		next.ServeHTTP(w, r)
	})
}

// spanAttrs are the slices a server span's attributes are gathered in.
var spanAttrs = sync.Pool{New: func() any { s := make([]attribute.KeyValue, 0, 8); return &s }}

// canonicalCarrier is propagation.HeaderCarrier with the keys of the
// standard propagators (W3C trace context, baggage) looked up in their
// canonical form: net/http canonicalizes the lower-case names they ask for
// by building a new string at every lookup of every request.
type canonicalCarrier http.Header

// Get indexes the map with the canonical key (Header.Get would check the
// key's form again at every lookup).
func (c canonicalCarrier) Get(key string) string {
	if v := c[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c canonicalCarrier) Values(key string) []string { return c[canonicalKey(key)] }

func (c canonicalCarrier) Set(key, value string) { http.Header(c).Set(key, value) }

func (c canonicalCarrier) Keys() []string { return propagation.HeaderCarrier(c).Keys() }

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return http.CanonicalHeaderKey(key)
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// methodOf folds methods outside the HTTP standard ones into "_OTHER", so
// that a client cannot create a series per invented method.
func methodOf(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

type clientMetrics struct {
	duration metric.Float64Histogram
}

func newClientMetrics(m metric.Meter) (clientMetrics, error) {
	var c clientMetrics
	var err error
	c.duration, err = m.Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return c, fmt.Errorf("telemetry: %w", err)
	}
	return c, nil
}

// Transport wraps next (http.DefaultTransport when nil) so that every
// outbound request gets a client span named after its method, carries the
// trace context and baggage to the server, and is recorded in
// http.client.request.duration with http.request.method, server.address,
// server.port, http.response.status_code and error.type (the status code
// for 5xx, or the Go error's type when no answer came). The span and the
// duration end when the response headers arrive, not when the body has
// been read.
func (p *Provider) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{p: p, next: next}
}

type transport struct {
	p    *Provider
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	method := methodOf(req.Method)
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(method), semconv.ServerAddress(req.URL.Hostname())}
	if port := req.URL.Port(); port != "" {
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(n))
		}
	}
	ctx, span := t.p.tracer.Start(req.Context(), method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrs...))
	defer span.End()
	req = req.Clone(ctx) // RoundTrippers must not modify the caller's request
	t.p.propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))

	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		attrs = append(attrs, semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err)))
		span.RecordError(err)
		span.SetStatus(codes.Error, "request failed")
	default:
		attrs = append(attrs, semconv.HTTPResponseStatusCode(resp.StatusCode))
		if resp.StatusCode >= 500 {
			attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	span.SetAttributes(attrs...)
	t.p.client.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	return resp, err
}

// seriesCache keeps the attribute set of every server series met, so that a
// request builds no attribute set and allocates no option: the series are
// bounded (methods are folded, routes are patterns, statuses are few), and
// beyond maxSeries entries sets are built per request instead.
type seriesCache struct {
	m sync.Map // serverKey → *serverSeries
	n atomic.Int64
}

const maxSeries = 10000

type serverKey struct {
	method, route string
	status        int
}

type serverSeries struct {
	spanName string // "METHOD route"
	attrs    []attribute.KeyValue
	record   []metric.RecordOption
}

// serverSpan are the options of every server span, built once.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// serverMethods are the values of http.request.method that [methodOf]
// returns, in the order of activeRequests' counts.
var serverMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "_OTHER"}

// activeObserve holds http.server.active_requests' attribute set per
// method, in the order of serverMethods.
var activeObserve = func() (o [len(serverMethods)][]metric.ObserveOption) {
	for i, m := range serverMethods {
		o[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(semconv.HTTPRequestMethodKey.String(m)))}
	}
	return o
}()

// activeRequests counts the requests in flight per method for
// http.server.active_requests, an observable up-down counter read at each
// collection: a request makes two atomic adds where the SDK's synchronous
// counter made two measurements (their attribute checks, a map lookup and
// a lock each). A method's series is reported from its first request on,
// as a synchronous counter's would be. It is safe for concurrent use.
type activeRequests struct {
	counts [len(serverMethods)]struct {
		n    atomic.Int64
		seen atomic.Bool
	}
}

// start counts one more request of method (a value of methodOf) and
// returns its count, for the request's end to take it back.
func (a *activeRequests) start(method string) *atomic.Int64 {
	c := &a.counts[methodIndex(method)]
	if !c.seen.Load() {
		c.seen.Store(true)
	}
	c.n.Add(1)
	return &c.n
}

func (a *activeRequests) observe(_ context.Context, o metric.Int64Observer) error {
	for i := range a.counts {
		if c := &a.counts[i]; c.seen.Load() {
			o.Observe(c.n.Load(), activeObserve[i]...)
		}
	}
	return nil
}

// methodIndex is the index in serverMethods of a value of methodOf.
func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodConnect:
		return 6
	case http.MethodOptions:
		return 7
	case http.MethodTrace:
		return 8
	}
	return 9
}

func (c *seriesCache) server(method, route string, status int) *serverSeries {
	key := serverKey{method, route, status}
	if s, ok := c.m.Load(key); ok {
		return s.(*serverSeries)
	}
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method), semconv.HTTPResponseStatusCode(status))
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if status >= 500 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
	}
	s := &serverSeries{
		spanName: method + " " + route,
		attrs:    attrs,
		record:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
	}
	if c.n.Load() < maxSeries {
		if _, loaded := c.m.LoadOrStore(key, s); !loaded {
			c.n.Add(1)
		}
	}
	return s
}
