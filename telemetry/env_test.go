package telemetry_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/operable-go/operable/telemetry"
)

// secret stands for a credential in a header or an endpoint: no error may
// quote it.
const secret = "s3cr3t"

// badValues are one bad value per case, each named by the variable that
// must appear in the error. The OTLP cases turn the OTLP exporters on, in
// lists that also name an unknown exporter, so that the cases add up into
// one environment where every problem must be reported at once.
func badValues(t *testing.T) []struct {
	name string
	env  map[string]string
	want string // the variable the error names
} {
	dir := t.TempDir()
	certOnly := filepath.Join(dir, "client.pem")
	if err := os.WriteFile(certOnly, []byte("not used"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	otlp := map[string]string{
		"OTEL_METRICS_EXPORTER": "otlp,statsd", "OTEL_TRACES_EXPORTER": "otlp,zipkin", "OTEL_LOGS_EXPORTER": "otlp,fluentd",
	}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(otlp)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown metrics exporter", otlp, "OTEL_METRICS_EXPORTER"},
		{"unknown traces exporter", otlp, "OTEL_TRACES_EXPORTER"},
		{"unknown logs exporter", otlp, "OTEL_LOGS_EXPORTER"},
		{"unknown propagator", with("OTEL_PROPAGATORS", "tracecontext,b3"), "OTEL_PROPAGATORS"},
		{"resource attribute without a value", with("OTEL_RESOURCE_ATTRIBUTES", "team=ops,region"), "OTEL_RESOURCE_ATTRIBUTES"},
		{"unsupported sampler", with("OTEL_TRACES_SAMPLER", "jaeger_remote"), "OTEL_TRACES_SAMPLER"},
		{"schedule delay with a unit", with("OTEL_BSP_SCHEDULE_DELAY", "5s"), "OTEL_BSP_SCHEDULE_DELAY"},
		{"negative export timeout", with("OTEL_BSP_EXPORT_TIMEOUT", "-1"), "OTEL_BSP_EXPORT_TIMEOUT"},
		{"empty queue", with("OTEL_BSP_MAX_QUEUE_SIZE", "0"), "OTEL_BSP_MAX_QUEUE_SIZE"},
		{"batch larger than the queue", with("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096"), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"},
		{"log schedule delay", with("OTEL_BLRP_SCHEDULE_DELAY", "soon"), "OTEL_BLRP_SCHEDULE_DELAY"},
		{"log export timeout", with("OTEL_BLRP_EXPORT_TIMEOUT", "0"), "OTEL_BLRP_EXPORT_TIMEOUT"},
		{"log queue", with("OTEL_BLRP_MAX_QUEUE_SIZE", "many"), "OTEL_BLRP_MAX_QUEUE_SIZE"},
		{"log batch", with("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "-3"), "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"},
		{"metric interval", with("OTEL_METRIC_EXPORT_INTERVAL", "1m"), "OTEL_METRIC_EXPORT_INTERVAL"},
		{"metric timeout", with("OTEL_METRIC_EXPORT_TIMEOUT", "1.5"), "OTEL_METRIC_EXPORT_TIMEOUT"},
		{"exemplar filter", with("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes"), "OTEL_METRICS_EXEMPLAR_FILTER"},
		{"cardinality limit", with("OTEL_GO_X_CARDINALITY_LIMIT", "lots"), "OTEL_GO_X_CARDINALITY_LIMIT"},
		{"attribute count", with("OTEL_ATTRIBUTE_COUNT_LIMIT", "-5"), "OTEL_ATTRIBUTE_COUNT_LIMIT"},
		{"attribute length", with("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "long"), "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"},
		{"span attribute count", with("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "x"), "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"},
		{"span attribute length", with("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "x"), "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"},
		{"span events", with("OTEL_SPAN_EVENT_COUNT_LIMIT", "x"), "OTEL_SPAN_EVENT_COUNT_LIMIT"},
		{"span links", with("OTEL_SPAN_LINK_COUNT_LIMIT", "x"), "OTEL_SPAN_LINK_COUNT_LIMIT"},
		{"event attributes", with("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "x"), "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"},
		{"link attributes", with("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "x"), "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"},
		{"log record attributes", with("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "x"), "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT"},
		{"log record length", with("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "x"), "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"},
		{"unknown protocol", with("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"), "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"logs over grpc", with("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"), "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"},
		{"endpoint of another scheme", with("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://user:"+secret+"@collector"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"per-signal endpoint without a scheme", with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"header without a value", with("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20"+secret+",Bearer-"+secret), "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header badly encoded", with("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=%zz"+secret), "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
		{"header with a bad name", with("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x key"+secret+"=1"), "OTEL_EXPORTER_OTLP_METRICS_HEADERS"},
		{"timeout with a unit", with("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"), "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"unknown compression", with("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "brotli"), "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"},
		{"insecure not a boolean", with("OTEL_EXPORTER_OTLP_INSECURE", "yes"), "OTEL_EXPORTER_OTLP_INSECURE"},
		{"certificate file missing", with("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", filepath.Join(dir, "missing.pem")), "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"},
		{"certificate file without PEM", with("OTEL_EXPORTER_OTLP_CERTIFICATE", notPEM), "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{"client certificate without its key", with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", certOnly), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
		{"temporality", with("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "weekly"), "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"},
		{"histogram aggregation", with("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "buckets"), "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"},
	}
}

// TestEveryBadValueIsReported checks that each bad value alone fails New
// with an error that names its variable and quotes no secret, and that all
// of them together are reported in one error, before anything is built.
func TestEveryBadValueIsReported(t *testing.T) {
	cases := badValues(t)
	all := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := telemetry.New(context.Background(), telemetry.Options{Environ: c.env})
			if err == nil || !strings.Contains(err.Error(), c.want+":") {
				t.Fatalf("New = %v, want an error naming %s", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "telemetry: ") || strings.Contains(err.Error(), secret) {
				t.Errorf("New = %q: want the telemetry: prefix and no secret", err)
			}
		})
		for k, v := range c.env {
			if old, ok := all[k]; ok && old != v {
				t.Fatalf("cases disagree on %s: %q and %q", k, old, v)
			}
			all[k] = v
		}
	}

	_, err := telemetry.New(context.Background(), telemetry.Options{Environ: all})
	if err == nil {
		t.Fatal("New with every bad value succeeded")
	}
	for _, c := range cases {
		if !strings.Contains(err.Error(), c.want+":") {
			t.Errorf("with every bad value, the error does not name %s", c.want)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error quotes a secret:\n%v", err)
	}
	t.Logf("all problems:\n%v", err)
}

// TestSamplerArgument checks that the sampler's argument is checked, and
// with any sampler: every sampler New knows takes a ratio or nothing, so
// that anything but a ratio is a mistake (a valid ratio is ignored by the
// samplers that take none, as the specification says).
func TestSamplerArgument(t *testing.T) {
	cases := []struct {
		sampler, arg string
		bad          bool
	}{
		{"traceidratio", "1.5", true},
		{"parentbased_traceidratio", "-0.1", true},
		{"traceidratio", "half", true},
		{"traceidratio", "0.25", false},
		{"always_on", "1.5", true},
		{"", "often", true},
		{"always_on", "0.5", false},
	}
	for _, c := range cases {
		p, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
			"OTEL_TRACES_SAMPLER": c.sampler, "OTEL_TRACES_SAMPLER_ARG": c.arg,
		}})
		if c.bad != (err != nil) || (c.bad && !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER_ARG:")) {
			t.Errorf("sampler %s with argument %s: New = %v, want an error: %v", c.sampler, c.arg, err, c.bad)
		}
		if p != nil {
			_ = p.Shutdown(context.Background())
		}
	}
}

// TestFailedNewLeavesNoGoroutine checks that a bad value fails New before
// any exporter, processor or reader is built: the console exporters'
// batch processors and periodic reader would start goroutines.
func TestFailedNewLeavesNoGoroutine(t *testing.T) {
	var console bytes.Buffer
	_, err := telemetry.New(context.Background(), telemetry.Options{Console: &console, Environ: map[string]string{
		"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "prometheus,console", "OTEL_LOGS_EXPORTER": "console",
		"OTEL_PROPAGATORS": "bogus",
	}})
	if err == nil || !strings.Contains(err.Error(), "OTEL_PROPAGATORS") {
		t.Fatalf("New = %v, want the bad propagator reported", err)
	}
	goleak.VerifyNone(t)
}

// TestNilEnvironIsTheProcessEnvironment checks that a nil Environ reads the
// process environment and an empty map reads nothing.
func TestNilEnvironIsTheProcessEnvironment(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	for _, c := range []struct {
		environ map[string]string
		spans   bool
	}{{nil, true}, {map[string]string{}, false}} {
		var console bytes.Buffer
		p, err := telemetry.New(context.Background(), telemetry.Options{Console: &console, Environ: c.environ})
		if err != nil {
			t.Fatal(err)
		}
		_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
		span.End()
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(console.String(), `"Name":"work"`); got != c.spans {
			t.Errorf("Environ %v: span printed %v, want %v", c.environ, got, c.spans)
		}
	}
}

// collector is an OTLP/http collector on the loopback interface that
// records the requests it gets.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newCollector(t *testing.T, tlsConfig *tls.Config) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, r)
		c.mu.Unlock()
	}))
	if tlsConfig != nil {
		c.TLS = tlsConfig
		c.StartTLS()
	} else {
		c.Start()
	}
	t.Cleanup(c.Close)
	return c
}

func (c *collector) requests() []*http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}

func (c *collector) paths() []string {
	var out []string
	for _, r := range c.requests() {
		out = append(out, r.URL.Path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestMapWinsOverProcessEnvironment checks that with a map, the OTLP
// exporter and the SDK go by the map alone: the span reaches the map's
// collector, with the map's headers, sampled by the default sampler (not
// the process's always_off) and queued by the default batch processor (not
// the process's empty queue), in protobuf uncompressed, whatever the
// process's variables say; the process's collector gets nothing.
func TestMapWinsOverProcessEnvironment(t *testing.T) {
	fromMap, fromProcess := newCollector(t, nil), newCollector(t, nil)
	for k, v := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        fromProcess.URL,
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": fromProcess.URL + "/process",
		"OTEL_EXPORTER_OTLP_HEADERS":         "x-from=process",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":  "x-from=process",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/json",
		"OTEL_EXPORTER_OTLP_COMPRESSION":     "gzip",
		"OTEL_TRACES_SAMPLER":                "always_off",
		"OTEL_BSP_MAX_QUEUE_SIZE":            "0",
	} {
		t.Setenv(k, v)
	}
	p, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_METRICS_EXPORTER":       "none",
		"OTEL_EXPORTER_OTLP_ENDPOINT": fromMap.URL + "/base",
		"OTEL_EXPORTER_OTLP_HEADERS":  "authorization=Bearer%20map-token, x-tenant = ops ",
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	reqs := fromMap.requests()
	if len(reqs) == 0 {
		t.Fatal("the map's collector got no request")
	}
	r := reqs[0]
	if r.URL.Path != "/base/v1/traces" || r.Header.Get("Authorization") != "Bearer map-token" ||
		r.Header.Get("X-Tenant") != "ops" || r.Header.Get("X-From") != "" {
		t.Errorf("request to %s with headers %v, want /base/v1/traces with the map's headers only", r.URL.Path, r.Header)
	}
	if ct, ce := r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"); ct != "application/x-protobuf" || ce != "" {
		t.Errorf("Content-Type %q, Content-Encoding %q, want protobuf, uncompressed", ct, ce)
	}
	if got := fromProcess.requests(); len(got) != 0 {
		t.Errorf("the process's collector got %d requests", len(got))
	}
}

// TestOTLPEndpointsPerSignal checks the specification's path rules: the
// general endpoint is a base to which each signal's path is appended, a
// per-signal endpoint is used as it is; and the per-signal compression.
func TestOTLPEndpointsPerSignal(t *testing.T) {
	c := newCollector(t, nil)
	var console bytes.Buffer
	p, err := telemetry.New(context.Background(), telemetry.Options{Console: &console, Environ: map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT":            c.URL + "/collector/",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT":    c.URL + "/custom/metrics",
		"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "gzip",
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
	span.End()
	slog.New(p.LogHandler()).Info("exported record")
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"/collector/v1/logs", "/collector/v1/traces", "/custom/metrics"}
	if got := c.paths(); !slices.Equal(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	for _, r := range c.requests() {
		if gz := r.Header.Get("Content-Encoding") == "gzip"; gz != (r.URL.Path == "/custom/metrics") {
			t.Errorf("%s: Content-Encoding %q", r.URL.Path, r.Header.Get("Content-Encoding"))
		}
	}
}

// writePEM writes blocks of one type into a new file and returns its path.
func writePEM(t *testing.T, name, typ string, der ...[]byte) string {
	t.Helper()
	var buf bytes.Buffer
	for _, d := range der {
		if err := pem.Encode(&buf, &pem.Block{Type: typ, Bytes: d}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestOTLPOverMutualTLS checks the certificate variables: the collector
// is verified with the map's CA file and sees the client certificate.
func TestOTLPOverMutualTLS(t *testing.T) {
	c := newCollector(t, &tls.Config{ClientAuth: tls.RequireAnyClientCert})
	cert := c.TLS.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	ca := writePEM(t, "ca.pem", "CERTIFICATE", c.Certificate().Raw)
	p, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    c.URL + "/v1/traces",
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        ca,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": writePEM(t, "client.pem", "CERTIFICATE", cert.Certificate...),
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":         writePEM(t, "client-key.pem", "PRIVATE KEY", key),
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := c.requests()
	if len(reqs) == 0 || reqs[0].TLS == nil || len(reqs[0].TLS.PeerCertificates) == 0 {
		t.Fatalf("the collector got %d requests, want one over TLS with a client certificate", len(reqs))
	}
}

// rawCodec lets a gRPC server take any message as bytes, so that the test
// collector needs no generated code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *v.(*[]byte) = slices.Clone(data); return nil }
func (rawCodec) Name() string                       { return "proto" }

// grpcStats records the compression of the calls a server gets.
type grpcStats struct {
	mu          sync.Mutex
	compression []string
}

func (s *grpcStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (s *grpcStats) HandleRPC(_ context.Context, st stats.RPCStats) {
	if h, ok := st.(*stats.InHeader); ok {
		s.mu.Lock()
		s.compression = append(s.compression, h.Compression)
		s.mu.Unlock()
	}
}
func (s *grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (s *grpcStats) HandleConn(context.Context, stats.ConnStats)                       {}

// TestOTLPOverGRPC checks the gRPC exporters against a collector on the
// loopback interface: the map's target, plaintext for an http:// URL,
// headers as metadata and no compression, though the process asks for gzip
// and TLS with its own CA.
func TestOTLPOverGRPC(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", writePEM(t, "ca.pem", "CERTIFICATE", tlsSrv.Certificate().Raw))
	tlsSrv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-from=process")

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[string]metadata.MD{}
	st := &grpcStats{}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.StatsHandler(st),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			md, _ := metadata.FromIncomingContext(stream.Context())
			mu.Lock()
			calls[method] = md
			mu.Unlock()
			var msg []byte
			if err := stream.RecvMsg(&msg); err != nil {
				return err
			}
			return stream.SendMsg(&[]byte{})
		}))
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	p, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + lis.Addr().String(),
		"OTEL_EXPORTER_OTLP_HEADERS":  "authorization=Bearer%20map-token",
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "work")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, method := range []string{
		"/opentelemetry.proto.collector.trace.v1.TraceService/Export",
		"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
	} {
		md, ok := calls[method]
		if !ok || !slices.Equal(md.Get("authorization"), []string{"Bearer map-token"}) || len(md.Get("x-from")) != 0 {
			t.Errorf("%s: called %v with metadata %v, want the map's headers only", method, ok, md)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range st.compression {
		if c != "" && c != "identity" {
			t.Errorf("a call was compressed with %s", c)
		}
	}
}
