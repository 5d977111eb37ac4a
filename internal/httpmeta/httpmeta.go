// Package httpmeta shares what the HTTP middleware chain learns about one
// request (its matched route, status and size) between the middlewares of
// different packages, through one record stored in the request's context.
//
// The record travels by pointer, so it survives middleware that copies the
// request (r.WithContext) between the outer middlewares and the router; the
// route read from r.Pattern by an outer middleware would be lost there.
package httpmeta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Info is what is known about one request. Status is 0 until the handler
// writes a header.
type Info struct {
	Route  string
	Status int
	Bytes  int64
}

type infoKey struct{}

// FromContext returns the request's Info, or nil outside [Start].
func FromContext(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// record is what Start makes for a request, in one allocation: its Info,
// the writer that fills it in, and the context value that carries it.
type record struct {
	info Info
	w    recorder
	ctx  infoContext
}

// infoContext is context.WithValue(parent, infoKey{}, info) in a form that
// lives inside the record.
type infoContext struct {
	context.Context
	info *Info
}

func (c *infoContext) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return c.info
	}
	return c.Context.Value(key)
}

func (c *infoContext) String() string { return fmt.Sprint(c.Context) + ".WithValue(httpmeta.Info)" }

// Start returns the request's Info and the writer and request to pass on. The
// first middleware to call it creates the Info and wraps w to record the
// status and size; later calls in the same chain reuse both.
func Start(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *Info) {
	return StartWithContext(w, r, r.Context())
}

// StartWithContext is Start for a middleware that also replaces the
// request's context (with a span, say): the request is copied once, with
// ctx and the Info together.
func StartWithContext(w http.ResponseWriter, r *http.Request, ctx context.Context) (http.ResponseWriter, *http.Request, *Info) {
	if info := FromContext(ctx); info != nil {
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		return w, r, info
	}
	rec := &record{}
	rec.w = recorder{ResponseWriter: w, info: &rec.info}
	rec.ctx = infoContext{Context: ctx, info: &rec.info}
	return &rec.w, r.WithContext(&rec.ctx), &rec.info
}

// Route returns the path template of the route matched for r, the one
// [CaptureRoute] recorded or else r.Pattern, without the pattern's method and
// host: "GET /items/{id}" gives "/items/{id}", the form of the semantic
// conventions' http.route. It is "" when no route matched.
func Route(r *http.Request, info *Info) string {
	if info != nil && info.Route != "" {
		return pathOf(info.Route)
	}
	return pathOf(r.Pattern)
}

// pathOf returns the path part of a ServeMux pattern "[METHOD ][HOST]/PATH".
func pathOf(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		return pattern[i:]
	}
	return pattern
}

// StatusOf returns the status the handler sent; a handler that wrote nothing
// sent 200.
func StatusOf(info *Info) int {
	if info.Status == 0 {
		return http.StatusOK
	}
	return info.Status
}

// CaptureRoute wraps a router such as *http.ServeMux, which sets r.Pattern on
// the request it receives, and copies the pattern into the request's Info
// once the router has chosen a handler.
func CaptureRoute(router http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if info := FromContext(r.Context()); info != nil {
				info.Route = r.Pattern
			}
		}()
		router.ServeHTTP(w, r)
	})
}

// recorder records the status and size of the response. It keeps the
// optional interfaces reachable: Flush and Hijack directly, the rest through
// Unwrap and http.ResponseController.
type recorder struct {
	http.ResponseWriter
	info *Info
}

func (w *recorder) WriteHeader(code int) {
	if w.info.Status == 0 && code >= 200 {
		w.info.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.info.Status == 0 {
		w.info.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.info.Bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	if w.info.Status == 0 {
		w.info.Status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("httpmeta: the underlying ResponseWriter cannot hijack")
	}
	if w.info.Status == 0 {
		w.info.Status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
