package telemetry_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"go.opentelemetry.io/otel"

	"github.com/operable-go/operable/telemetry"
)

// marker is planted in each bad value: no message may quote it.
const marker = "pl4nt3d"

// badOTELValues are variables × bad values, each with the OTLP exporters
// of every signal on, so that the OTLP variables are read. Each must fail
// New with a *VarError naming the variable and quoting nothing of the
// value. Some are values the OpenTelemetry SDK, reading the same variable
// from the process, would log raw on stderr had New accepted them (an
// empty header or resource entry, a number with spaces, a gRPC address
// that is not a URL, a bad general variable beside a good per-signal one).
func badOTELValues(t *testing.T) []struct {
	name, key, value string
	extra            []string
} {
	missing := filepath.Join(t.TempDir(), marker+".pem")
	type c = struct {
		name, key, value string
		extra            []string
	}
	cases := []c{
		{"metrics exporter", "OTEL_METRICS_EXPORTER", "otlp," + marker, nil},
		{"traces exporter", "OTEL_TRACES_EXPORTER", "otlp," + marker, nil},
		{"logs exporter", "OTEL_LOGS_EXPORTER", marker + ",otlp", nil},
		{"propagator", "OTEL_PROPAGATORS", "tracecontext," + marker, nil},
		{"resource entry without =", "OTEL_RESOURCE_ATTRIBUTES", "team=ops," + marker, nil},
		{"resource value badly encoded", "OTEL_RESOURCE_ATTRIBUTES", "auth.token=%zz" + marker, nil},
		{"resource empty entry", "OTEL_RESOURCE_ATTRIBUTES", "auth.token=" + marker + ",", nil},
		{"sampler", "OTEL_TRACES_SAMPLER", marker, nil},
		{"sampler argument not a number", "OTEL_TRACES_SAMPLER_ARG", marker, []string{"OTEL_TRACES_SAMPLER", "traceidratio"}},
		{"sampler argument over 1", "OTEL_TRACES_SAMPLER_ARG", "1.5", []string{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}},
		{"schedule delay", "OTEL_BSP_SCHEDULE_DELAY", marker, nil},
		{"schedule delay with spaces", "OTEL_BSP_SCHEDULE_DELAY", " 5000 ", nil},
		{"export timeout", "OTEL_BSP_EXPORT_TIMEOUT", "-1", nil},
		{"queue size", "OTEL_BSP_MAX_QUEUE_SIZE", marker, nil},
		{"batch over the queue", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096", nil},
		{"log schedule delay", "OTEL_BLRP_SCHEDULE_DELAY", marker, nil},
		{"log export timeout", "OTEL_BLRP_EXPORT_TIMEOUT", marker, nil},
		{"log queue", "OTEL_BLRP_MAX_QUEUE_SIZE", marker, nil},
		{"log batch", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", marker, nil},
		{"metric interval", "OTEL_METRIC_EXPORT_INTERVAL", marker, nil},
		{"metric interval with a space", "OTEL_METRIC_EXPORT_INTERVAL", "60000 ", nil},
		{"metric timeout", "OTEL_METRIC_EXPORT_TIMEOUT", marker, nil},
		{"exemplar filter", "OTEL_METRICS_EXEMPLAR_FILTER", marker, nil},
		{"cardinality limit", "OTEL_GO_X_CARDINALITY_LIMIT", marker, nil},
		{"attribute length", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", marker, nil},
		{"attribute count", "OTEL_ATTRIBUTE_COUNT_LIMIT", marker, nil},
		{"span attribute length", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", marker, nil},
		{"span attribute count", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", marker, nil},
		{"span events", "OTEL_SPAN_EVENT_COUNT_LIMIT", marker, nil},
		{"span links", "OTEL_SPAN_LINK_COUNT_LIMIT", marker, nil},
		{"event attributes", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", marker, nil},
		{"link attributes", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", marker, nil},
		{"log record attributes", "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", marker, nil},
		{"log record length", "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", marker, nil},
		{"protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", marker, nil},
		{"traces protocol", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", marker, nil},
		{"logs over grpc", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc", nil},
		{"endpoint of another scheme", "OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://" + marker, nil},
		{"endpoint that does not parse", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://[" + marker, nil},
		{"general endpoint bad, per-signal good", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://[" + marker,
			[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"}},
		{"per-signal endpoint without a scheme", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", marker + ":4318", nil},
		{"grpc address that is not a URL", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "127.0.0.1:4317/" + marker,
			[]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"}},
		{"header written as HTTP", "OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer " + marker, nil},
		{"header badly encoded", "OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%zz" + marker, nil},
		{"header empty entry", "OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=" + marker + ",", nil},
		{"header name is the secret", "OTEL_EXPORTER_OTLP_HEADERS", marker + "=%zz", nil},
		{"header control character", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=" + marker + "%0A", nil},
		{"general headers bad, per-signal good", "OTEL_EXPORTER_OTLP_HEADERS", "Bearer " + marker,
			[]string{"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-tenant=ops", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=ops",
				"OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=ops"}},
		{"timeout", "OTEL_EXPORTER_OTLP_TIMEOUT", marker, nil},
		{"logs timeout", "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "10s" + marker, nil},
		{"compression", "OTEL_EXPORTER_OTLP_COMPRESSION", marker, nil},
		{"insecure", "OTEL_EXPORTER_OTLP_INSECURE", marker, nil},
		{"certificate missing", "OTEL_EXPORTER_OTLP_CERTIFICATE", missing, nil},
		{"per-signal certificate missing", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", missing, nil},
		{"client certificate missing", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", missing,
			[]string{"OTEL_EXPORTER_OTLP_CLIENT_KEY", missing}},
		{"temporality", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", marker, nil},
		{"histogram aggregation", "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", marker, nil},
	}
	return cases
}

// TestBadOTELValuesAreNamedNeverQuoted checks each variable × bad value:
// New fails with a *VarError for that variable whose message says what
// is wanted and quotes no part of the value.
func TestBadOTELValuesAreNamedNeverQuoted(t *testing.T) {
	for _, c := range badOTELValues(t) {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{
				"OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp",
				c.key: c.value,
			}
			for i := 0; i+1 < len(c.extra); i += 2 {
				env[c.extra[i]] = c.extra[i+1]
			}
			p, err := telemetry.New(context.Background(), telemetry.Options{Environ: env})
			if err == nil {
				_ = p.Shutdown(context.Background())
				t.Fatalf("New accepted %s", c.key)
			}
			var found *telemetry.VarError
			for _, ve := range varErrors(err) {
				if ve.Var == c.key {
					found = ve
				}
			}
			if found == nil {
				t.Fatalf("New = %v, want a *VarError for %s", err, c.key)
			}
			msg := err.Error()
			if strings.Contains(msg, marker) || strings.Contains(msg, strings.TrimSpace(c.value)) {
				t.Errorf("the error quotes the value: %v", err)
			}
			if !strings.HasPrefix(msg, "telemetry: ") || !strings.Contains(found.Error(), "want") {
				t.Errorf("the error %q lacks the telemetry: prefix or the form wanted", msg)
			}
		})
	}
}

// varErrors collects the *VarErrors in err's tree.
func varErrors(err error) []*telemetry.VarError {
	var out []*telemetry.VarError
	var walk func(error)
	walk = func(err error) {
		if ve, ok := err.(*telemetry.VarError); ok {
			out = append(out, ve)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// sdkDiagnostics records what the OpenTelemetry SDK logs or reports to its
// error handler, process-wide, while a test looks.
var sdkDiagnostics = struct {
	once sync.Once
	mu   sync.Mutex
	on   bool
	got  []string
}{}

// watchSDK records the SDK's diagnostics until the test ends.
func watchSDK(t *testing.T) func() []string {
	d := &sdkDiagnostics
	d.once.Do(func() {
		otel.SetLogger(funcr.New(func(prefix, args string) {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.on {
				d.got = append(d.got, args)
			}
		}, funcr.Options{Verbosity: 8}))
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.on {
				d.got = append(d.got, "error handler: "+err.Error())
			}
		}))
	})
	d.mu.Lock()
	d.on, d.got = true, nil
	d.mu.Unlock()
	t.Cleanup(func() {
		d.mu.Lock()
		d.on = false
		d.mu.Unlock()
	})
	return func() []string {
		d.mu.Lock()
		defer d.mu.Unlock()
		return slices.Clone(d.got)
	}
}

// TestSDKDoesNotComplainAboutAcceptedValues checks the other half: values
// New accepts, at the edges of each form, set in the process environment
// too (where the OpenTelemetry SDK and its exporters read them again), make
// the SDK log no error or warning and report nothing to its error handler
// while New builds everything, over OTLP/http and OTLP/gRPC.
func TestSDKDoesNotComplainAboutAcceptedValues(t *testing.T) {
	env := map[string]string{
		"OTEL_METRICS_EXPORTER": "prometheus,otlp", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp",
		"OTEL_RESOURCE_ATTRIBUTES":                          " team = ops , region=eu%2Dwest ",
		"OTEL_SERVICE_NAME":                                 "svc",
		"OTEL_PROPAGATORS":                                  "tracecontext, baggage",
		"OTEL_TRACES_SAMPLER":                               " ParentBased_TraceIDRatio ",
		"OTEL_TRACES_SAMPLER_ARG":                           " 0.5 ",
		"OTEL_BSP_SCHEDULE_DELAY":                           "100",
		"OTEL_BSP_MAX_QUEUE_SIZE":                           "100",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":                    "10",
		"OTEL_BLRP_EXPORT_TIMEOUT":                          "1000",
		"OTEL_METRIC_EXPORT_INTERVAL":                       "60000",
		"OTEL_METRICS_EXEMPLAR_FILTER":                      "always_off",
		"OTEL_GO_X_CARDINALITY_LIMIT":                       "100",
		"OTEL_ATTRIBUTE_COUNT_LIMIT":                        "64",
		"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT":            "1024",
		"OTEL_EXPORTER_OTLP_ENDPOINT":                       "http://127.0.0.1:1",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":                " http://127.0.0.1:1/traces ",
		"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL":               "grpc",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT":               "localhost:1",
		"OTEL_EXPORTER_OTLP_METRICS_INSECURE":               " TRUE ",
		"OTEL_EXPORTER_OTLP_HEADERS":                        " authorization = Bearer%20tok , x-tenant=ops",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":                 "x-a=%20",
		"OTEL_EXPORTER_OTLP_TIMEOUT":                        "1000",
		"OTEL_EXPORTER_OTLP_COMPRESSION":                    "gzip",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	got := watchSDK(t)
	p, err := telemetry.New(context.Background(), telemetry.Options{Environ: maps.Clone(env)})
	if err != nil {
		t.Fatal(err)
	}
	diags := got() // before Shutdown, whose exports fail: nobody listens
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.Shutdown(ctx)
	var complaints []string
	for _, d := range diags {
		// funcr writes the verbosity of an info line as "level"=N; errors
		// have an "error" and no level; only level 4 and 8 are the SDK's
		// info and debug chatter ("TracerProvider created").
		if !strings.Contains(d, `"level"=4`) && !strings.Contains(d, `"level"=8`) {
			complaints = append(complaints, d)
		}
		if strings.Contains(d, "invalid value") {
			complaints = append(complaints, d)
		}
	}
	if len(complaints) > 0 {
		t.Errorf("the SDK complained about values New accepted:\n%s", strings.Join(complaints, "\n"))
	}
	t.Logf("%d diagnostics, none a complaint:\n%s", len(diags), strings.Join(diags, "\n"))
}
