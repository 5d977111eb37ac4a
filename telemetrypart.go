package operable

import (
	"context"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/telemetry"
)

// startTelemetry builds the telemetry provider from the configuration and
// the OTEL_* variables of the service's environment. It is released (its
// exporters flushed and shut down) when a later step fails or an unrun
// service is closed; once the service runs, the stop sequence's last hook
// does it (see startHealth).
func (s *Service) startTelemetry(ctx context.Context, opts Options) error {
	tel, err := telemetry.New(ctx, telemetry.Options{
		ServiceName: s.cfg.ServiceName, ServiceVersion: s.cfg.ServiceVersion, Environment: s.cfg.Environment,
		Environ: s.env, Console: opts.Stderr,
	})
	if err != nil {
		// Bad OTEL_* values are configuration too: exit code 78.
		return &config.Error{Problems: []config.Problem{{Reason: err.Error()}}}
	}
	s.tel = tel
	s.release.push("telemetry", tel.Shutdown)
	return nil
}

// telemetryFlushTimeout bounds the final flush of metrics, spans and logs.
const telemetryFlushTimeout = 2 * time.Second
