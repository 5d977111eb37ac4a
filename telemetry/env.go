package telemetry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// settings is everything New takes from the variables, parsed and checked
// before anything is built. Every SDK setting is explicit, defaults
// included, so that the SDK and the exporters, which would read the
// process environment for what they are not told, consult none of it.
type settings struct {
	metrics, traces, logs []string // exporter names, keys of the exporters table
	propagators           []propagation.TextMapPropagator
	resource              []attribute.KeyValue // OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME

	sampler    sdktrace.Sampler
	spanLimits sdktrace.SpanLimits
	batchSpans []sdktrace.BatchSpanProcessorOption
	meter      []sdkmetric.Option
	reader     []sdkmetric.PeriodicReaderOption
	batchLogs  []sdklog.BatchProcessorOption
	logger     []sdklog.LoggerProviderOption

	// otlp holds the OTLP exporter settings of the signals whose exporters
	// include otlp, by signal name.
	otlp map[string]otlpConfig
}

// VarError is one bad OTEL_* variable, as [New] reports it (all of them
// joined): the variable's name and why its value was refused, with the
// form a good value takes. It never quotes the value, nor any part of it
// (an entry, a header's name, a file's path): any variable may hold a
// secret.
type VarError struct {
	Var string
	Err error
}

func (e *VarError) Error() string { return e.Var + ": " + e.Err.Error() }

// Unwrap returns why the value was refused.
func (e *VarError) Unwrap() error { return e.Err }

// vars reads the variables of one map and collects what is wrong with them,
// each problem once, named after its variable.
type vars struct {
	m        map[string]string
	problems []error
	seen     map[string]bool
}

func (v *vars) get(key string) string { return strings.TrimSpace(v.m[key]) }

// first returns the first of keys set to a non-blank value and that value,
// or "", "" when none is.
func (v *vars) first(keys ...string) (key, value string) {
	for _, k := range keys {
		if s := v.get(k); s != "" {
			return k, s
		}
	}
	return "", ""
}

// problem records that key holds a bad value. No caller quotes the value
// or a part of it: the message names what is wrong and the form wanted.
func (v *vars) problem(key, format string, args ...any) {
	err := &VarError{Var: key, Err: fmt.Errorf(format, args...)}
	if v.seen == nil {
		v.seen = map[string]bool{}
	}
	if !v.seen[err.Error()] {
		v.seen[err.Error()] = true
		v.problems = append(v.problems, err)
	}
}

// each parses every one of keys that is set, reporting the bad values,
// and returns the value of the first, or def when none is set (or the first
// set is bad). want describes a good value for the messages. With trim, a
// value is read without its surrounding spaces and a blank one is unset;
// without, it is parsed as it is, as the OpenTelemetry SDK, which reads the
// same variable from the process, parses it (and would log it, raw, on
// stderr when it does not parse).
func each[T any](v *vars, def T, want string, trim bool, parse func(string) (T, bool), keys ...string) T {
	out, found := def, false
	for _, key := range keys {
		s := v.m[key]
		if trim {
			s = strings.TrimSpace(s)
		}
		if s == "" {
			continue
		}
		x, ok := parse(s)
		if !ok {
			v.problem(key, "want %s", want)
		} else if !found {
			out = x
		}
		found = true
	}
	return out
}

// integer reads keys as integers of at least lowest (see each).
func (v *vars) integer(def, lowest int, keys ...string) int {
	want := "an integer"
	switch lowest {
	case 0:
		want = "a non-negative integer"
	case 1:
		want = "a positive integer"
	}
	return each(v, def, want, false, func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lowest
	}, keys...)
}

// millis reads keys as positive numbers of milliseconds (see each).
func (v *vars) millis(def time.Duration, keys ...string) time.Duration {
	return each(v, def, "a positive number of milliseconds", false, func(s string) (time.Duration, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return time.Duration(n) * time.Millisecond, err == nil && n > 0 && n <= math.MaxInt64/int64(time.Millisecond)
	}, keys...)
}

// boolean reads keys as true or false, in any case (see each). Default:
// false.
func (v *vars) boolean(keys ...string) bool {
	return each(v, false, "true or false", true, func(s string) (bool, bool) {
		switch strings.ToLower(s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return false, false
	}, keys...)
}

// choose reads a comma-separated variable naming entries of table, or def
// when it is blank. "none" names nothing; unknown names are problems that
// list the table's names.
func choose[T any](v *vars, key, def, noun string, table map[string]T) []string {
	var out []string
	for _, name := range list(v.get(key), def) {
		if _, ok := table[name]; ok {
			out = append(out, name)
		} else if name != "none" {
			v.problem(key, "unknown %s (want a comma-separated list of %s)", noun, orList(append(slices.Collect(maps.Keys(table)), "none")))
		}
	}
	return out
}

// list splits a comma-separated variable, or def when it is empty, into
// lower-case names, each once.
func list(v, def string) []string {
	if strings.TrimSpace(v) == "" {
		v = def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(strings.ToLower(s)); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// orList renders names sorted, as "a, b or c".
func orList(names []string) string {
	names = slices.Sorted(slices.Values(names))
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// propagators is the table of the propagators OTEL_PROPAGATORS may name.
var propagators = map[string]propagation.TextMapPropagator{
	"tracecontext": propagation.TraceContext{},
	"baggage":      propagation.Baggage{},
}

// samplers is the table of the samplers OTEL_TRACES_SAMPLER may name; the
// ratio is OTEL_TRACES_SAMPLER_ARG's, used by the ratio samplers only (and
// checked for all).
var samplers = map[string]func(ratio func() float64) sdktrace.Sampler{
	"always_on":              func(func() float64) sdktrace.Sampler { return sdktrace.AlwaysSample() },
	"always_off":             func(func() float64) sdktrace.Sampler { return sdktrace.NeverSample() },
	"traceidratio":           func(r func() float64) sdktrace.Sampler { return sdktrace.TraceIDRatioBased(r()) },
	"parentbased_always_on":  func(func() float64) sdktrace.Sampler { return sdktrace.ParentBased(sdktrace.AlwaysSample()) },
	"parentbased_always_off": func(func() float64) sdktrace.Sampler { return sdktrace.ParentBased(sdktrace.NeverSample()) },
	"parentbased_traceidratio": func(r func() float64) sdktrace.Sampler {
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r()))
	},
}

// exemplarFilters is the table of OTEL_METRICS_EXEMPLAR_FILTER's values.
var exemplarFilters = map[string]exemplar.Filter{
	"trace_based": exemplar.TraceBasedFilter,
	"always_on":   exemplar.AlwaysOnFilter,
	"always_off":  exemplar.AlwaysOffFilter,
}

// one reads a variable naming one entry of table, or def when it is blank.
func one[T any](v *vars, key, def, noun string, table map[string]T) T {
	name := strings.ToLower(v.get(key))
	if name == "" {
		name = def
	}
	e, ok := table[name]
	if !ok {
		v.problem(key, "unsupported %s (want %s)", noun, orList(slices.Collect(maps.Keys(table))))
		e = table[def]
	}
	return e
}

// parse reads every variable New honours from env.
func parse(env map[string]string) (*settings, []error) {
	v := &vars{m: env}
	s := &settings{otlp: map[string]otlpConfig{}}
	s.metrics = choose(v, "OTEL_METRICS_EXPORTER", "prometheus", "exporter", exporters.metrics)
	s.traces = choose(v, "OTEL_TRACES_EXPORTER", "none", "exporter", exporters.traces)
	s.logs = choose(v, "OTEL_LOGS_EXPORTER", "none", "exporter", exporters.logs)
	for _, name := range choose(v, "OTEL_PROPAGATORS", "tracecontext,baggage", "propagator", propagators) {
		s.propagators = append(s.propagators, propagators[name])
	}
	s.resource = v.resource()

	// The argument is checked whatever the sampler: every sampler here
	// takes a ratio or nothing, so any other value is a mistake.
	ratio := each(v, 1.0, "a number from 0 to 1", true, func(s string) (float64, bool) {
		r, err := strconv.ParseFloat(s, 64)
		return r, err == nil && r >= 0 && r <= 1
	}, "OTEL_TRACES_SAMPLER_ARG")
	s.sampler = one(v, "OTEL_TRACES_SAMPLER", "parentbased_always_on", "sampler", samplers)(func() float64 { return ratio })
	s.spanLimits = sdktrace.SpanLimits{
		AttributeValueLengthLimit:   v.integer(sdktrace.DefaultAttributeValueLengthLimit, 0, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"),
		AttributeValueDepthLimit:    sdktrace.DefaultAttributeValueDepthLimit,
		AttributeCountLimit:         v.integer(sdktrace.DefaultAttributeCountLimit, 0, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"),
		EventCountLimit:             v.integer(sdktrace.DefaultEventCountLimit, 0, "OTEL_SPAN_EVENT_COUNT_LIMIT"),
		LinkCountLimit:              v.integer(sdktrace.DefaultLinkCountLimit, 0, "OTEL_SPAN_LINK_COUNT_LIMIT"),
		AttributePerEventCountLimit: v.integer(sdktrace.DefaultAttributePerEventCountLimit, 0, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"),
		AttributePerLinkCountLimit:  v.integer(sdktrace.DefaultAttributePerLinkCountLimit, 0, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"),
	}
	queue, batch := v.queue("OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", sdktrace.DefaultMaxQueueSize, sdktrace.DefaultMaxExportBatchSize)
	s.batchSpans = []sdktrace.BatchSpanProcessorOption{
		sdktrace.WithBatchTimeout(v.millis(sdktrace.DefaultScheduleDelay*time.Millisecond, "OTEL_BSP_SCHEDULE_DELAY")),
		sdktrace.WithExportTimeout(v.millis(sdktrace.DefaultExportTimeout*time.Millisecond, "OTEL_BSP_EXPORT_TIMEOUT")),
		sdktrace.WithMaxQueueSize(queue),
		sdktrace.WithMaxExportBatchSize(batch),
	}

	s.meter = []sdkmetric.Option{
		sdkmetric.WithExemplarFilter(one(v, "OTEL_METRICS_EXEMPLAR_FILTER", "trace_based", "exemplar filter", exemplarFilters)),
		// The SDK's own experimental variable; zero or less means no limit.
		sdkmetric.WithCardinalityLimit(v.integer(2000, math.MinInt, "OTEL_GO_X_CARDINALITY_LIMIT")),
	}
	s.reader = []sdkmetric.PeriodicReaderOption{
		sdkmetric.WithInterval(v.millis(60*time.Second, "OTEL_METRIC_EXPORT_INTERVAL")),
		sdkmetric.WithTimeout(v.millis(30*time.Second, "OTEL_METRIC_EXPORT_TIMEOUT")),
	}

	queue, batch = v.queue("OTEL_BLRP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 2048, 512)
	s.batchLogs = []sdklog.BatchProcessorOption{
		sdklog.WithExportInterval(v.millis(time.Second, "OTEL_BLRP_SCHEDULE_DELAY")),
		sdklog.WithExportTimeout(v.millis(30*time.Second, "OTEL_BLRP_EXPORT_TIMEOUT")),
		sdklog.WithMaxQueueSize(queue),
		sdklog.WithExportMaxBatchSize(batch),
	}
	s.logger = []sdklog.LoggerProviderOption{
		sdklog.WithAttributeCountLimit(v.integer(128, 0, "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT")),
		sdklog.WithAttributeValueLengthLimit(v.integer(-1, 0, "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")),
	}

	for _, sig := range []struct {
		signal
		names []string
	}{{metricsSignal, s.metrics}, {tracesSignal, s.traces}, {logsSignal, s.logs}} {
		if slices.Contains(sig.names, "otlp") {
			s.otlp[sig.name] = v.otlp(sig.signal)
		}
	}
	return s, v.problems
}

// queue reads a batch processor's queue and batch sizes: positive, the
// batch no larger than the queue.
func (v *vars) queue(queueKey, batchKey string, defQueue, defBatch int) (queue, batch int) {
	queue = v.integer(defQueue, 1, queueKey)
	batch = v.integer(min(defBatch, queue), 1, batchKey)
	if batch > queue {
		v.problem(batchKey, "want a positive integer no larger than %s", queueKey)
		batch = queue
	}
	return queue, batch
}

// resource reads OTEL_RESOURCE_ATTRIBUTES (key=value pairs, values
// percent-encoded) and OTEL_SERVICE_NAME, which wins. An empty entry is a
// problem too: the OpenTelemetry SDK, which parses the process's variable
// again, would log it on stderr.
func (v *vars) resource() []attribute.KeyValue {
	const key = "OTEL_RESOURCE_ATTRIBUTES"
	var attrs []attribute.KeyValue
	if raw := v.get(key); raw != "" {
		for i, kv := range strings.Split(raw, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if k = strings.TrimSpace(k); !ok || k == "" {
				v.problem(key, "entry %d is not key=value (want key=value pairs separated by commas)", i+1)
				continue
			}
			dec, err := url.PathUnescape(strings.TrimSpace(val))
			if err != nil {
				v.problem(key, "the value of entry %d is not valid percent-encoding (want key=value pairs, values percent-encoded)", i+1)
				continue
			}
			attrs = append(attrs, attribute.String(k, dec))
		}
	}
	if name := v.get("OTEL_SERVICE_NAME"); name != "" {
		attrs = append(attrs, semconv.ServiceName(name))
	}
	return attrs
}

// signal describes one signal to the OTLP settings.
type signal struct {
	name      string   // "traces": as OTEL_{NAME}_EXPORTER and the messages say it
	path      string   // the path appended to OTEL_EXPORTER_OTLP_ENDPOINT over http
	protocols []string // what its exporters speak, the default first
}

var (
	metricsSignal = signal{"metrics", "/v1/metrics", []string{"http/protobuf", "grpc"}}
	tracesSignal  = signal{"traces", "/v1/traces", []string{"http/protobuf", "http/json", "grpc"}}
	logsSignal    = signal{"logs", "/v1/logs", []string{"http/protobuf"}}
)

// otlpConfig is what one signal's OTLP exporter is told.
type otlpConfig struct {
	protocol string // one of the signal's protocols
	// endpoint is, over http, the URL to post to; over grpc, the target.
	endpoint string
	insecure bool // no TLS: over http, an http:// URL
	headers  map[string]string
	timeout  time.Duration
	gzip     bool
	tls      *tls.Config // the certificates, whether insecure or not

	// Metrics only.
	temporality sdkmetric.TemporalitySelector
	aggregation sdkmetric.AggregationSelector
}

// Defaults of the OTLP exporters, as the specification gives them, except
// that a gRPC endpoint without a scheme uses TLS unless
// OTEL_EXPORTER_OTLP_INSECURE is true, as the Go exporters do.
const (
	defaultHTTPEndpoint = "http://localhost:4318"
	defaultGRPCEndpoint = "localhost:4317"
	defaultOTLPTimeout  = 10 * time.Second
)

// otlp reads the OTLP exporter variables of sig: each per-signal variable
// (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) wins over the general one
// (OTEL_EXPORTER_OTLP_TIMEOUT).
func (v *vars) otlp(sig signal) otlpConfig {
	keys := func(name string) []string {
		return []string{"OTEL_EXPORTER_OTLP_" + strings.ToUpper(sig.name) + "_" + name, "OTEL_EXPORTER_OTLP_" + name}
	}
	c := otlpConfig{protocol: sig.protocols[0]}
	c.protocol = each(v, c.protocol, orList(sig.protocols)+" for "+sig.name, true, func(p string) (string, bool) {
		return p, slices.Contains(sig.protocols, p)
	}, keys("PROTOCOL")...)

	// Every endpoint set is checked, the one not used too: each exporter
	// parses both from the process environment. The per-signal one wins.
	insecure := v.boolean(keys("INSECURE")...)
	endpoint := func(key string, perSignal bool) (string, bool) {
		raw := v.get(key)
		if c.protocol == "grpc" {
			return v.grpcTarget(key, raw, insecure)
		}
		// INSECURE is checked, though the URL's scheme decides.
		u := v.httpURL(key, raw, perSignal, sig.path)
		return u, strings.HasPrefix(u, "http:")
	}
	chosen := false
	for i, key := range keys("ENDPOINT") {
		if v.get(key) == "" {
			continue
		}
		e, noTLS := endpoint(key, i == 0)
		if !chosen {
			c.endpoint, c.insecure, chosen = e, noTLS, true
		}
	}
	if !chosen {
		c.endpoint, c.insecure = endpoint("", false)
	}
	c.headers = v.headers(keys("HEADERS")...)
	c.timeout = v.millis(defaultOTLPTimeout, keys("TIMEOUT")...)
	c.gzip = each(v, false, "gzip or none", true, func(s string) (bool, bool) {
		switch strings.ToLower(s) {
		case "gzip":
			return true, true
		case "none":
			return false, true
		}
		return false, false
	}, keys("COMPRESSION")...)
	c.tls = v.tlsConfig(keys("CERTIFICATE"), keys("CLIENT_CERTIFICATE"), keys("CLIENT_KEY"))

	if sig.name == metricsSignal.name {
		c.temporality = one(v, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "cumulative", "temporality",
			map[string]sdkmetric.TemporalitySelector{
				"cumulative": sdkmetric.CumulativeTemporalitySelector,
				"delta":      sdkmetric.DeltaTemporalitySelector,
				"lowmemory":  sdkmetric.LowMemoryTemporalitySelector,
			})
		c.aggregation = one(v, "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "explicit_bucket_histogram", "aggregation",
			map[string]sdkmetric.AggregationSelector{
				"explicit_bucket_histogram":          sdkmetric.DefaultAggregationSelector,
				"base2_exponential_bucket_histogram": exponentialHistograms,
			})
	}
	return c
}

// exponentialHistograms selects base-2 exponential histograms, with the
// specification's default size and scale, for histograms.
func exponentialHistograms(kind sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if kind == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}
	return sdkmetric.DefaultAggregationSelector(kind)
}

// httpURL returns the URL an OTLP/http exporter posts to: a per-signal
// endpoint as it is (with "/" for an empty path), the general one with the
// signal's path appended. The value is never quoted: a URL may carry
// credentials.
func (v *vars) httpURL(key, raw string, perSignal bool, signalPath string) string {
	if key == "" {
		return defaultHTTPEndpoint + signalPath
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.problem(key, "want an http:// or https:// URL with a host")
		return ""
	}
	switch {
	case !perSignal:
		u.Path = path.Join("/", u.Path, signalPath)
	case u.Path == "":
		u.Path = "/"
	}
	u.RawPath = ""
	return u.String()
}

// grpcTarget returns an OTLP/gRPC exporter's target and whether it goes
// without TLS: http:// and https:// URLs give their host and decide by
// their scheme, unix sockets go without TLS, and any other target (a bare
// host:port, dns:///...) is used as it is, with TLS unless insecure. The
// value must parse as a URL, as the exporters parse it from the process
// environment (logging it when it does not): so a bare address starts with
// a host name, not an IP address, which takes http:// or https://.
func (v *vars) grpcTarget(key, raw string, insecure bool) (string, bool) {
	if key == "" {
		return defaultGRPCEndpoint, insecure
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.problem(key, "not a gRPC target (want http://host:port, https://host:port, unix:path, or a bare host:port starting with a host name)")
		return "", insecure
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			v.problem(key, "not a gRPC target: the URL has no host (want http://host:port or https://host:port)")
		}
		return u.Host, strings.EqualFold(u.Scheme, "http")
	case "unix", "unix-abstract":
		return raw, true
	}
	return raw, insecure
}

// headers reads keys as name=value pairs separated by commas, values
// percent-encoded, as the W3C baggage header writes them, and returns the
// headers of the first set. Every one set is checked: each exporter parses
// them all from the process environment, and logs a bad entry whole. Values
// are secrets (API keys, bearer tokens): no message quotes one, nor a
// name, nor any part of an entry; entries are named by their position.
// Default: none.
func (v *vars) headers(keys ...string) map[string]string {
	var first map[string]string
	for _, key := range keys {
		raw := v.get(key)
		if raw == "" {
			continue
		}
		h := map[string]string{}
		for i, entry := range strings.Split(raw, ",") {
			name, val, ok := strings.Cut(entry, "=")
			if name = strings.TrimSpace(name); !ok || !isToken(name) {
				v.problem(key, "entry %d is not name=value with a valid header name (want name=value pairs separated by commas)", i+1)
				continue
			}
			dec, err := url.PathUnescape(strings.TrimSpace(val))
			if err != nil {
				v.problem(key, "the value of entry %d is not valid percent-encoding (want name=value pairs, values percent-encoded)", i+1)
				continue
			}
			if strings.ContainsFunc(dec, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) {
				v.problem(key, "the value of entry %d holds a control character (want printable values, percent-encoded)", i+1)
				continue
			}
			h[name] = dec
		}
		if first == nil {
			first = h
		}
	}
	if first == nil {
		first = map[string]string{}
	}
	return first
}

// isToken reports whether s is an HTTP field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// tlsConfig builds the TLS configuration from the certificate files the
// first of each list of keys names: the CA bundle that verifies the
// collector, and the client certificate and key for mutual TLS, which go
// together. Every file set is checked, those not used too, since each
// exporter reads them all from the process environment: each CA bundle,
// and each complete pair of a certificate and its key. Messages never name
// the files. Default: the system's roots, no client certificate.
func (v *vars) tlsConfig(caKeys, certKeys, keyKeys []string) *tls.Config {
	cfg := &tls.Config{}
	for _, key := range caKeys {
		file := v.get(key)
		if file == "" {
			continue
		}
		pem, err := os.ReadFile(file)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			v.problem(key, "cannot read the file (want a PEM file of CA certificates): %w", pathless(err))
		case !pool.AppendCertsFromPEM(pem):
			v.problem(key, "the file holds no PEM certificate (want a PEM file of CA certificates)")
		case cfg.RootCAs == nil:
			cfg.RootCAs = pool
		}
	}
	certKey, certFile := v.first(certKeys...)
	keyKey, keyFile := v.first(keyKeys...)
	switch {
	case certKey != "" && keyKey != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			v.problem(certKey, "cannot load it with %s (want PEM files of a certificate and its key): %w", keyKey, pathless(err))
			break
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certKey != "":
		v.problem(certKey, "set without %s (want both, or neither)", keyKeys[len(keyKeys)-1])
	case keyKey != "":
		v.problem(keyKey, "set without %s (want both, or neither)", certKeys[len(certKeys)-1])
	}
	for i, ck := range certKeys {
		kk := keyKeys[i]
		if cf, kf := v.get(ck), v.get(kk); cf != "" && kf != "" && (ck != certKey || kk != keyKey) {
			if _, err := tls.LoadX509KeyPair(cf, kf); err != nil {
				v.problem(ck, "cannot load it with %s (want PEM files of a certificate and its key): %w", kk, pathless(err))
			}
		}
	}
	return cfg
}

// pathless returns err without the path of a file error, which would quote
// the variable's value.
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
