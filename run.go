package operable

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"

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
	s.sighup.stop() // caught until the stop sequence is over
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
	for i, l := range []struct {
		name    string
		handler http.Handler
		limits  ServerConfig
		cert    *certificate
	}{{"admin", s.adminHandler(), s.cfg.Admin, s.tls.admin}, {"app", s.appHandler(), s.cfg.HTTP, s.tls.app}} {
		ln, scheme := s.listeners[i], "http"
		if l.cert != nil {
			ln, scheme = tls.NewListener(ln, l.cert.config()), "https"
		}
		s.life.Serve(l.name, newServer(l.handler, errorLog, l.limits), ln)
		s.logger.Info("listening", slog.String("listener", l.name), slog.String("addr", ln.Addr().String()),
			slog.String("scheme", scheme))
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

func newServer(h http.Handler, errorLog *log.Logger, limits ServerConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
