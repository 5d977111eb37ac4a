package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/shutdown"
)

// startHealth builds the checker and the lifecycle, the last of the core. The probes follow the lifecycle (startup passes once every
// component runs; readiness fails before that and from the first instant of
// the stop); the background checks run as a worker; each change of a
// check's status is logged once, not once per probe; every check's status
// and last duration are gauges. The telemetry flush is the first hook
// registered, so that it runs last.
func (s *Service) startHealth(context.Context, Options) error {
	s.checks = &health.Checker{}
	s.life = shutdown.New(shutdown.Options{
		Timeout:    s.cfg.ShutdownTimeout,
		DrainDelay: s.cfg.DrainDelay(),
		Logger:     s.logger,
	})
	s.life.OnStop(shutdown.Hook{Name: "telemetry", Timeout: telemetryFlushTimeout, Always: true, Func: s.tel.Shutdown})
	if err := errors.Join(
		s.checks.Add(health.Check{Name: "ping", Groups: health.Liveness, Func: func(context.Context) error { return nil }}),
		s.checks.Add(health.Check{Name: "started", Groups: health.Startup, Func: s.started}),
		s.checks.Add(health.Check{Name: "lifecycle", Groups: health.Readiness, Func: s.serving}),
	); err != nil {
		return fmt.Errorf("operable: lifecycle checks: %w", err)
	}
	s.life.Go("health checks", s.checks.Run)
	s.checks.Subscribe(s.logCheckChange)
	if err := s.checkMetrics(); err != nil {
		return fmt.Errorf("operable: health metrics: %w", err)
	}
	return nil
}

// started passes once the lifecycle is Ready and every background check
// has a first result: readiness then starts from what the checks found,
// not from their not-yet-run placeholders.
func (s *Service) started(context.Context) error {
	if s.life.Phase() < shutdown.Ready {
		return errors.New("starting")
	}
	if names := s.checks.Unstarted(); len(names) > 0 {
		return fmt.Errorf("waiting for the first run of %s", strings.Join(names, ", "))
	}
	return nil
}

// serving passes while the lifecycle is Ready: not while starting, not from
// the first instant of the stop.
func (s *Service) serving(context.Context) error {
	switch p := s.life.Phase(); {
	case p == shutdown.Starting:
		return errors.New("starting")
	case p > shutdown.Ready:
		return errors.New("shutting down")
	}
	return nil
}

// logCheckChange logs a change of a check's status, except a check's
// first result: that is an event only when it passes (it differs from the
// status served before any run, fail or warn), and logged it would read as
// the recovery ("from fail to pass") of a check that never failed.
func (s *Service) logCheckChange(e health.Event) {
	if e.First {
		return
	}
	level := slog.LevelInfo
	if e.Current.Status != health.Pass {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("check", e.Name),
		slog.String("groups", e.Groups.String()),
		slog.String("from", string(e.Previous)),
		slog.String("to", string(e.Current.Status)),
	}
	if e.Current.Err != nil {
		attrs = append(attrs, slog.String("error", e.Current.Err.Error()))
	}
	s.logger.LogAttrs(context.Background(), level, "health check status changed", attrs...)
}

// checkMetrics exports health.check.status (1 for the current status, 0
// for the others) and health.check.duration, read at each collection.
func (s *Service) checkMetrics() error {
	meter := s.tel.MeterProvider().Meter("github.com/operable-go/operable/health")
	status, err := meter.Int64ObservableGauge("health.check.status",
		metric.WithDescription("1 for the check's current status (pass, warn or fail), 0 for the others."))
	if err != nil {
		return err
	}
	duration, err := meter.Float64ObservableGauge("health.check.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of the check's last run."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, r := range s.checks.Results() {
			check := attribute.String("check", r.Name)
			for _, st := range []health.Status{health.Pass, health.Warn, health.Fail} {
				v := int64(0)
				if r.Status == st {
					v = 1
				}
				o.ObserveInt64(status, v, metric.WithAttributes(check, attribute.String("status", string(st))))
			}
			if !r.Time.IsZero() {
				o.ObserveFloat64(duration, r.Duration.Seconds(), metric.WithAttributes(check))
			}
		}
		return nil
	}, status, duration)
	return err
}
