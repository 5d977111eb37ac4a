package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/checkers"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/shutdown"
)

// Validate is called by the SDK after loading; its problems are reported
// with the SDK's own.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxWork <= 0 {
		errs = append(errs, errors.New("MAX_WORK must be positive"))
	}
	if c.MaxItems <= 0 {
		errs = append(errs, errors.New("MAX_ITEMS must be positive"))
	}
	if c.AuditURL != "" {
		if u, err := url.Parse(c.AuditURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("AUDIT_URL must be an http or https URL"))
		}
	}
	if c.AuditInterval <= 0 || c.AuditFlushTimeout <= 0 {
		errs = append(errs, errors.New("AUDIT_INTERVAL and AUDIT_FLUSH_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}

// routes opens the items' database (its migrations run as a start-up task),
// registers the example's routes, its health checks, and, when AUDIT_URL is
// set, the audit worker and its final flush at shutdown.
func routes(ctx context.Context, s *operable.Service, cfg *Config) error {
	// The service's own instruments come from its meter: exported with the
	// SDK's, under the service's resource (items_created_total on /metrics).
	created, err := s.Meter("github.com/operable-go/operable/examples/service").Int64Counter("items.created",
		metric.WithDescription("Items created through POST /items."), metric.WithUnit("{item}"))
	if err != nil {
		return err
	}
	db, err := openItems(ctx, s, cfg.Database)
	if err != nil {
		return err
	}
	st := &store{db: db, log: s.Logger(), max: cfg.MaxItems, created: created}
	// The same items over gRPC, when GRPC_ADDR is set (grpc.go).
	registerGRPC(s, st, cfg)
	if cfg.AuditURL != "" {
		// Calls to the upstream go through a circuit breaker, so that a
		// failing upstream is left alone until it recovers, and are
		// counted, timed and traced (rejections included).
		b, err := s.Breaker("audit", cfg.AuditBreaker, nil)
		if err != nil {
			return err
		}
		st.audit = newAuditLog(cfg.AuditURL, cfg.AuditInterval, s.Logger(), s.Transport(b.Transport(nil)))
		s.Go("audit", st.audit.run)
		// Runs after the servers stopped, so no change can come after it.
		s.OnStop(shutdown.Hook{Name: "audit flush", Timeout: cfg.AuditFlushTimeout, Func: st.audit.flush})
		// Whether the last send went through, and whether the upstream
		// answers at all (a HEAD through the audit client's own pool, in the
		// background, so a slow upstream never slows a probe).
		for _, c := range []health.Check{
			{Name: "audit-sink", NonCritical: true, ComponentType: "http", Func: st.audit.check},
			{
				Name: "audit-upstream", NonCritical: true, ComponentType: "http",
				Interval: 10 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 2,
				Func: checkers.HTTP(st.audit.client, cfg.AuditURL, checkers.HTTPOptions{
					Method: http.MethodHead,
					OK:     func(status int) bool { return status < 500 }, // 405 still proves it is up
				}),
			},
		} {
			if err := s.AddCheck(c); err != nil {
				return err
			}
		}
	}
	// Start-up work runs once the service serves and before it reports
	// ready: /startupz and /readyz answer 503 until it is done.
	if err := s.AddStartupTask(operable.StartupTask{Name: "seed items", Timeout: 5 * time.Second, Func: func(ctx context.Context) error {
		return st.seed(ctx, cfg.SeedItems)
	}}); err != nil {
		return err
	}
	// A goroutine leak ends in a restart rather than in memory exhaustion.
	if err := s.AddCheck(health.Check{Name: "goroutines", Groups: health.Liveness, Func: checkers.Goroutines(50_000)}); err != nil {
		return err
	}
	// The settings that follow the config files at run time are read at
	// each request through the live handle; the others keep their start-up
	// values (tagged reload:"restart").
	live, err := operable.Live[Config](s)
	if err != nil {
		return err
	}
	s.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "world"
		}
		// Feature flags from FLAGS_FILE (see flags.yaml), read at each
		// request so that a reload of the file takes effect at once; the
		// user's name is the targeting key, so each user keeps one answer.
		user := featureflags.EvalContext{TargetingKey: name}
		msg := live.Load().Greeting + ", " + name
		if s.Flags().String("greeting-style", "classic", user) == "warm" {
			msg = "Welcome back, " + name
		}
		if s.Flags().Bool("loud-greeting", false, user) {
			msg = strings.ToUpper(msg)
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": msg})
	})
	s.HandleFunc("GET /items", st.list)
	s.Handle("POST /items", requireKey(s, cfg.APIKey, st.create))
	s.HandleFunc("GET /items/{id}", st.get)
	s.Handle("DELETE /items/{id}", requireKey(s, cfg.APIKey, st.delete))
	s.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		work(w, r, live.Load().MaxWork)
	})
	// The store warns (non-critical) when it is nearly full: the service
	// still takes traffic, and /readyz?verbose says why it is degraded.
	return s.AddCheck(health.Check{
		Name:          "items-capacity",
		Groups:        health.Readiness,
		NonCritical:   true,
		ComponentType: "datastore",
		Func:          st.checkCapacity,
	})
}

// requireKey lets a request through when key is unset or the request
// carries "Authorization: Bearer <key>" (compared in constant time).
func requireKey(s *operable.Service, key secrets.Secret, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !key.IsZero() {
			offered, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || !secrets.New(offered).Equal(key) {
				// The headers and URL help debug a misconfigured client; the
				// logger masks the credentials in them.
				s.Logger().LogAttrs(r.Context(), slog.LevelDebug, "rejected credentials",
					slog.Any("headers", r.Header), slog.String("url", r.URL.String()))
				w.Header().Set("WWW-Authenticate", `Bearer realm="items"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid API key is required"})
				return
			}
		}
		next(w, r)
	})
}

// work simulates slow work that honours cancellation: GET /work?duration=2s.
func work(w http.ResponseWriter, r *http.Request, maxWork time.Duration) {
	d, err := time.ParseDuration(r.URL.Query().Get("duration"))
	if err != nil || d < 0 || d > maxWork {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("duration must be a Go duration between 0 and %s", maxWork),
		})
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		writeJSON(w, http.StatusOK, map[string]string{"worked": d.String()})
	case <-r.Context().Done():
		// The client left; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

type item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
