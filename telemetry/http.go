package telemetry

import (
	"fmt"
	"net/http"
	"strconv"
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
	active       metric.Int64UpDownCounter
	requestSize  metric.Int64Histogram
	responseSize metric.Int64Histogram
}

func newServerMetrics(m metric.Meter) (serverMetrics, error) {
	var s serverMetrics
	var errs [4]error
	s.duration, errs[0] = m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	s.active, errs[1] = m.Int64UpDownCounter("http.server.active_requests",
		metric.WithUnit("{request}"),
		metric.WithDescription("Number of active HTTP server requests."))
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
// The route is read from the pattern the router set on the request; put
// httpmeta's route capture around the router when middleware between this
// one and the router copies the request (the root package does).
func (p *Provider) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w, r, info := httpmeta.Start(w, r)
		method := methodOf(r.Method)
		methodAttr := semconv.HTTPRequestMethodKey.String(method)

		ctx := p.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := p.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(methodAttr, semconv.URLPath(r.URL.Path), semconv.URLScheme(scheme(r))))
		r = r.WithContext(ctx)

		activeAttrs := metric.WithAttributeSet(attribute.NewSet(methodAttr))
		p.server.active.Add(ctx, 1, activeAttrs)
		defer func() {
			p.server.active.Add(ctx, -1, activeAttrs)
			status := httpmeta.StatusOf(info)
			route := httpmeta.Route(r, info)
			attrs := make([]attribute.KeyValue, 0, 4)
			attrs = append(attrs, methodAttr, semconv.HTTPResponseStatusCode(status))
			if route != "" {
				attrs = append(attrs, semconv.HTTPRoute(route))
				span.SetName(method + " " + route)
			}
			if status >= 500 {
				attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.SetAttributes(attrs...)
			set := metric.WithAttributeSet(attribute.NewSet(attrs...))
			p.server.duration.Record(ctx, time.Since(start).Seconds(), set)
			if r.ContentLength >= 0 {
				p.server.requestSize.Record(ctx, r.ContentLength, set)
			}
			p.server.responseSize.Record(ctx, info.Bytes, set)
			span.End()
		}()
		next.ServeHTTP(w, r)
	})
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
// for 5xx, or the Go error's type when no answer came).
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
