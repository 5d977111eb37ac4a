package telemetry

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/operable-go/operable/internal/httpmeta"
)

// durationBuckets are the semantic conventions' advised boundaries for
// http.server.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

type serverMetrics struct {
	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter
}

func newServerMetrics(m metric.Meter) (serverMetrics, error) {
	var s serverMetrics
	var err error
	s.duration, err = m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return s, fmt.Errorf("telemetry: %w", err)
	}
	s.active, err = m.Int64UpDownCounter("http.server.active_requests",
		metric.WithUnit("{request}"),
		metric.WithDescription("Number of active HTTP server requests."))
	if err != nil {
		return s, fmt.Errorf("telemetry: %w", err)
	}
	return s, nil
}

// Middleware records http.server.request.duration and
// http.server.active_requests for every request, with the attributes
// http.request.method (unknown methods as "_OTHER"), http.route (the matched
// route pattern, never the raw path; absent when no route matched),
// http.response.status_code, and error.type (the status code) on 5xx.
//
// The route is read from the pattern the router set on the request; put
// httpmeta's route capture around the router when middleware between this
// one and the router copies the request (the root package does).
func (p *Provider) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w, r, info := httpmeta.Start(w, r)
		method := semconv.HTTPRequestMethodKey.String(methodOf(r.Method))
		activeAttrs := metric.WithAttributeSet(attribute.NewSet(method))
		ctx := r.Context()
		p.server.active.Add(ctx, 1, activeAttrs)
		defer func() {
			p.server.active.Add(ctx, -1, activeAttrs)
			status := httpmeta.StatusOf(info)
			attrs := make([]attribute.KeyValue, 0, 4)
			attrs = append(attrs, method, semconv.HTTPResponseStatusCode(status))
			if route := httpmeta.Route(r, info); route != "" {
				attrs = append(attrs, semconv.HTTPRoute(route))
			}
			if status >= 500 {
				attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			}
			p.server.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
		}()
		next.ServeHTTP(w, r)
	})
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
