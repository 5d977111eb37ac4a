package operable

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/health"
)

// wireHealth runs the background checks for the life of the service, logs
// each change of a check's status once (not once per probe), and exports
// every check's status and last duration as metrics.
func (s *Service) wireHealth() error {
	s.life.Go("health checks", s.checks.Run)
	s.checks.Subscribe(func(e health.Event) {
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
	})

	meter := s.metrics.MeterProvider().Meter("github.com/operable-go/operable/health")
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
