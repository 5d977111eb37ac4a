package main_test

// Integration tests against real servers: an OpenTelemetry Collector
// (scripts/otelcol.sh builds it) receives the service's spans over OTLP, and
// a Prometheus server (scripts/prometheus.sh installs it) scrapes its
// /metrics. make test sets OTELCOL_BIN and PROMETHEUS_DIR and
// OPERABLE_INTEGRATION=1; a plain go test without them skips these tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/testserver"
)

func TestSpansReachARealCollector(t *testing.T) {
	t.Parallel()
	bin := testserver.Tool(t, "OTELCOL_BIN")
	otlp := testserver.FreeAddr(t)
	config := filepath.Join(t.TempDir(), "otelcol.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
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
`, otlp)), 0o600); err != nil {
		t.Fatal(err)
	}
	collector := testserver.Start(t, otlp, bin, "--config", "file:"+config)

	const apiKey = "k3y-that-must-not-reach-the-collector"
	p := start(t, "OTEL_TRACES_EXPORTER=otlp", "OTEL_LOGS_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlp,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_SERVICE_NAME=example-under-test",
		"API_KEY="+apiKey, "LOG_LEVEL=debug")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	code, _ := p.Get(p.AppURL, "/items/42", "traceparent: 00-"+traceID+"-00f067aa0ba902b7-01")
	if code != http.StatusNotFound {
		t.Fatalf("GET /items/42 = %d", code)
	}
	// The access-log line carries the same trace id.
	line := p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "request" })
	if line["trace_id"] != traceID {
		t.Errorf("access log trace_id = %v, want the caller's %s", line["trace_id"], traceID)
	}
	// A rejected write logs its headers at debug: the collector gets the
	// record, masked like stdout's.
	req, _ := http.NewRequest(http.MethodPost, p.AppURL+"/items?key="+apiKey, strings.NewReader(`{"name":"x"}`))
	req.Header.Set("X-Debug", "wrong-"+apiKey) // a header no key rule knows: only the known value masks it
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "rejected credentials" })
	p.Signal(syscall.SIGTERM) // the stop flushes the spans and log records
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	waitFor(t, 10*time.Second, func() bool {
		out := collector.Output.String()
		return strings.Contains(out, traceID) && strings.Contains(out, "GET /items/{id}") &&
			strings.Contains(out, "example-under-test") && strings.Contains(out, "rejected credentials")
	})
	if strings.Contains(collector.Output.String(), apiKey) {
		t.Error("the collector received the API key")
	}
}

func TestPrometheusScrapesTheService(t *testing.T) {
	t.Parallel()
	dir := testserver.Tool(t, "PROMETHEUS_DIR")
	p := start(t)
	admin := strings.TrimPrefix(p.AdminURL, "http://")

	// promtool accepts the exposition.
	_, exposition := p.Get(p.AdminURL, "/metrics")
	check := exec.Command(filepath.Join(dir, "promtool"), "check", "metrics")
	check.Stdin = strings.NewReader(exposition)
	if out, err := check.CombinedOutput(); err != nil {
		if problems := lintProblems(string(out)); len(problems) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, strings.Join(problems, "\n"))
		}
	}

	web := testserver.FreeAddr(t)
	config := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: example
    static_configs:
      - targets: [%q]
`, admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	testserver.Start(t, web, filepath.Join(dir, "prometheus"), "--config.file="+config,
		"--storage.tsdb.path="+t.TempDir(), "--web.listen-address="+web)

	const n = 25
	for i := range n {
		p.Get(p.AppURL, fmt.Sprintf("/items/%d", i))
	}
	query := `sum(http_server_request_duration_seconds_count{http_route="/items/{id}"})`
	var last string
	waitFor(t, 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+web+"/api/v1/query?query="+url.QueryEscape(query), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data.Result) == 0 {
			return false
		}
		last = fmt.Sprint(body.Data.Result[0].Value[1])
		return last == fmt.Sprint(n)
	})
	t.Logf("PromQL %s = %s", query, last)
}

// semconvNames are promtool's lint findings against names the
// OpenTelemetry semantic conventions fix, and the Prometheus exporter
// keeps: db.client.connection.count is an up-down counter named so by
// the database conventions, exported as the gauge db_client_connection_count.
var semconvNames = []string{
	`db_client_connection_count non-histogram and non-summary metrics should not have "_count" suffix`,
}

// lintProblems returns promtool check metrics' findings but those of
// semconvNames.
func lintProblems(out string) []string {
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !slices.Contains(semconvNames, strings.TrimSpace(l)) {
			problems = append(problems, l)
		}
	}
	return problems
}
