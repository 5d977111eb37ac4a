package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// A step is one stage of [New]: the core (config, telemetry, logging,
// health and the lifecycle) and then the parts. Each step registers on the
// service what it owns (checks, workers, hooks, debug pages) and pushes on
// the release stack whatever must be undone if a later step fails.
type step struct {
	name string
	run  func(s *Service, ctx context.Context, opts Options) error
}

// steps are New's stages, in order. A new part is one more entry here and
// one file holding it (see ARCHITECTURE.md, "Adding a part").
var steps = [...]step{
	{"sighup catch", (*Service).catchSIGHUP},
	{"config", (*Service).loadConfig},
	{"telemetry", (*Service).startTelemetry},
	{"logging", (*Service).startLogging},
	{"health", (*Service).startHealth},
	{"flags", (*Service).openFlags},
	{"breakers", (*Service).startBreakers},
	{"vault", (*Service).startVault},
	{"config secrets", (*Service).resolveConfig},
	{"config reload", (*Service).watchConfig},
	{"tls", (*Service).loadTLS},
	{"grpc", (*Service).startGRPC},
	{"sighup", (*Service).serveSIGHUP},
	{"startup tasks", (*Service).startStartupTasks},
	{"admin", (*Service).routeAdmin},
}

// releaseTimeout bounds the release of what New built, when a step fails
// or a service is closed unrun.
const releaseTimeout = 5 * time.Second

// releaser is the stack of what start-up built that only an explicit
// release ends: the telemetry pipelines, the Vault login. It runs in
// reverse order of push, once.
type releaser struct {
	names []string
	funcs []func(context.Context) error
}

func (r *releaser) push(name string, f func(context.Context) error) {
	r.names = append(r.names, name)
	r.funcs = append(r.funcs, f)
}

// release runs the stack, last pushed first, each within what is left of
// releaseTimeout, and empties it. Every failure is returned.
func (r *releaser) release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	var errs []error
	for i := len(r.funcs) - 1; i >= 0; i-- {
		if err := r.funcs[i](ctx); err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", r.names[i], err))
		}
	}
	r.names, r.funcs = nil, nil
	return errors.Join(errs...)
}

// errInjected is the failure build injects for a test.
var errInjected = errors.New("failure injected by a test")

// build runs the steps; failAt, for tests, makes New fail right after the
// named step, as if the next one had failed. On any failure everything
// built so far is released before the error is returned.
func build(ctx context.Context, opts Options, failAt string) (*Service, error) {
	s := &Service{app: http.NewServeMux(), debug: http.NewServeMux()}
	for _, st := range steps {
		err := st.run(s, ctx, opts)
		if err == nil && st.name == failAt {
			err = fmt.Errorf("operable: after step %q: %w", failAt, errInjected)
		}
		if err != nil {
			if rerr := s.release.release(ctx); rerr != nil && s.logger != nil {
				s.logger.Warn("start-up failed; releasing what it built failed too", slog.Any("error", rerr))
			}
			return nil, err
		}
	}
	return s, nil
}
