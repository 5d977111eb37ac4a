package logging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/logging"
)

func parseLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(b)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerPassesSlogtest(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if err := slogtest.TestHandler(l.Handler(), func() []map[string]any { return parseLines(t, &buf) }); err != nil {
		t.Error(err)
	}
}

// TestContextHandlerPassesSlogtest: the context handler keeps the
// attributes and groups itself and rebuilds each record; slog's rules for
// them still hold.
func TestContextHandlerPassesSlogtest(t *testing.T) {
	var buf bytes.Buffer
	h := logging.NewContextHandler(slog.NewJSONHandler(&buf, nil))
	if err := slogtest.TestHandler(h, func() []map[string]any { return parseLines(t, &buf) }); err != nil {
		t.Error(err)
	}
}

// TestLoggerWithASinkPassesSlogtest: beside a sink, both stdout and the
// sink follow slog's rules.
func TestLoggerWithASinkPassesSlogtest(t *testing.T) {
	var stdout, sink bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &stdout, Sinks: []logging.Sink{{Handler: slog.NewJSONHandler(&sink, nil)}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, buf := range map[string]*bytes.Buffer{"stdout": &stdout, "sink": &sink} {
		stdout.Reset()
		sink.Reset()
		if err := slogtest.TestHandler(l.Handler(), func() []map[string]any { return parseLines(t, buf) }); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRecordHasTheContractKeys(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &buf, Service: "svc", Version: "v1.2.3", Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := logging.ContextWithRequestID(context.Background(), "req-1")
	l.InfoContext(ctx, "hello", "k", 1)
	lines := parseLines(t, &buf)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1", len(lines))
	}
	m := lines[0]
	for k, want := range map[string]any{"level": "INFO", "msg": "hello", "service": "svc", "version": "v1.2.3", "env": "staging", "request_id": "req-1", "k": 1.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	ts, _ := m["time"].(string)
	parsed, err := time.Parse(time.RFC3339, ts)
	frac := ""
	if i := strings.IndexByte(ts, '.'); i > 0 {
		frac = strings.TrimSuffix(ts[i+1:], "Z")
	}
	if err != nil || !strings.HasSuffix(ts, "Z") || len(frac) > 3 {
		t.Errorf("time = %q, want RFC 3339 UTC at millisecond precision", ts)
	}
	if time.Since(parsed) > time.Minute {
		t.Errorf("time = %q is not now", ts)
	}
}

func TestLevelVarChangesTheLevelAtRunTime(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	l, _ := logging.New(logging.Options{Writer: &buf, Level: lv})
	l.Info("dropped")
	lv.Set(slog.LevelDebug)
	l.Debug("kept")
	if got := buf.String(); strings.Contains(got, "dropped") || !strings.Contains(got, "kept") {
		t.Errorf("output %q, want only the record logged after the change", got)
	}
}

func TestNewRejectsUnknownFormat(t *testing.T) {
	if _, err := logging.New(logging.Options{Format: "xml"}); err == nil || !strings.HasPrefix(err.Error(), "logging: ") {
		t.Errorf("New(xml) = %v, want a logging: error", err)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := logging.ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := logging.ParseLevel("loud"); err == nil {
		t.Error(`ParseLevel("loud") succeeded`)
	}
}

func TestRequestIDs(t *testing.T) {
	long := strings.Repeat("a", 129)
	cases := []struct {
		name, in string
		keep     bool
	}{
		{"printable kept", "abc-123_XYZ.:/", true},
		{"128 bytes kept", long[:128], true},
		{"129 bytes replaced", long, false},
		{"space replaced", "a b", false},
		{"control byte replaced", "a\x01b", false},
		{"non-ASCII replaced", "idé", false},
		{"missing made", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var seen string
			h := logging.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = logging.RequestID(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if c.in != "" {
				req.Header.Set("X-Request-ID", c.in)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			echoed := rec.Header().Get("X-Request-ID")
			if echoed != seen || seen == "" {
				t.Errorf("context id %q, echoed %q: want the same non-empty id", seen, echoed)
			}
			if (seen == c.in) != c.keep {
				t.Errorf("id %q for input %q; keep = %v", seen, c.in, c.keep)
			}
		})
	}
}

func TestAccessLogWritesOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	l, _ := logging.New(logging.Options{Writer: &buf})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	})
	h := logging.RequestIDs(logging.AccessLog(l)(mux))
	req := httptest.NewRequest("GET", "/items/7", nil)
	req.Header.Set("X-Request-ID", "rid")
	h.ServeHTTP(httptest.NewRecorder(), req)
	lines := parseLines(t, &buf)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1", len(lines))
	}
	m := lines[0]
	for k, want := range map[string]any{"msg": "request", "method": "GET", "route": "/items/{id}", "status": 418.0, "bytes": 15.0, "request_id": "rid"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if d, ok := m["duration"].(float64); !ok || d < 0 {
		t.Errorf("duration = %v, want seconds", m["duration"])
	}
}

// syncWriter is a buffer safe for the concurrent writes of sinks.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func slogtestHandler(h slog.Handler, buf *bytes.Buffer) error {
	return slogtest.TestHandler(h, func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err == nil {
				out = append(out, m)
			}
		}
		return out
	})
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
