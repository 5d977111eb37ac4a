package operable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable"
)

// otelChildEnv marks the process this test file starts as a service.
const otelChildEnv = "OPERABLE_TEST_OTEL_CHILD"

// TestOTELChild is not a test: it is the service the tests below run as a
// process of its own, so that the OpenTelemetry SDK reads the variables
// from a real process environment and prints to a real stderr. It exits
// with operable.Main's code; setup fails, so that a service that starts
// stops at once (exit 1).
func TestOTELChild(t *testing.T) {
	if os.Getenv(otelChildEnv) == "" {
		t.Skip("run by TestMalformedOTELVariablesExit78WithoutEcho")
	}
	os.Args = os.Args[:1]
	operable.Main(operable.Options{Name: "otel-child"}, func(context.Context, *operable.Service) error {
		return errors.New("setup stops the child here")
	})
}

// runOTELChild runs the service with the variables kv in its process
// environment (and no other OTEL_* variable) and returns its exit code,
// stdout and stderr.
func runOTELChild(t *testing.T, kv ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOTELChild$")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OTEL_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, otelChildEnv+"=1", "HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0",
		"OTEL_TRACES_EXPORTER=otlp", "OTEL_METRICS_EXPORTER=prometheus,otlp", "OTEL_LOGS_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TIMEOUT=300")
	for i := 0; i+1 < len(kv); i += 2 {
		cmd.Env = append(cmd.Env, kv[i]+"="+kv[i+1])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestMalformedOTELVariablesExit78WithoutEcho runs the service as a process
// with each malformed OTEL_* variable, a planted value in it: it must exit
// 78 with a problem naming the variable, and neither stdout nor stderr may
// hold the planted value; stderr must hold nothing but JSON lines (the
// OpenTelemetry SDK prints raw text there when it parses a value itself).
// The last case is a good environment, at the edges of each form: the
// service builds everything, the SDK reads the same variables, and stderr
// stays clean too.
func TestMalformedOTELVariablesExit78WithoutEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the service as processes")
	}
	cases := []struct {
		name string
		kv   []string
		want string // the variable named; "" for the good environment
	}{
		{"headers as HTTP", []string{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer pl4nt3d"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"headers with an empty entry", []string{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20pl4nt3d,"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"general headers bad, per-signal good", []string{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer pl4nt3d",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-a=1", "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-a=1",
			"OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-a=1"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"sampler argument", []string{"OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "pl4nt3d"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"sampler argument, default sampler", []string{"OTEL_TRACES_SAMPLER_ARG", "pl4nt3d"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"traces exporter", []string{"OTEL_TRACES_EXPORTER", "otlp,pl4nt3d"}, "OTEL_TRACES_EXPORTER"},
		{"resource attributes", []string{"OTEL_RESOURCE_ATTRIBUTES", "team=ops,pl4nt3d"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{"resource attributes with an empty entry", []string{"OTEL_RESOURCE_ATTRIBUTES", "auth.token=pl4nt3d,"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{"protocol", []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "pl4nt3d"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"endpoint", []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pl4nt3d@[::1"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"queue size with spaces", []string{"OTEL_BSP_MAX_QUEUE_SIZE", " 2048"}, "OTEL_BSP_MAX_QUEUE_SIZE"},
		{"metric interval with a unit", []string{"OTEL_METRIC_EXPORT_INTERVAL", "60spl4nt3d"}, "OTEL_METRIC_EXPORT_INTERVAL"},
		{"good values", []string{
			"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20pl4nt3d, x-tenant = ops",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=pl4nt3d",
			"OTEL_RESOURCE_ATTRIBUTES", " auth.token = pl4nt3d , team=ops",
			"OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", " 0.5 ",
			"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "localhost:1",
			"OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true",
			"OTEL_BSP_MAX_QUEUE_SIZE", "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10",
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runOTELChild(t, c.kv...)
			wantCode := 78
			if c.want == "" {
				wantCode = 1 // started, then setup failed
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, stdout, stderr)
			}
			if c.want != "" && !strings.Contains(stdout, c.want+":") {
				t.Errorf("stdout does not name %s:\n%s", c.want, stdout)
			}
			for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
				if strings.Contains(out, "pl4nt3d") {
					t.Errorf("%s holds the planted value:\n%s", name, out)
				}
			}
			for line := range strings.Lines(stderr) {
				if !json.Valid([]byte(line)) {
					t.Errorf("stderr holds a line that is not JSON: %q", line)
				}
			}
		})
	}
}
