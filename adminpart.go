package operable

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/secrets"
)

// The admin listener: the probes, /metrics, and the /debug/ pages behind
// the ADMIN_TOKEN guard; the pages of no part (build info, pprof); the
// helpers every part's /debug/ page uses.

// adminHandler serves the probes, /metrics, and /debug/ behind the guard.
func (s *Service) adminHandler() http.Handler {
	mux := http.NewServeMux()
	ho := health.HandlerOptions{Authorized: s.authorized}
	for path, g := range map[string]health.Group{"/livez": health.Liveness, "/readyz": health.Readiness, "/startupz": health.Startup} {
		h := s.checks.Handler(g, ho)
		mux.Handle("GET "+path, h)
		mux.Handle("GET "+path+"/{check}", h)
	}
	mux.Handle("GET /metrics", s.tel.MetricsHandler())
	mux.Handle("/debug/", s.guard(s.debug))
	return mux
}

// routeAdmin is the last step: the SDK's own /debug/ pages that belong to
// no part (build info, pprof). The parts registered theirs as they were
// built.
func (s *Service) routeAdmin(context.Context, Options) error {
	s.debug.HandleFunc("GET /debug/info", s.serveInfo)
	// net/http/pprof also registers these on http.DefaultServeMux when
	// imported; the SDK never serves that mux.
	s.debug.HandleFunc("/debug/pprof/", pprof.Index)
	s.debug.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	s.debug.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.debug.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	s.debug.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return nil
}

// authorized reports whether r carries "Authorization: Bearer <ADMIN_TOKEN>".
// The token is compared in constant time; with no token configured, nobody
// is authorized.
func (s *Service) authorized(r *http.Request) bool {
	if s.cfg.AdminToken.IsZero() {
		return false
	}
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return secrets.New(h[len(prefix):]).Equal(s.cfg.AdminToken)
}

// guard lets only authorized callers through. With no ADMIN_TOKEN it answers
// 404, as if the pages did not exist; with a token, a caller without it gets
// 401.
func (s *Service) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.cfg.AdminToken.IsZero():
			http.NotFound(w, r)
		case !s.authorized(r):
			w.Header().Set("WWW-Authenticate", `Bearer realm="operable admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// buildInfo is what /debug/info reports.
type buildInfo struct {
	Service     string    `json:"service"`
	Version     string    `json:"version"`
	Environment string    `json:"environment"`
	Commit      string    `json:"commit,omitempty"`
	CommitTime  string    `json:"commit_time,omitempty"`
	Modified    bool      `json:"modified,omitempty"`
	GoVersion   string    `json:"go_version"`
	StartTime   time.Time `json:"start_time"`
	// serviceFrom and versionFrom say where the defaults of SERVICE_NAME
	// and SERVICE_VERSION came from, for /debug/config.
	serviceFrom, versionFrom string
}

func readBuildInfo(opts Options) buildInfo {
	info := buildInfo{
		Service:     opts.Name,
		Version:     opts.Version,
		GoVersion:   runtime.Version(),
		StartTime:   time.Now().UTC(),
		serviceFrom: "Options.Name",
		versionFrom: "Options.Version",
	}
	if info.Service == "" {
		info.Service, info.serviceFrom = filepath.Base(os.Args[0]), "the executable's name"
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if info.Version == "" {
			info.Version, info.versionFrom = "(devel)", "no build info"
		}
		return info
	}
	if info.Version == "" {
		// "(devel)" when built without a module version
		info.Version, info.versionFrom = bi.Main.Version, "the build info"
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			info.Commit = kv.Value
		case "vcs.time":
			info.CommitTime = kv.Value
		case "vcs.modified":
			info.Modified = kv.Value == "true"
		}
	}
	return info
}

func (s *Service) serveInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.info)
}

// readChoice reads the one value of a PUT to a /debug/ page: a JSON object
// {"<field>":"value"}, or the bare value as a text body of at most 1 KiB.
// On a body it cannot read, it answers 400 and returns false.
func readChoice(w http.ResponseWriter, r *http.Request, field string) (string, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1024))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return "", false
	}
	var in map[string]string
	if json.Unmarshal(body, &in) == nil {
		return in[field], true
	}
	return strings.TrimSpace(string(body)), true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
