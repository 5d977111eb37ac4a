package operable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
)

// Planted secrets: each must be masked in every output.
const (
	plantedAdminToken = "pl4nt3d-admin-token-0123" // a config secret: a known value
	plantedResource   = "pl4nt3d-resource-token"   // under a sensitive key of the resource
	plantedQuery      = "pl4nt3d-query-key"        // a sensitive query parameter of url.full
	plantedHeader     = "pl4nt3d-header-value"     // a secret-ish header attribute
	plantedPassword   = "pl4nt3d-log-password"     // a log attribute under a sensitive key
	plantedJWT        = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbDRudDNkIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

// plantedMarks are what no output may hold: the planted values, and the
// marker they share (which also catches a partial leak).
var plantedMarks = []string{"pl4nt3d", plantedJWT, "eyJzdWIiOiJwbDRudDNkIn0"}

// otlpSink is an OTLP/http collector that keeps the bodies it gets, by
// path: protobuf, uncompressed, so that strings appear in them verbatim.
type otlpSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte
}

func newOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	c := &otlpSink{bodies: map[string][]byte{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies[r.URL.Path] = append(c.bodies[r.URL.Path], b...)
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *otlpSink) body(path string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.bodies[path])
}

// serveWithPlantedSecrets runs a service that puts secrets where services
// put them by accident (a JWT in a path, a key in a query string, a header
// attribute, a config secret in an event and a log line, a token in
// OTEL_RESOURCE_ATTRIBUTES), exporting over OTLP/http to endpoint; it
// serves one request, scrapes /metrics, closes the service (which flushes
// the exporters) and returns what /metrics and stdout held.
func serveWithPlantedSecrets(t *testing.T, endpoint string) (metrics, stdout string) {
	t.Helper()
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Stdout: &out, Environ: loopbackEnv(
		"ADMIN_TOKEN", plantedAdminToken,
		"OTEL_TRACES_EXPORTER", "otlp", "OTEL_LOGS_EXPORTER", "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT", endpoint,
		"OTEL_RESOURCE_ATTRIBUTES", "auth.token="+plantedResource+",team=ops",
	)})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		span.SetAttributes(
			attribute.String("url.full", "https://api.example/v1/items?api_key="+plantedQuery+"&page=2"),
			attribute.StringSlice("http.request.header.x-secret-key", []string{plantedHeader}),
		)
		span.AddEvent("called upstream", trace.WithAttributes(attribute.String("detail", "with "+plantedAdminToken)))
		s.Logger().InfoContext(r.Context(), "calling upstream", "password", plantedPassword, "note", "with "+plantedAdminToken)
	})
	rec := httptest.NewRecorder()
	s.AppHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/items/"+plantedJWT, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /items/… = %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.Body.String(), out.String()
}

// checkNoPlanted fails the test for each output that holds a planted
// value, or that masks nothing (so that an empty output proves nothing).
func checkNoPlanted(t *testing.T, outputs map[string]string) {
	t.Helper()
	for name, out := range outputs {
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s: nothing masked, so nothing was checked:\n%q", name, out)
		}
		for _, m := range plantedMarks {
			if strings.Contains(out, m) {
				t.Errorf("%s holds %q:\n%q", name, m, out)
			}
		}
	}
}

// TestNoPlantedSecretLeavesThroughTelemetry searches the planted secrets
// in what leaves the service: the spans and log records an OTLP collector
// receives, the resource they carry, target_info on /metrics, and stdout.
func TestNoPlantedSecretLeavesThroughTelemetry(t *testing.T) {
	col := newOTLPSink(t)
	metrics, stdout := serveWithPlantedSecrets(t, col.URL)
	outputs := map[string]string{
		"spans sent to the collector":       string(col.body("/v1/traces")),
		"log records sent to the collector": string(col.body("/v1/logs")),
		"/metrics":                          metrics,
		"stdout":                            stdout,
	}
	checkNoPlanted(t, outputs)
	for name, want := range map[string]string{
		"spans sent to the collector": "/items/{id}", "log records sent to the collector": "calling upstream",
		"/metrics": `auth_token="[REDACTED]"`,
	} {
		if !strings.Contains(outputs[name], want) {
			t.Errorf("%s lacks %s", name, want)
		}
	}
}

// TestRealCollectorReceivesNoPlantedSecret does the same against a real
// OpenTelemetry Collector (make test gives OTELCOL_BIN), which prints
// every span, log record and resource it receives with its debug exporter.
func TestRealCollectorReceivesNoPlantedSecret(t *testing.T) {
	bin := testserver.Tool(t, "OTELCOL_BIN")
	otlp := testserver.FreeAddr(t)
	config := filepath.Join(t.TempDir(), "otelcol.yaml")
	if err := os.WriteFile(config, []byte(`receivers:
  otlp:
    protocols:
      http:
        endpoint: `+otlp+`
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
    logs:
      receivers: [otlp]
      exporters: [debug]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	collector := testserver.Start(t, otlp, bin, "--config", "file:"+config)
	serveWithPlantedSecrets(t, "http://"+otlp)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(collector.Output.String(), "calling upstream") ||
		!strings.Contains(collector.Output.String(), "/items/{id}") {
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not print the span and the log record:\n%s", collector.Output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkNoPlanted(t, map[string]string{"what the collector received": collector.Output.String()})
}

// TestOpenTelemetryDiagnosticsAreRedactedLogLines checks that the
// OpenTelemetry SDK's own diagnostics, its error handler and its internal
// logger (process-wide settings), reach the service's logs as JSON lines,
// masked, rather than stderr.
func TestOpenTelemetryDiagnosticsAreRedactedLogLines(t *testing.T) {
	var stdout syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Stdout: &stdout, Environ: loopbackEnv(
		"ADMIN_TOKEN", plantedAdminToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	otel.Handle(errors.New("export to https://u:pl4nt3d@collector failed with " + plantedAdminToken))
	_ = s.Meter("") // the SDK warns, through its logger, of an empty meter name

	var errorLine, warnLine map[string]any
	for line := range strings.Lines(stdout.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("a line that is not JSON: %q", line)
			continue
		}
		if m["logger"] != "opentelemetry" {
			continue
		}
		switch m["level"] {
		case "ERROR":
			errorLine = m
		case "WARN":
			warnLine = m
		}
	}
	if errorLine == nil || warnLine == nil {
		t.Fatalf("the SDK's error or warning is not in the logs:\n%s", stdout.String())
	}
	if msg, _ := errorLine["error"].(string); !strings.Contains(msg, "[REDACTED]") || strings.Contains(msg, "pl4nt3d") {
		t.Errorf("the SDK's error was logged unmasked: %v", errorLine)
	}
	if errorLine["service"] == nil || warnLine["msg"] != "Invalid Meter name." {
		t.Errorf("the SDK's lines lack the service's attributes or message: %v, %v", errorLine, warnLine)
	}
}
