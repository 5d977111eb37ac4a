package logging

import (
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

// requestIDs is what RequestIDs makes for a request, in one allocation:
// the context value that carries the id, and the response header's values
// (a copy of the id, so that a handler writing over the header's values
// does not change the id of the request's log records).
type requestIDs struct {
	ctx    RequestIDContext
	header [1]string
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
		ids.header[0] = ids.ctx.Begin(r.Context(), incoming)
		w.Header()[requestIDKeyCanonical] = ids.header[:]
		w, r, _ = httpmeta.StartWithContext(w, r, &ids.ctx)
		next.ServeHTTP(w, r)
	})
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
