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
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// The admin listener: the probes, /metrics, and the /debug/ pages behind
// the ADMIN_TOKEN guard; the pages of no part (build info, pprof); the
// helpers every part's /debug/ page uses.

// adminHandler serves the probes, /metrics, and /debug/ behind the guard.
func (s *Service) adminHandler() http.Handler {
	mux := http.NewServeMux()
	ho := health.HandlerOptions{Authorized: s.authorized, Redact: func(text string) string { return logging.Mask(text, s.known) }}
	for path, g := range map[string]health.Group{"/livez": health.Liveness, "/readyz": health.Readiness, "/startupz": health.Startup} {
		h := s.checks.Handler(g, ho)
		mux.Handle("GET "+path, h)
		mux.Handle("GET "+path+"/{check}", h)
	}
	mux.Handle("GET /metrics", s.tel.MetricsHandler())
	mux.Handle("/debug/", s.guard(s.redactPages(s.debug)))
	return mux
}

// maxRedactedPage bounds a /debug/ page held in memory to be masked.
const maxRedactedPage = 16 << 20

// redactPages masks secret-shaped text and the known secret values in
// every text or JSON answer of the /debug/ pages (the parts', the
// service's own, pprof's index and command line), as the logs are masked:
// a value a page forgot to redact never leaves the process. Binary answers
// (profiles, traces) pass as they are; a text page over 16 MiB is refused
// (500) rather than sent unmasked.
func (s *Service) redactPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw := &maskingWriter{w: w, known: s.known, code: http.StatusOK}
		next.ServeHTTP(mw, r)
		mw.finish()
	})
}

// maskingWriter holds a text answer until the handler is done, then
// writes it masked; any other answer goes straight through.
type maskingWriter struct {
	w       http.ResponseWriter
	known   *logging.KnownValues
	code    int
	decided bool // whether the answer is text (buffered) or not
	text    bool
	buf     []byte
	over    bool
}

func (m *maskingWriter) Header() http.Header { return m.w.Header() }

// Unwrap lets http.ResponseController reach the connection: pprof extends
// the write deadline of a long profile through it.
func (m *maskingWriter) Unwrap() http.ResponseWriter { return m.w }

func (m *maskingWriter) WriteHeader(code int) {
	if !m.decided {
		m.code = code
	}
}

func (m *maskingWriter) decide(first []byte) {
	if m.decided {
		return
	}
	m.decided = true
	ct := m.w.Header().Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(first)
	}
	m.text = strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json")
	if !m.text {
		m.w.WriteHeader(m.code)
	}
}

func (m *maskingWriter) Write(b []byte) (int, error) {
	m.decide(b)
	if !m.text {
		return m.w.Write(b)
	}
	if len(m.buf)+len(b) > maxRedactedPage {
		m.over, m.buf = true, nil
	}
	if !m.over {
		m.buf = append(m.buf, b...)
	}
	return len(b), nil
}

// Flush lets a streaming page (a CPU profile) flush: it is binary, so it
// is not held.
func (m *maskingWriter) Flush() {
	if m.decided && !m.text {
		if f, ok := m.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (m *maskingWriter) finish() {
	switch {
	case m.decided && !m.text:
	case m.over:
		m.w.Header().Del("Content-Length")
		http.Error(m.w, "debug page too large to redact", http.StatusInternalServerError)
	default:
		m.decided = true
		body := logging.Mask(string(m.buf), m.known)
		m.w.Header().Del("Content-Length")
		m.w.WriteHeader(m.code)
		_, _ = io.WriteString(m.w, body)
	}
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
