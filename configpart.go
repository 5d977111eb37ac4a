package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/internal/reload"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// configPart owns the configuration: both structs as loaded and where each
// value came from, their reload when config/ changes (a lifecycle worker,
// the config-files check, config_reloads_total, the OnConfigChange
// subscribers) and /debug/config.
type configPart struct {
	appType  reflect.Type  // of *Options.Config; nil without one
	prefix   string        // Options.ConfigPrefix
	template reflect.Value // a copy of *Options.Config as given: what every load starts from
	pending  *pendingVault // stands for Vault in the first load; nil without VAULT_ADDR
	value    *reload.Value[loadedConfig]
	startup  loadedConfig // what the service started with, for reload:"restart" fields
	reloads  metric.Int64Counter
	subsMu   sync.Mutex // guards subs and live
	subs     []func(old, new any, changed []string)
	live     bool             // a LiveConfig reads the struct as it reloads
	typos    []config.Problem // variables that look misspelt, warned about at start-up
}

// loadedConfig is one good load of every layer.
type loadedConfig struct {
	sdk *Config
	app any // a new *T for Options.Config's *T; nil without one
	src *config.Sources
}

// loadConfig is the first step: it reads the environment once and loads
// the SDK's configuration and the service's from the same layers
// (defaults, config/ files, environment, secret references), so that one
// *config.Error lists every problem of both. With VAULT_ADDR, vault:
// references are taken on trust until the session exists (see
// resolveConfig).
func (s *Service) loadConfig(ctx context.Context, opts Options) error {
	s.env = environ.Or(opts.Environ)
	s.info = readBuildInfo(opts)
	if opts.Config != nil {
		t := reflect.TypeOf(opts.Config)
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || reflect.ValueOf(opts.Config).IsNil() {
			return fmt.Errorf("operable: Options.Config is %T, want a non-nil pointer to a struct", opts.Config)
		}
		s.config.appType, s.config.prefix = t.Elem(), opts.ConfigPrefix
		// Fields the service filled itself before New, and fields no layer
		// sets, keep their values: each load starts from this copy.
		s.config.template = reflect.New(t.Elem()).Elem()
		s.config.template.Set(reflect.ValueOf(opts.Config).Elem())
	}
	if s.env["VAULT_ADDR"] != "" {
		s.config.pending = &pendingVault{}
	}
	v, err := reload.New(ctx, reload.Options[loadedConfig]{Load: s.loadLayers, Diff: diffConfig, Dir: config.DefaultDir})
	if err != nil {
		return err
	}
	s.config.value = v
	s.adoptConfig(opts)
	// A variable a typo away from a known one is a setting the operator
	// meant to give: in staging and production a config error, in local
	// and development a warning at start-up (see startLogging).
	if typos := v.Current().src.Typos(); len(typos) > 0 {
		if s.cfg.Environment == "staging" || s.cfg.Environment == "production" {
			return &config.Error{Problems: typos}
		}
		s.config.typos = typos
	}
	return nil
}

// withPrefix is the service's struct as a destination of config.LoadAll and
// config.Describe: with Options.ConfigPrefix, its variables carry it.
func withPrefix(prefix string, app any) any {
	if prefix == "" {
		return app
	}
	return config.Prefixed{Prefix: prefix, Dst: app}
}

// loadLayers reads every layer into new values.
func (s *Service) loadLayers(ctx context.Context) (loadedConfig, error) {
	l := loadedConfig{sdk: &Config{}}
	dsts := []any{l.sdk}
	if s.config.appType != nil {
		app := reflect.New(s.config.appType)
		app.Elem().Set(s.config.template)
		l.app = app.Interface()
		dsts = append(dsts, withPrefix(s.config.prefix, l.app))
	}
	var vault secrets.Provider = noVault{}
	switch {
	case s.vault.client != nil:
		vault = s.vault.client
	case s.config.pending != nil:
		vault = s.config.pending
	}
	// A file the last good load read must still be there: a reload never
	// falls back to the defaults because a file vanished.
	var previous *config.Sources
	if s.config.value != nil {
		previous = s.config.value.Current().src
	}
	src, err := config.LoadAll(ctx, config.Options{Environ: s.env, Resolver: secrets.Resolver{"vault": vault}, Previous: previous, DetectTypos: true}, dsts...)
	if err != nil {
		return l, err
	}
	l.sdk.fillFromBuild(s.info)
	l.src = src
	return l, nil
}

// adoptConfig makes the current load the service's start-up configuration:
// Service.Config, Options.Config's struct and /debug/info.
func (s *Service) adoptConfig(opts Options) {
	cur := s.config.value.Current()
	s.config.startup = cur
	s.cfg = *cur.sdk
	s.info.Service, s.info.Version, s.info.Environment = s.cfg.ServiceName, s.cfg.ServiceVersion, s.cfg.Environment
	if cur.app != nil {
		reflect.ValueOf(opts.Config).Elem().Set(reflect.ValueOf(cur.app).Elem())
	}
}

func diffConfig(old, new loadedConfig) []string {
	changed, _ := config.Diff(old.sdk, new.sdk)
	if old.app != nil {
		app, _ := config.Diff(old.app, new.app)
		changed = append(changed, app...)
	}
	return changed
}

// resolveConfig loads again once the Vault session exists, when the first
// load took vault: references on trust, and registers every secret of the
// configuration with the redactor: masked wherever it appears in a log
// record, whatever its key.
func (s *Service) resolveConfig(ctx context.Context, opts Options) error {
	if s.config.pending != nil && s.config.pending.used {
		if err := s.config.value.Reload(ctx); err != nil {
			return err
		}
		s.adoptConfig(opts)
	}
	s.maskConfigSecrets(s.config.value.Current())
	return nil
}

func (s *Service) maskConfigSecrets(l loadedConfig) {
	for _, sec := range append(config.Secrets(l.sdk), config.Secrets(l.app)...) {
		s.known.AddSecret(sec)
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
// directory change, for the life of the service (nothing when the
// directory does not exist at start-up), and serves /debug/config.
func (s *Service) watchConfig(context.Context, Options) error {
	s.debug.HandleFunc("GET /debug/config", s.serveConfig)
	// Every reload is followed, the watch's and SIGHUP's alike.
	s.config.value.Subscribe(s.configReloaded)
	if fi, err := os.Stat(config.DefaultDir); err != nil || !fi.IsDir() {
		return nil
	}
	reloads, err := s.tel.MeterProvider().Meter("github.com/operable-go/operable/config").Int64Counter("config.reloads",
		metric.WithDescription("Reloads of the configuration files, by result."), metric.WithUnit("{reload}"))
	if err != nil {
		return fmt.Errorf("operable: config reload metric: %w", err)
	}
	s.config.reloads = reloads
	s.life.Go("config watcher", s.config.value.Run)
	return s.checks.Add(health.Check{Name: "config-files", NonCritical: true, ComponentType: "component",
		Func: func(context.Context) error { return s.config.value.Err() }})
}

// configReloaded follows each reload. A failure keeps the running
// configuration, logs, counts and warns (through the check); a success
// that changed something since the last load applies LOG_LEVEL, logs what
// changed and which fields tagged reload:"restart" differ from what the
// service started with, and hands the service's new configuration to its
// subscribers.
func (s *Service) configReloaded(e reload.Event[loadedConfig]) {
	ctx := context.Background()
	count := func(result string) {
		if s.config.reloads != nil { // no config/ watch: a SIGHUP's reload
			s.config.reloads.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
		}
	}
	if e.Err != nil {
		count("failure")
		s.logger.Warn("config reload failed; keeping the running configuration", slog.Any("error", e.Err))
		return
	}
	count("success")
	s.maskConfigSecrets(e.New)
	sdkChanged, _ := config.Diff(e.Old.sdk, e.New.sdk)
	if slices.Contains(sdkChanged, "LogLevel") {
		lv, _ := logging.ParseLevel(e.New.sdk.LogLevel) // validated by the load
		s.level.Set(lv)
	}
	var appChanged []string
	if e.New.app != nil {
		appChanged, _ = config.Diff(e.Old.app, e.New.app)
	}
	if len(sdkChanged)+len(appChanged) == 0 {
		return
	}
	// What the running service does not use, compared with what it
	// started with: every reload says so again until a restart.
	sdkPending, appPending := s.pending(e.New)
	changed := append(sdkChanged, appChanged...)
	restart := append(sdkPending, appPending...)
	var applied []string
	for _, f := range changed {
		if !slices.Contains(restart, f) {
			applied = append(applied, f)
		}
	}
	s.logger.Info("config reloaded", slog.Any("changed", changed), slog.Any("applied", applied),
		slog.Any("restart_needed", restart))
	if len(appChanged) > 0 {
		s.config.subsMu.Lock()
		subs := slices.Clone(s.config.subs)
		s.config.subsMu.Unlock()
		for _, fn := range subs {
			fn(e.Old.app, e.New.app, appChanged)
		}
	}
}

// pending returns the fields of a load that the running service does not
// use: of the SDK's, every one that differs from what it started with but
// LOG_LEVEL (the one it applies at once); of the service's own struct, the
// ones tagged reload:"restart" that differ, or, when nothing reads the
// struct as it reloads (no [Live] handle, no OnConfigChange subscriber),
// every one that differs.
func (s *Service) pending(cur loadedConfig) (sdk, app []string) {
	changed, _ := config.Diff(s.config.startup.sdk, cur.sdk)
	sdk = slices.DeleteFunc(changed, func(f string) bool { return f == "LogLevel" })
	if cur.app == nil {
		return sdk, nil
	}
	changed, restart := config.Diff(s.config.startup.app, cur.app)
	s.config.subsMu.Lock()
	live := s.config.live || len(s.config.subs) > 0
	s.config.subsMu.Unlock()
	if live {
		return sdk, restart
	}
	return sdk, changed
}

// LiveConfig is the service's own configuration as it is now: loaded with
// the SDK's at start-up and swapped atomically at each reload of the
// config files. Read it at each use, with Load. Load returns every field
// as last loaded, those tagged reload:"restart" included: read those once
// at start-up (from Options.Config's struct), since reloads name them as
// needing a restart. It is safe for concurrent use.
type LiveConfig[T any] struct {
	s *Service
}

// Live returns the handle to the service's configuration struct, of the
// type T that Options.Config points to. From then on, reloads report the
// fields not tagged reload:"restart" as applied. Call it before Run.
func Live[T any](s *Service) (*LiveConfig[T], error) {
	if s.config.appType != reflect.TypeFor[T]() {
		return nil, fmt.Errorf("operable: Live[%v]: Options.Config points to %v", reflect.TypeFor[T](), s.config.appType)
	}
	s.config.subsMu.Lock()
	s.config.live = true
	s.config.subsMu.Unlock()
	return &LiveConfig[T]{s: s}, nil
}

// Load returns the current configuration. It must not be modified.
func (l *LiveConfig[T]) Load() *T {
	// Live checked the type: every load holds a *T.
	return l.s.config.value.Current().app.(*T)
}

// OnChange calls fn after each reload that changed the configuration, with
// the configurations before and after (never modified) and the paths of
// the changed fields. Register before Run.
func (l *LiveConfig[T]) OnChange(fn func(old, new *T, changed []string)) {
	l.s.config.subsMu.Lock()
	defer l.s.config.subsMu.Unlock()
	l.s.config.subs = append(l.s.config.subs, func(old, new any, changed []string) { fn(old.(*T), new.(*T), changed) })
}

// OnConfigChange calls fn after each reload of the configuration files
// that changed the service's own configuration, with the new value (a
// pointer of the same type as Options.Config, never modified afterwards)
// and the paths of the changed fields. The struct given in Options.Config
// keeps its start-up values. [Live] gives the same typed, with the value
// before the change. Register before Run.
func (s *Service) OnConfigChange(fn func(cfg any, changed []string)) {
	s.config.subsMu.Lock()
	defer s.config.subsMu.Unlock()
	s.config.subs = append(s.config.subs, func(_, new any, changed []string) { fn(new, changed) })
}

// debugField is one row of /debug/config.
type debugField struct {
	config.Field
	// RestartNeeded marks a field whose loaded value the running service
	// does not use (see Service.pending).
	RestartNeeded bool `json:"restart_needed,omitempty"`
}

// serveConfig shows the configuration, the SDK's (as the service runs with
// it) and the service's (as last loaded): every field with its variable,
// the layer it came from in the last load and its value, and
// restart_needed where the files say something the running service does
// not use; secrets as [REDACTED] by type, and secret-shaped text or known
// secret values inside other fields masked too.
func (s *Service) serveConfig(w http.ResponseWriter, _ *http.Request) {
	cur := s.config.value.Current()
	sdkPending, appPending := s.pending(cur)
	describe := func(cfg any, pending []string) []debugField {
		fields := config.Describe(cfg, config.Options{Environ: s.env, Sources: cur.src})
		out := make([]debugField, len(fields))
		for i, f := range fields {
			f.Value = logging.Mask(f.Value, s.known)
			f.Default = logging.Mask(f.Default, s.known)
			if f.Path == "LogLevel" && cfg == any(&s.cfg) {
				// Applied at once by a reload or /debug/loglevel.
				f.Value = strings.ToLower(s.level.Level().String())
			}
			if f.Source == "unset" && cfg == any(&s.cfg) {
				// No layer set them: New filled them in.
				switch f.Path {
				case "ServiceName":
					f.Source = s.info.serviceFrom
				case "ServiceVersion":
					f.Source = s.info.versionFrom
				}
			}
			out[i] = debugField{Field: f, RestartNeeded: slices.Contains(pending, f.Path)}
		}
		return out
	}
	body := struct {
		SDK     []debugField `json:"sdk"`
		Service []debugField `json:"service,omitempty"`
	}{SDK: describe(&s.cfg, sdkPending)}
	if cur.app != nil {
		body.Service = describe(withPrefix(s.config.prefix, cur.app), appPending)
	}
	writeJSON(w, http.StatusOK, body)
}
