package operable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
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
	// [config.LoadAll]), and its problems are reported together with the
	// SDK's.
	Config any
	// ConfigPrefix, when set, is put before the variable names of
	// Options.Config's fields, as [config.Prefixed] does: with "ORDERS_",
	// a field tagged `env:"MAX_WORK"` is ORDERS_MAX_WORK in the
	// environment and "orders: {max_work: 5}" in a config file, and every
	// unknown ORDERS_* variable is a config error (exit 78) naming the
	// closest known one, in every environment. The SDK's own variables
	// keep their names. Upper-case letters, digits and "_", ending with
	// "_". Default: none, and then only a variable a typo away from a
	// known one is reported.
	ConfigPrefix string
	// Environ replaces the process environment, for tests: every part of
	// the service (configuration, OTEL_* and the exporters, VAULT_*,
	// FLAG_<KEY>) reads this map, with the exceptions package telemetry
	// documents (the OpenTelemetry SDK's own OTEL_RESOURCE_ATTRIBUTES merge
	// and OTEL_GO_X_* switches). Default: nil, the process environment,
	// read once by New.
	Environ map[string]string
	// Stdout receives the logs. Default: os.Stdout.
	Stdout io.Writer
	// Stderr receives the console exporters' output (OTEL_TRACES_EXPORTER
	// or OTEL_METRICS_EXPORTER set to console). Default: os.Stderr.
	Stderr io.Writer
	// Telemetry, when set, adjusts the telemetry options before the
	// provider is built, for tests and custom exports: it may add metric
	// readers and span processors. telemetrytest.Observer.Attach observes
	// a whole service this way. Default: nil.
	Telemetry func(*telemetry.Options)
}

// Service is one operable service: an application listener, an admin
// listener, the logger, the health checks, the metrics and the lifecycle,
// and the parts its configuration asks for (config reload, feature flags,
// Vault, circuit breakers). Register routes, checks, workers and hooks
// before calling Run; after Run starts, only the read methods may be called.
// A service that is built but never run is released with [Service.Close].
type Service struct {
	// The core, built first (startup.go's steps "config" to "health").
	env    map[string]string // the one environment every part reads
	cfg    Config
	info   buildInfo
	tel    *telemetry.Provider
	logger *slog.Logger
	level  *slog.LevelVar
	known  *logging.KnownValues
	checks *health.Checker
	life   *shutdown.Lifecycle
	app    *http.ServeMux // the application's routes
	debug  *http.ServeMux // the /debug/ pages, behind the guard

	// The parts, each in the file named for it.
	config   configPart       // configpart.go
	flags    flagsPart        // flagspart.go
	breakers breakersPart     // breakerspart.go
	vault    vaultPart        // vaultpart.go
	tls      tlsPart          // tlspart.go
	sighup   sighupPart       // sighuppart.go
	tasks    startupTasksPart // startuptaskspart.go
	grpc     grpcPart         // grpcpart.go

	// release undoes what start-up built when a later step fails, when
	// Close is called, or when Run fails before serving. Once the service
	// runs, the stop sequence ends the same things itself (the telemetry
	// hook, the Vault worker's end); state says which of the two applies.
	mu        sync.Mutex
	state     runState
	release   releaser
	listeners []net.Listener // bound by Run: admin, then app
}

type runState int

const (
	built runState = iota
	running
	closed
)

// New loads the configuration and builds the service; ctx bounds the work
// done at start-up. It returns a *config.Error (exit code 78, see
// [ExitCode]) that lists every problem when the configuration, OTEL_*
// variables included, is bad. Whatever step fails, everything built before
// it is released: telemetry shut down, a Vault token revoked.
func New(ctx context.Context, opts Options) (*Service, error) {
	return build(ctx, opts, "")
}

// Close releases a service that was built and will not be run: the
// telemetry pipelines are flushed and shut down and the Vault token it
// logged in with is revoked. Run's stop sequence releases the same; Close
// after Run has started, or a second Close, does nothing and returns nil.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != built {
		return nil
	}
	s.state = closed
	if err := s.release.release(ctx); err != nil {
		return fmt.Errorf("operable: close: %w", err)
	}
	return nil
}

// errClosed is Run's answer after Close.
var errClosed = errors.New("operable: the service was closed")

// startRun marks the service as running: from now on Close does nothing,
// and the stop sequence (or abandon, when Run fails before serving) ends
// what start-up built.
func (s *Service) startRun() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case running:
		return shutdown.ErrRunTwice
	case closed:
		return errClosed
	}
	s.state = running
	return nil
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

// Meter returns a meter of the service's meter provider for its own
// instruments (a business metric such as orders placed), named for the
// instrumentation scope, usually the package path. They are exported with
// the SDK's: on /metrics and, with OTEL_METRICS_EXPORTER, over OTLP, under
// the service's resource.
func (s *Service) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return s.tel.MeterProvider().Meter(name, opts...)
}

// Tracer returns a tracer of the service's tracer provider for its own
// spans. A span started from a request's context is a child of the
// request's server span; with no trace exporter it records nothing and
// costs nothing, and still carries the caller's trace context.
func (s *Service) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return s.tel.TracerProvider().Tracer(name, opts...)
}

// Transport wraps next (http.DefaultTransport when nil) with the client
// side of the telemetry: a client span, trace context propagation, and
// http.client.request.duration. Use it for every outbound HTTP call.
func (s *Service) Transport(next http.RoundTripper) http.RoundTripper {
	return s.tel.Transport(next)
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
