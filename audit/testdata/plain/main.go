// Command plain is a service written with net/http and log/slog alone
// that keeps the contract the audit checks, so that the audit is shown to
// judge behaviour, not the SDK. BROKEN=<defect> breaks one rule: nodrain,
// rawpaths, leak, opendebug, notimeouts, livedb, plainclose, noroutelabel,
// or one of the gRPC listener's (grpc.go), which GRPC_ADDR starts.
// WORKER makes it a worker: a job loop that logs each job, and an app
// listener with no route (WORKER=noroutes: 404 to every path) or none
// (WORKER=noapp).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	broken   = os.Getenv("BROKEN")
	worker   = os.Getenv("WORKER")
	draining atomic.Bool
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	fs := flag.NewFlagSet("plain", flag.ContinueOnError)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(64)
	}
	switch os.Getenv("LOG_LEVEL") {
	case "", "debug", "info", "warn", "error":
	default:
		log.Error("bad configuration", "variable", "LOG_LEVEL", "reason", "must be one of debug, info, warn, error")
		os.Exit(78)
	}
	drain, _ := time.ParseDuration(os.Getenv("SHUTDOWN_DRAIN_DELAY"))
	token := os.Getenv("ADMIN_TOKEN")

	var ready atomic.Bool
	ready.Store(true)
	m := &metrics{counts: map[string]int{}, rpc: map[string]int{}}

	app := http.NewServeMux()
	if worker == "" {
		app.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello\n")) })
	}
	admin := http.NewServeMux()
	probe := func(checks map[string]string, failing func() bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/health+json")
			status, code := "pass", http.StatusOK
			if failing != nil && failing() {
				status, code = "fail", http.StatusServiceUnavailable
			}
			body := map[string]any{"status": status}
			if _, ok := r.URL.Query()["verbose"]; ok {
				cs := map[string]any{}
				for name, kind := range checks {
					if r.URL.Query().Get("exclude") != name {
						cs[name] = []map[string]string{{"status": "pass", "componentType": kind}}
					}
				}
				body["checks"] = cs
			}
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(body)
		}
	}
	live := map[string]string{"ping": "component"}
	if broken == "livedb" {
		live["db"] = "datastore"
	}
	admin.HandleFunc("GET /livez", probe(live, nil))
	admin.HandleFunc("GET /readyz", probe(map[string]string{"ping": "component", "db": "datastore"}, func() bool { return !ready.Load() }))
	admin.HandleFunc("GET /startupz", probe(map[string]string{"ping": "component"}, nil))
	admin.HandleFunc("GET /metrics", m.serve)
	admin.HandleFunc("/debug/", func(w http.ResponseWriter, r *http.Request) {
		if broken != "opendebug" && (token == "" || r.Header.Get("Authorization") != "Bearer "+token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("{}"))
	})

	listeners := []struct {
		name, addr string
		h          http.Handler
	}{{"admin", os.Getenv("ADMIN_ADDR"), admin}, {"app", os.Getenv("HTTP_ADDR"), observe(app, m, log)}}
	if worker == "noapp" {
		listeners = listeners[:1]
	}
	servers := map[string]*http.Server{}
	for _, l := range listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			log.Error("listen", "error", err)
			os.Exit(1)
		}
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: time.Second}
		if broken == "notimeouts" {
			srv.ReadHeaderTimeout = 0
		}
		servers[l.name] = srv
		go func() { _ = srv.Serve(ln) }()
		log.Info("listening", "listener", l.name, "addr", ln.Addr().String(), "scheme", "http")
	}

	g := startGRPC(log, m)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	jobs := make(chan struct{})
	go func() { // the worker's job loop: it ends with the stop
		defer close(jobs)
		if worker == "" {
			return
		}
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
				log.Info("job done", "job", n)
			}
		}
	}()
	<-ctx.Done()
	stop()
	<-jobs
	log.Info("shutdown started")
	if broken == "plainclose" || broken == "nodrain" {
		for _, srv := range servers {
			_ = srv.Close()
		}
		log.Info("shutdown complete")
		return
	}
	// From the first instant of the drain, each answer closes its
	// connection (observe sets Connection: close), so no client is left
	// writing on one that Shutdown closes. SetKeepAlivesEnabled(false)
	// would close the idle ones at once, under their clients' next request.
	ready.Store(false)
	draining.Store(true)
	time.Sleep(max(drain, 200*time.Millisecond))
	g.stop()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, name := range []string{"app", "admin"} {
		if srv := servers[name]; srv != nil {
			errs = append(errs, srv.Shutdown(stopCtx))
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("shutdown", "error", err)
		os.Exit(1)
	}
	log.Info("shutdown complete")
}

// metrics is a hand-written duration count by method, route and status.
type metrics struct {
	mu     sync.Mutex
	counts map[string]int
	rpc    map[string]int // the RPC calls by label set
}

func (m *metrics) add(method, route string, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	labels := fmt.Sprintf(`http_request_method=%q,http_response_status_code="%d"`, method, status)
	if route != "" {
		labels += fmt.Sprintf(`,http_route=%q`, route)
	}
	m.counts[labels]++
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# TYPE http_server_request_duration_seconds histogram\n")
	for labels, n := range m.counts {
		fmt.Fprintf(&b, "http_server_request_duration_seconds_count{%s} %d\n", labels, n)
	}
	if len(m.rpc) > 0 {
		b.WriteString("# TYPE rpc_server_call_duration_seconds histogram\n")
	}
	for labels, n := range m.rpc {
		fmt.Fprintf(&b, "rpc_server_call_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, n)
		fmt.Fprintf(&b, "rpc_server_call_duration_seconds_count{%s} %d\n", labels, n)
	}
	_, _ = w.Write([]byte(b.String()))
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func observe(next *http.ServeMux, m *metrics, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		_, route := next.Handler(r)
		next.ServeHTTP(rec, r)
		if broken == "rawpaths" {
			route = r.URL.Path
		}
		if broken == "noroutelabel" {
			m.add(r.Method, "", rec.status)
		} else {
			m.add(r.Method, route, rec.status)
		}
		attrs := []any{"request_id", r.Header.Get("X-Request-ID"), "method", r.Method, "route", route,
			"status", rec.status, "duration", time.Since(start).Seconds()}
		if broken == "leak" {
			attrs = append(attrs, "authorization", r.Header.Get("Authorization"))
		}
		log.Info("request", attrs...)
	})
}
