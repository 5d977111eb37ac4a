package operable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/vault"
	"github.com/operable-go/operable/shutdown"
	"github.com/operable-go/operable/telemetry"
)

// Options describe the service to [New]. Only Name is usually set.
type Options struct {
	// Name is the service's name unless SERVICE_NAME overrides it.
	// Default: the executable's base name.
	Name string
	// Version is the service's version unless SERVICE_VERSION overrides
	// it. Default: the main module's version from the build info.
	Version string
	// Config, when not nil, points to the service's own configuration
	// struct; it is loaded from the same layers as [Config] (see
	// [config.LoadInto]), and its problems are reported together with the
	// SDK's.
	Config any
	// Environ replaces the process environment (for tests). Default: nil,
	// os.Environ.
	Environ map[string]string
	// Stdout receives the logs. Default: os.Stdout.
	Stdout io.Writer
	// Stderr receives the console exporters' output (OTEL_TRACES_EXPORTER
	// or OTEL_METRICS_EXPORTER set to console). Default: os.Stderr.
	Stderr io.Writer
}

// Service is one operable service: an application listener, an admin
// listener, the logger, the health checks, the metrics and the lifecycle.
// Register routes, checks, workers and hooks before calling Run; after Run
// starts, only the read methods may be called.
type Service struct {
	cfg      Config
	logger   *slog.Logger
	level    *slog.LevelVar
	known    *logging.KnownValues
	checks   *health.Checker
	metrics  *telemetry.Provider
	life     *shutdown.Lifecycle
	app      *http.ServeMux
	debug    *http.ServeMux
	info     buildInfo
	flags    *featureflags.File // nil without FLAGS_FILE
	breakers breakers
	vault    *vault.Client // nil without VAULT_ADDR
	// sources and appSnapshot are the current configuration's layers and
	// the service's configuration, replaced by each reload.
	sources       atomic.Pointer[config.Sources]
	appSnapshot   atomic.Value
	appType       reflect.Type // of *Options.Config; nil without one
	configErr     atomic.Pointer[error]
	configReloads metric.Int64Counter
	configSubsMu  sync.Mutex
	configSubs    []func(cfg any, changed []string)
	// environ is what the configuration is loaded from (nil: the process
	// environment).
	environ map[string]string
}

// New loads the configuration and builds the service; ctx bounds the work
// done at start-up. It returns a *config.Error (exit code 78, see
// [ExitCode]) that lists every problem when the configuration, OTEL_*
// variables included, is bad.
func New(ctx context.Context, opts Options) (*Service, error) {
	var cfg Config
	// With Vault, the first load takes vault: references on trust; the
	// session, which needs the logger and telemetry this load configures,
	// resolves them in a second load below.
	var vaultRefs secrets.Provider
	pending := &pendingVault{}
	if environ.Or(opts.Environ)["VAULT_ADDR"] != "" {
		vaultRefs = pending
	}
	sources, err := loadConfig(ctx, opts, &cfg, vaultRefs)
	if err != nil {
		return nil, err
	}
	info := readBuildInfo(opts)
	cfg.applyBuildInfo(&info)
	level := new(slog.LevelVar)
	lv, _ := logging.ParseLevel(cfg.LogLevel) // validated by Config.Validate
	level.Set(lv)
	// Every secret the configuration holds is masked wherever it appears in
	// a log record, whatever its key (registered once the last load is done).
	known := &logging.KnownValues{}
	metrics, err := telemetry.New(ctx, telemetry.Options{
		ServiceName: cfg.ServiceName, ServiceVersion: cfg.ServiceVersion, Environment: cfg.Environment,
		Environ: environ.Or(opts.Environ), Console: opts.Stderr,
	})
	if err != nil {
		// Bad OTEL_* values are configuration too: exit code 78.
		return nil, &config.Error{Problems: []config.Problem{{Reason: err.Error()}}}
	}
	// The OpenTelemetry logs bridge, when OTEL_LOGS_EXPORTER asks for it, is a
	// sink of the logger: it gets the same redacted records as stdout.
	var sinks []logging.Sink
	if h := metrics.LogHandler(); h != nil {
		sinks = append(sinks, logging.Sink{Handler: h})
	}
	// s is set below; the flags file calls back only once Run watches it.
	var s *Service
	flags, err := openFlags(cfg.FlagsFile, featureflags.FileOptions{
		OnReload: func(set *featureflags.Set, changed []string, err error) { s.logFlagsReload(set, changed, err) },
		Env:      environ.Or(opts.Environ),
	}, metrics)
	if err != nil {
		_ = metrics.Shutdown(ctx)
		return nil, err
	}
	logger, err := logging.New(logging.Options{
		Writer: opts.Stdout, Level: level, Format: cfg.LogFormat, Known: known,
		Service: cfg.ServiceName, Version: cfg.ServiceVersion, Env: cfg.Environment, Sinks: sinks,
	})
	if err != nil {
		_ = metrics.Shutdown(ctx)
		return nil, fmt.Errorf("operable: %w", err)
	}
	s = &Service{
		cfg:     cfg,
		logger:  logger,
		level:   level,
		known:   known,
		checks:  &health.Checker{},
		metrics: metrics,
		app:     http.NewServeMux(),
		debug:   http.NewServeMux(),
		info:    info,
		flags:   flags,
		environ: opts.Environ,
		life: shutdown.New(shutdown.Options{
			Timeout:    cfg.ShutdownTimeout,
			DrainDelay: cfg.DrainDelay(),
			Logger:     logger,
		}),
	}
	// Registered first, so that it runs last: the final metrics, spans and
	// log records are flushed after every other hook.
	s.life.OnStop(shutdown.Hook{Name: "telemetry", Timeout: 2 * time.Second, Always: true, Func: metrics.Shutdown})
	s.addLifecycleChecks()
	if err := s.wireHealth(); err != nil {
		return nil, fmt.Errorf("operable: health metrics: %w", err)
	}
	if err := s.wireFlags(); err != nil {
		return nil, fmt.Errorf("operable: %w", err)
	}
	if err := s.wireVault(ctx); err != nil {
		_ = metrics.Shutdown(ctx)
		return nil, err
	}
	if pending.used {
		zeroConfig(opts, &cfg)
		if sources, err = loadConfig(ctx, opts, &cfg, s.vault); err != nil {
			_ = metrics.Shutdown(ctx)
			return nil, err
		}
		cfg.applyBuildInfo(&info)
		s.cfg = cfg
	}
	s.sources.Store(sources)
	if opts.Config != nil {
		s.appSnapshot.Store(opts.Config)
		if t := reflect.TypeOf(opts.Config); t.Kind() == reflect.Pointer {
			s.appType = t.Elem()
		}
	}
	if err := s.watchConfig(); err != nil {
		_ = metrics.Shutdown(ctx)
		return nil, fmt.Errorf("operable: config watch: %w", err)
	}
	for _, sec := range append(config.Secrets(&s.cfg), config.Secrets(opts.Config)...) {
		known.AddSecret(sec)
	}
	s.routeDebug()
	return s, nil
}

// openFlags reads the flag file, with the FLAG_<KEY> overrides of the
// environment and evaluation metrics; a file that cannot be read or parsed,
// or an override naming no variant, is a configuration problem (exit code
// 78).
func openFlags(path string, fo featureflags.FileOptions, tp *telemetry.Provider) (*featureflags.File, error) {
	if path == "" {
		return nil, nil
	}
	m, err := featureflags.NewMetrics(tp.MeterProvider().Meter("github.com/operable-go/operable/featureflags"))
	if err != nil {
		return nil, fmt.Errorf("operable: flag metrics: %w", err)
	}
	fo.Metrics = m
	f, err := featureflags.OpenFile(path, fo)
	if err != nil {
		return nil, &config.Error{Problems: []config.Problem{{Var: "FLAGS_FILE", Field: "FlagsFile", Reason: err.Error()}}}
	}
	return f, nil
}

// wireFlags watches the flag file for the life of the service and reports a
// file that no longer parses as a non-critical readiness check: the service
// keeps its last good flags meanwhile.
func (s *Service) wireFlags() error {
	if s.flags == nil {
		return nil
	}
	s.life.Go("flags watcher", s.flags.Run)
	return s.checks.Add(health.Check{Name: "flags-file", NonCritical: true, ComponentType: "component",
		Func: func(context.Context) error { return s.flags.Err() }})
}

// logFlagsReload logs every reload of the flag file, once, naming the
// flags that changed.
func (s *Service) logFlagsReload(set *featureflags.Set, changed []string, err error) {
	if err != nil {
		s.logger.Warn("feature flags not reloaded", slog.String("file", s.cfg.FlagsFile), slog.Any("error", err))
		return
	}
	s.logger.Info("feature flags reloaded", slog.String("file", s.cfg.FlagsFile), slog.Int("flags", len(set.Flags())),
		slog.Any("changed", changed))
}

// addLifecycleChecks ties the probes to the lifecycle: startup passes once
// every component runs, readiness fails before that and from the first
// instant of the stop.
func (s *Service) addLifecycleChecks() {
	must(s.checks.Add(health.Check{Name: "ping", Groups: health.Liveness, Func: func(context.Context) error { return nil }}))
	must(s.checks.Add(health.Check{Name: "started", Groups: health.Startup, Func: func(context.Context) error {
		if s.life.Phase() < shutdown.Ready {
			return errors.New("starting")
		}
		return nil
	}}))
	must(s.checks.Add(health.Check{Name: "lifecycle", Groups: health.Readiness, Func: func(context.Context) error {
		switch p := s.life.Phase(); {
		case p == shutdown.Starting:
			return errors.New("starting")
		case p > shutdown.Ready:
			return errors.New("shutting down")
		}
		return nil
	}}))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Config returns the SDK's configuration as loaded, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.logger }

// Handle registers handler for pattern on the application listener, with
// http.ServeMux's pattern syntax ("GET /items/{id}").
func (s *Service) Handle(pattern string, handler http.Handler) { s.app.Handle(pattern, handler) }

// HandleFunc registers f for pattern on the application listener.
func (s *Service) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.app.HandleFunc(pattern, f)
}

// Transport wraps next (http.DefaultTransport when nil) with the client
// side of the telemetry: a client span, trace context propagation, and
// http.client.request.duration. Use it for every outbound HTTP call.
func (s *Service) Transport(next http.RoundTripper) http.RoundTripper {
	return s.metrics.Transport(next)
}

// AppHandler returns the application's routes wrapped in the contract's
// middleware (request id, RED metrics, access log, panic recovery): what the
// application listener serves. Use it to test routes with net/http/httptest
// through the whole chain.
func (s *Service) AppHandler() http.Handler { return s.appHandler() }

// AdminHandler returns what the admin listener serves: the probes,
// /metrics and the guarded /debug/ pages.
func (s *Service) AdminHandler() http.Handler { return s.adminHandler() }

// HandleDebug registers handler under /debug/ on the admin listener, behind
// the ADMIN_TOKEN guard. The pattern's path must start with "/debug/" (a
// method may come first, "GET /debug/x"); any other pattern is a programming
// error and panics, as http.ServeMux does for a malformed one.
func (s *Service) HandleDebug(pattern string, handler http.Handler) {
	path := pattern
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		path = strings.TrimLeft(rest, " \t")
	}
	if !strings.HasPrefix(path, "/debug/") {
		panic(fmt.Sprintf("operable: HandleDebug pattern %q is not under /debug/", pattern))
	}
	s.debug.Handle(pattern, handler)
}

// MaskSecret makes the logger mask sec's value wherever it appears, for a
// secret the service obtained outside its configuration.
func (s *Service) MaskSecret(sec secrets.Secret) { s.known.AddSecret(sec) }

// Flags returns the current feature flags of FLAGS_FILE, which is watched
// and reloaded while the service runs; nil (every evaluation answers the
// caller's default) when none was given. Call it at each use rather than
// keeping the result, to see reloads.
func (s *Service) Flags() *featureflags.Set {
	if s.flags == nil {
		return nil
	}
	return s.flags.Set()
}

// Health returns the service's checks, for serving them elsewhere too (for
// example over gRPC with health/grpchealth).
func (s *Service) Health() *health.Checker { return s.checks }

// AddCheck registers a health check. See [health.Check] for its fields.
func (s *Service) AddCheck(c health.Check) error { return s.checks.Add(c) }

// Go registers a background worker, run for the life of the service; its
// context is cancelled when the servers have stopped. See
// [shutdown.Lifecycle.Go].
func (s *Service) Go(name string, run func(ctx context.Context) error) { s.life.Go(name, run) }

// OnStop registers a hook run at shutdown, after the servers and workers
// stopped, in reverse order of registration. See [shutdown.Hook].
func (s *Service) OnStop(h shutdown.Hook) { s.life.OnStop(h) }

// Stopping returns a channel closed when the servers begin to stop, after
// the drain delay. Long-lived handlers (server-sent events, watches,
// hijacked connections) select on it and return, so that they do not hold
// up the graceful stop; see [shutdown.Lifecycle.Stopping].
func (s *Service) Stopping() <-chan struct{} { return s.life.Stopping() }

// Stop starts the shutdown sequence as SIGTERM would.
func (s *Service) Stop() { s.life.Stop() }

// Run binds both listeners, serves until a signal, ctx's end or [Service.Stop],
// and then runs the shutdown sequence. It returns nil after a clean stop.
func (s *Service) Run(ctx context.Context) error {
	adminLn, err := listen(ctx, "admin", s.cfg.AdminAddr)
	if err != nil {
		return err
	}
	appLn, err := listen(ctx, "app", s.cfg.HTTPAddr)
	if err != nil {
		_ = adminLn.Close()
		return err
	}
	errorLog := slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)
	// The admin server is registered first so that it stops last: probes
	// and metrics answer until the application has drained.
	s.life.Serve("admin", newServer(s.adminHandler(), errorLog), adminLn)
	s.life.Serve("app", newServer(s.appHandler(), errorLog), appLn)
	for _, l := range []struct {
		name string
		ln   net.Listener
	}{{"admin", adminLn}, {"app", appLn}} {
		s.logger.Info("listening", slog.String("listener", l.name), slog.String("addr", l.ln.Addr().String()))
	}
	return s.life.Run(ctx)
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
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
	return srv
}

// ExitCode maps Run's or New's error to the process exit code of the
// contract: 0 for nil, 78 (EX_CONFIG) for bad configuration, 1 otherwise.
// (130, for a forced stop, is used by the shutdown sequence itself.)
func ExitCode(err error) int {
	var cerr *config.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cerr):
		return 78
	default:
		return 1
	}
}

// Main runs a service from main: it builds it with [New], calls setup to
// register routes and checks, runs it, logs why it stopped and exits with
// [ExitCode]. It never returns. A configuration error is logged as one JSON
// line on stdout listing every problem.
func Main(opts Options, setup func(*Service) error) {
	if len(os.Args) == 2 && strings.HasPrefix(os.Args[1], "-help-config") {
		os.Exit(printConfigReference(opts, os.Args[1]))
	}
	os.Exit(run(context.Background(), opts, setup))
}

// printConfigReference writes the variables the service reads, the SDK's
// and its own, with types, defaults and descriptions: as text for
// "-help-config", as Markdown for "-help-config=markdown".
func printConfigReference(opts Options, arg string) int {
	out := opts.Stdout
	if out == nil {
		out = os.Stdout
	}
	empty := config.Options{Environ: map[string]string{}}
	fields := config.Describe(&Config{}, empty)
	if opts.Config != nil {
		fields = append(fields, config.Describe(reflect.New(reflect.TypeOf(opts.Config).Elem()).Interface(), empty)...)
	}
	write := config.WriteText
	switch arg {
	case "-help-config":
	case "-help-config=markdown":
		write = config.WriteMarkdown
	default:
		fmt.Fprintln(os.Stderr, "usage: -help-config or -help-config=markdown")
		return 2
	}
	if err := write(out, fields); err != nil {
		return 1
	}
	return 0
}

func run(ctx context.Context, opts Options, setup func(*Service) error) int {
	s, err := New(ctx, opts)
	if err != nil {
		fallback, _ := logging.New(logging.Options{Writer: opts.Stdout, Service: opts.Name})
		msg := "cannot start"
		if ExitCode(err) == 78 {
			msg = "invalid configuration"
		}
		fallback.Error(msg, slog.Any("error", err))
		return ExitCode(err)
	}
	if setup != nil {
		if err := setup(s); err != nil {
			s.logger.Error("setup failed", slog.Any("error", err))
			return ExitCode(err)
		}
	}
	if err := s.Run(ctx); err != nil {
		s.logger.Error("service stopped with errors", slog.Any("error", err))
		return ExitCode(err)
	}
	return 0
}
