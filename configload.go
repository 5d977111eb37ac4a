package operable

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/dirwatch"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// configSettle is how long the config directory must stay quiet before a
// reload.
const configSettle = 200 * time.Millisecond

// loadConfig loads the SDK's configuration and the service's from the same
// layers (defaults, config/ files, environment, secret references), so that
// one *config.Error lists every problem of both, and unknown keys are
// judged against both. vault resolves vault: references; when nil (no
// VAULT_ADDR), a vault: reference is a problem.
func loadConfig(ctx context.Context, opts Options, cfg *Config, vault secrets.Provider) (*config.Sources, error) {
	if vault == nil {
		vault = noVault{}
	}
	dsts := []any{cfg}
	if opts.Config != nil {
		dsts = append(dsts, opts.Config)
	}
	return config.LoadAll(ctx, config.Options{Environ: opts.Environ, Resolver: secrets.Resolver{"vault": vault}}, dsts...)
}

// zeroConfig zeroes the structs before a second load, so that nothing of
// the first stays.
func zeroConfig(opts Options, cfg *Config) {
	*cfg = Config{}
	if opts.Config != nil {
		v := reflect.ValueOf(opts.Config)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v.Elem().SetZero()
		}
	}
}

// noVault answers vault: references when VAULT_ADDR is not set.
type noVault struct{}

func (noVault) Get(context.Context, string) (secrets.Value, error) {
	return secrets.Value{}, errors.New("VAULT_ADDR is not set")
}

// pendingVault stands for Vault in the first load, before the session
// exists: it accepts every reference, with a placeholder value, so that
// the first load can set up logging and telemetry; the second load
// resolves the references for real.
type pendingVault struct{ used bool }

func (p *pendingVault) Get(context.Context, string) (secrets.Value, error) {
	p.used = true
	return secrets.Value{Secret: secrets.New("vault reference, resolved at the second load"), Version: "pending"}, nil
}

// watchConfig reloads the configuration when the files of the config
// directory change, for the life of the service: nothing when the
// directory does not exist at start-up.
func (s *Service) watchConfig() error {
	if fi, err := os.Stat(config.DefaultDir); err != nil || !fi.IsDir() {
		return nil
	}
	meter := s.metrics.MeterProvider().Meter("github.com/operable-go/operable/config")
	reloads, err := meter.Int64Counter("config.reloads",
		metric.WithDescription("Reloads of the configuration files, by result."), metric.WithUnit("{reload}"))
	if err != nil {
		return err
	}
	s.configReloads = reloads
	s.life.Go("config watcher", func(ctx context.Context) error {
		return dirwatch.Run(ctx, config.DefaultDir, configSettle, func() { s.reloadConfig(ctx) }, func(err error) {
			s.logger.Warn("config directory watch failed", slog.Any("error", err))
		})
	})
	return s.checks.Add(health.Check{Name: "config-files", NonCritical: true, ComponentType: "component",
		Func: func(context.Context) error {
			if p := s.configErr.Load(); p != nil {
				return *p
			}
			return nil
		}})
}

// reloadConfig reads every layer again into new values. A failure keeps
// the running configuration, logs, counts and warns; a success applies
// LOG_LEVEL, logs what changed and what needs a restart, and hands the
// service's new configuration to its subscribers.
func (s *Service) reloadConfig(ctx context.Context) {
	var cfg Config
	var app any
	if s.appType != nil {
		app = reflect.New(s.appType).Interface()
	}
	sources, err := loadConfig(ctx, Options{Environ: s.environ, Config: app}, &cfg, s.vaultProvider())
	if err != nil {
		s.configReloads.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "failure")))
		s.configErr.Store(&err)
		s.logger.Warn("config reload failed; keeping the running configuration", slog.Any("error", err))
		return
	}
	s.configReloads.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "success")))
	s.configErr.Store(nil)
	for _, sec := range append(config.Secrets(&cfg), config.Secrets(app)...) {
		s.known.AddSecret(sec)
	}
	info := s.info
	cfg.applyBuildInfo(&info)
	sdkChanged, restart := config.Diff(&s.cfg, &cfg)
	if slices.Contains(sdkChanged, "LogLevel") {
		lv, _ := logging.ParseLevel(cfg.LogLevel) // validated by the load
		s.level.Set(lv)
	}
	var appChanged []string
	if app != nil {
		old := s.appSnapshot.Load()
		var appRestart []string
		appChanged, appRestart = config.Diff(old, app)
		restart = append(restart, appRestart...)
		s.appSnapshot.Store(app)
	}
	s.sources.Store(sources)
	if len(sdkChanged)+len(appChanged) == 0 {
		return
	}
	s.logger.Info("config reloaded", slog.Any("changed", append(sdkChanged, appChanged...)),
		slog.Any("restart_needed", restart))
	if len(appChanged) > 0 {
		s.configSubsMu.Lock()
		subs := slices.Clone(s.configSubs)
		s.configSubsMu.Unlock()
		for _, fn := range subs {
			fn(app, appChanged)
		}
	}
}

// vaultProvider is the Vault session as a provider, or nil without one.
func (s *Service) vaultProvider() secrets.Provider {
	if s.vault == nil {
		return nil
	}
	return s.vault
}

// OnConfigChange calls fn after each reload of the configuration files
// that changed the service's own configuration, with the new value (a
// pointer of the same type as Options.Config, never modified afterwards)
// and the paths of the changed fields. The struct given in Options.Config
// keeps its start-up values. Register before Run.
func (s *Service) OnConfigChange(fn func(cfg any, changed []string)) {
	s.configSubsMu.Lock()
	defer s.configSubsMu.Unlock()
	s.configSubs = append(s.configSubs, fn)
}
