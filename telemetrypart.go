package operable

import (
	"context"
	"errors"
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
		// Bad OTEL_* values are configuration too (exit code 78): one
		// problem per variable.
		return &config.Error{Problems: telemetryProblems(err)}
	}
	s.tel = tel
	s.release.push("telemetry", tel.Shutdown)
	return nil
}

// telemetryProblems turns telemetry.New's error into problems: one per bad
// variable (a *telemetry.VarError anywhere in the tree of joined and
// wrapped errors), or the error itself when it holds none.
func telemetryProblems(err error) []config.Problem {
	var problems []config.Problem
	var walk func(error)
	walk = func(err error) {
		var ve *telemetry.VarError
		switch u := err.(type) {
		case *telemetry.VarError:
			problems = append(problems, config.Problem{Var: u.Var, Reason: u.Err.Error()})
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if errors.As(err, &ve) {
				walk(u.Unwrap())
				return
			}
			problems = append(problems, config.Problem{Reason: err.Error()})
		default:
			problems = append(problems, config.Problem{Reason: err.Error()})
		}
	}
	walk(err)
	return problems
}

// telemetryFlushTimeout bounds the final flush of metrics, spans and logs.
const telemetryFlushTimeout = 2 * time.Second
