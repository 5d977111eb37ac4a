package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/operable-go/operable/internal/httpmeta"
)

// RequestIDHeader is the header that carries a request's id in and out.
const RequestIDHeader = "X-Request-ID"

// requestIDKeyCanonical is RequestIDHeader as net/http keys it in a Header
// map: indexing with it skips canonicalizing (and copying) the name at
// every request, which Header.Get and Header.Set do for "X-Request-ID".
const requestIDKeyCanonical = "X-Request-Id"

// maxRequestIDLen bounds an incoming id; a longer one is replaced.
const maxRequestIDLen = 128

type requestIDKey struct{}

// ContextWithRequestID returns a copy of ctx that carries id.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	switch id := ctx.Value(requestIDKey{}).(type) {
	case string: // ContextWithRequestID's
		return id
	case *string: // RequestIDs'
		return *id
	}
	return ""
}

// requestIDs is what RequestIDs makes for a request, in one allocation:
// the id, the response header's values and the context value that carries
// the id (the header's own copy, so that a handler writing over the
// header's values does not change the id of the request's log records).
type requestIDs struct {
	id     string
	header [1]string
	ctx    requestIDContext
}

// requestIDContext is ContextWithRequestID(parent, *id) in a form that
// lives inside requestIDs: its Value answers with a pointer to the id, so
// neither storing nor reading the id boxes a string.
type requestIDContext struct {
	context.Context
	id *string
}

func (c *requestIDContext) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return c.id
	}
	return c.Context.Value(key)
}

func (c *requestIDContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(logging.requestIDKey)"
}

// RequestIDs is middleware that gives every request an id: the incoming
// X-Request-ID when it is printable ASCII of at most 128 bytes, otherwise a
// new random one. The id is put in the request's context (see [RequestID])
// and echoed on the response. In the same copy of the request it starts the
// record of the route, status and size that [AccessLog] and the telemetry
// package's middleware share, wrapping the writer as they would: put
// outside them, it spares the chain a copy of the request.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var incoming string
		if v := r.Header[requestIDKeyCanonical]; len(v) > 0 {
			incoming = v[0]
		}
		ids := &requestIDs{}
		ids.id = KeepOrMakeRequestID(incoming)
		ids.header[0] = ids.id
		ids.ctx = requestIDContext{Context: r.Context(), id: &ids.id}
		w.Header()[requestIDKeyCanonical] = ids.header[:]
		w, r, _ = httpmeta.StartWithContext(w, r, &ids.ctx)
		next.ServeHTTP(w, r)
	})
}

// KeepOrMakeRequestID returns incoming when it is a request id to keep
// (printable ASCII without spaces, at most 128 bytes), else a new random
// one of 24 hex digits: the rule of [RequestIDs], for other transports
// (gRPC metadata, a queue message's header).
func KeepOrMakeRequestID(incoming string) string {
	if validRequestID(incoming) {
		return incoming
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// AccessLog is middleware that writes one record per request, after it
// ends, with its method, route pattern (never the raw path or its query),
// status, duration in seconds and response bytes: at error level for a 5xx,
// warn for a 4xx, info otherwise. With [RequestIDs] outside it, the record
// also carries request_id.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			w, r, info := httpmeta.Start(w, r)
			defer func() {
				status := httpmeta.StatusOf(info)
				level := slog.LevelInfo
				switch {
				case status >= 500:
					level = slog.LevelError
				case status >= 400:
					level = slog.LevelWarn
				}
				logger.LogAttrs(r.Context(), level, "request",
					slog.String("method", r.Method),
					slog.String("route", httpmeta.Route(r, info)),
					slog.Int("status", status),
					slog.Float64("duration", time.Since(start).Seconds()),
					slog.Int64("bytes", info.Bytes),
				)
			}()
			next.ServeHTTP(w, r)
		})
	}
}
