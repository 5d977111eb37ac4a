package operable

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/operable-go/operable/shutdown"
)

// Run binds both listeners, serves until a signal, ctx's end or
// [Service.Stop], and then runs the shutdown sequence: the telemetry
// flushed last, the Vault token revoked when the session's worker stops.
// It returns nil after a clean stop. When it fails before serving (a
// listener cannot bind, the stop budgets do not fit, a hook has no name),
// it closes the service as [Service.Close] does, listeners included: a
// service runs once.
func (s *Service) Run(ctx context.Context) error {
	if err := s.startRun(); err != nil {
		return err
	}
	if err := s.bind(ctx); err != nil {
		return s.abandon(ctx, err)
	}
	err := s.life.Run(ctx)
	if s.life.Phase() == shutdown.Starting { // it refused to start: nothing ran, nothing stopped
		return s.abandon(ctx, err)
	}
	return err
}

// abandon closes a service whose lifecycle never ran: its listeners and
// its release stack. It returns err with any failure of the release.
func (s *Service) abandon(ctx context.Context, err error) error {
	s.mu.Lock()
	s.state = closed
	s.mu.Unlock()
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	return errors.Join(err, s.release.release(ctx))
}

// bind opens both listeners and hands their servers to the lifecycle, the
// admin server first so that it stops last: probes and metrics answer
// until the application has drained.
func (s *Service) bind(ctx context.Context) error {
	for _, l := range []struct{ name, addr string }{{"admin", s.cfg.AdminAddr}, {"app", s.cfg.HTTPAddr}} {
		ln, err := listen(ctx, l.name, l.addr)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, ln)
	}
	errorLog := slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)
	s.life.Serve("admin", newServer(s.adminHandler(), errorLog), s.listeners[0])
	s.life.Serve("app", newServer(s.appHandler(), errorLog), s.listeners[1])
	for i, name := range []string{"admin", "app"} {
		s.logger.Info("listening", slog.String("listener", name), slog.String("addr", s.listeners[i].Addr().String()))
	}
	return nil
}

func listen(ctx context.Context, name, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("operable: %s listener: %w", name, err)
	}
	return ln, nil
}

// Server timeouts. The write timeout leaves room for a 30 s CPU profile
// on the admin listener.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 1 << 20
)

func newServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
