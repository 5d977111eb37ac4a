package operable

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/internal/httpmeta"
	"github.com/operable-go/operable/logging"
)

// appHandler wraps the application's routes in the contract's middleware,
// outermost first: request id, RED metrics, access log, panic recovery, then
// the route capture around the router.
func (s *Service) appHandler() http.Handler {
	var h http.Handler = httpmeta.CaptureRoute(s.app)
	h = recoverPanics(s.logger)(h)
	h = logging.AccessLog(s.logger)(h)
	h = s.tel.Middleware(h)
	return logging.RequestIDs(h)
}

// recoverPanics turns a handler's panic into an error record with the stack
// and a 500 answer, or, when the handler had already sent its status, into
// an aborted connection counted as a 500. http.ErrAbortHandler is
// passed on: it is the documented way to abort a response.
func recoverPanics(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, info := httpmeta.Start(w, r)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				span := trace.SpanFromContext(r.Context())
				span.RecordError(fmt.Errorf("panic: %v", p), trace.WithStackTrace(true))
				span.SetStatus(codes.Error, "panic")
				logger.LogAttrs(r.Context(), slog.LevelError, "handler panicked",
					slog.String("error", fmt.Sprint(p)),
					slog.String("route", httpmeta.Route(r, info)),
					slog.String("stack", string(debug.Stack())))
				if info.Status == 0 {
					http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
					return
				}
				// The status line is gone: count the request as a 500 and
				// abort the connection so the client sees the failure
				// instead of a truncated success.
				info.Status = http.StatusInternalServerError
				panic(http.ErrAbortHandler)
			}()
			next.ServeHTTP(w, r)
		})
	}
}
