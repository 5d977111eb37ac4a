package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/internal/httpmeta"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/telemetry"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

// planted is a secret value put into every part of a span; plantedKey
// names an attribute whose value is secret whatever it is.
const (
	planted    = "pl4nt3d-s3cr3t"
	plantedKey = "auth.token"
)

// testRedactor masks planted anywhere and the whole value of plantedKey,
// as the root's redactor masks known values and sensitive keys.
var testRedactor = telemetry.RedactorFunc(func(key, value string) string {
	if key == plantedKey {
		return "[REDACTED]"
	}
	return strings.ReplaceAll(value, planted, "[REDACTED]")
})

// spanText renders every piece of text a span exports.
func spanText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	attrs := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.String())
		}
	}
	b.WriteString(s.Name())
	attrs(s.Attributes())
	for _, e := range s.Events() {
		b.WriteString(" event " + e.Name)
		attrs(e.Attributes)
	}
	for _, l := range s.Links() {
		b.WriteString(" link")
		attrs(l.Attributes)
	}
	b.WriteString(" status " + s.Status().Description)
	attrs(s.Resource().Attributes())
	return b.String()
}

// recordSecrets plants the secret in every part of a span the API can
// reach: its name, attributes of each string kind (at start and later),
// an event, a recorded error, a link and the status; and serves one request
// whose path carries it.
func recordSecrets(p *telemetry.Provider) {
	tr := p.TracerProvider().Tracer("t")
	link := trace.Link{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{1}}),
		Attributes:  []attribute.KeyValue{attribute.String("link.note", "to "+planted)},
	}
	_, span := tr.Start(context.Background(), "work "+planted,
		trace.WithAttributes(attribute.String(plantedKey, "opaque-token"), attribute.String("url.query", "q="+planted)),
		trace.WithLinks(link))
	span.SetAttributes(attribute.StringSlice("tags", []string{"ok", planted}), attribute.Int("count", 3),
		attribute.String("note", "kept"))
	span.AddEvent("retry "+planted, trace.WithAttributes(attribute.String("cause", planted)))
	span.RecordError(errors.New("dial https://u:" + planted + "@db"))
	span.SetStatus(codes.Error, "failed with "+planted)
	span.End()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
	h := p.Middleware(httpmeta.CaptureRoute(mux))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/"+planted, nil))
}

// TestSpansAreMaskedBeforeAnyProcessor checks that with a Redactor, no
// span processor (the observer, given through SpanProcessors) nor
// exporter (the console's, behind its batch processor) ever gets a planted
// value, in any part of any span, nor in the resource; and that what
// holds no secret is kept. Without a Redactor, the same spans carry it, so
// the check can see it.
func TestSpansAreMaskedBeforeAnyProcessor(t *testing.T) {
	env := map[string]string{
		"OTEL_TRACES_EXPORTER":     "console",
		"OTEL_RESOURCE_ATTRIBUTES": plantedKey + "=" + planted + ",team=" + planted + "-ops",
	}

	var rawConsole bytes.Buffer
	raw, rawObs := telemetrytest.New(t, telemetry.Options{Environ: env, Console: &rawConsole})
	recordSecrets(raw)
	if err := raw.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if spans := rawObs.Spans(); len(spans) != 2 || !strings.Contains(spanText(spans[0]), planted) ||
		!strings.Contains(rawConsole.String(), planted) {
		t.Fatalf("without a Redactor the secret was not recorded, so this test proves nothing")
	}

	var console bytes.Buffer
	p, obs := telemetrytest.New(t, telemetry.Options{Environ: env, Console: &console, Redactor: testRedactor})
	recordSecrets(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := obs.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for _, s := range spans {
		if text := spanText(s); strings.Contains(text, planted) || strings.Contains(text, "opaque-token") {
			t.Errorf("the observer got a secret:\n%s", text)
		}
	}
	if out := console.String(); strings.Contains(out, planted) || strings.Contains(out, "opaque-token") ||
		!strings.Contains(out, `"Name":"work [REDACTED]"`) {
		t.Errorf("the console exporter got a secret, or not the masked span:\n%s", out)
	}
	want := []string{"note=kept", "count=3", `tags=["ok","[REDACTED]"]`, "url.path=/items/[REDACTED]",
		"http.route=/items/{id}", plantedKey + "=[REDACTED]", "team=[REDACTED]-ops", "service.name="}
	text := spanText(spans[0]) + spanText(spans[1])
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("spans lack %s:\n%s", w, text)
		}
	}
}

// TestResourceIsMaskedInTargetInfo checks that a secret in the resource
// (OTEL_RESOURCE_ATTRIBUTES, which /metrics serves to anyone as
// target_info) is masked there.
func TestResourceIsMaskedInTargetInfo(t *testing.T) {
	env := map[string]string{"OTEL_RESOURCE_ATTRIBUTES": plantedKey + "=opaque-token,region=eu-" + planted}
	raw, _ := telemetrytest.New(t, telemetry.Options{Environ: env})
	if got := scrape(t, raw, ""); !strings.Contains(got, "opaque-token") {
		t.Fatalf("without a Redactor target_info lacks the planted value, so this test proves nothing:\n%s", got)
	}
	p, _ := telemetrytest.New(t, telemetry.Options{Environ: env, Redactor: testRedactor})
	got := scrape(t, p, "")
	var info string
	for line := range strings.Lines(got) {
		if strings.HasPrefix(line, "target_info{") {
			info = line
		}
	}
	if info == "" || strings.Contains(got, planted) || strings.Contains(got, "opaque-token") ||
		!strings.Contains(info, `auth_token="[REDACTED]"`) || !strings.Contains(info, `region="eu-[REDACTED]"`) {
		t.Errorf("target_info = %q, want the planted values masked", info)
	}
}

// TestRedactorSeesOnlyStrings checks what a Redactor is given: every string
// value and string slice element with its key, names and descriptions
// with "", and nothing else; and that a span it changes nothing in is
// handed on as it is.
func TestRedactorSeesOnlyStrings(t *testing.T) {
	var seen []string
	r := telemetry.RedactorFunc(func(key, value string) string {
		seen = append(seen, key+"="+value)
		return value
	})
	ended := &lastSpan{}
	p, _ := telemetrytest.New(t, telemetry.Options{Redactor: r, SpanProcessors: []sdktrace.SpanProcessor{ended}})
	seen = nil // the resource's
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "name")
	span.SetAttributes(attribute.String("s", "v"), attribute.StringSlice("ss", []string{"a", "b"}),
		attribute.Int("i", 1), attribute.Bool("b", true), attribute.Float64("f", 1.5))
	span.AddEvent("ev", trace.WithAttributes(attribute.String("e", "w")))
	span.SetStatus(codes.Error, "desc")
	span.End()
	got := strings.Join(seen, " ")
	if want := "=name s=v ss=a ss=b =ev e=w =desc"; got != want {
		t.Errorf("the Redactor saw %q, want %q", got, want)
	}
	if typ := fmt.Sprintf("%T", ended.span); strings.Contains(typ, "telemetry") {
		t.Errorf("an unchanged span was handed on as a %s, want the SDK's own", typ)
	}
}

// lastSpan is a span processor that keeps the last span it got.
type lastSpan struct {
	discardSpans
	span sdktrace.ReadOnlySpan
}

func (l *lastSpan) OnEnd(s sdktrace.ReadOnlySpan) { l.span = s }

// BenchmarkSpan measures a server span through the middleware, with and
// without a Redactor of the root package's cost, so that the cost
// redaction adds per span shows.
func BenchmarkSpan(b *testing.B) {
	for _, c := range []struct {
		name string
		r    telemetry.Redactor
	}{{"plain", nil}, {"redacted", benchRedactor}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := telemetry.New(context.Background(), telemetry.Options{
				Environ: map[string]string{}, SpanProcessors: []sdktrace.SpanProcessor{discardSpans{}}, Redactor: c.r,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
			h := p.Middleware(httpmeta.CaptureRoute(mux))
			req := httptest.NewRequest("GET", "/items/42?page=2", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

// benchRedactor costs what the root package's does on a clean span: a
// sensitive-key lookup and logging.Mask (secret shapes, three known
// values) on every string.
var benchRedactor = func() telemetry.Redactor {
	known := &logging.KnownValues{}
	for _, v := range []string{"admin-token-0123456789", "db-password-abcdef", "api-key-zyxwvu"} {
		known.Add(v)
	}
	keys := map[string]bool{}
	for _, k := range logging.DefaultSensitiveKeys() {
		keys[k] = true
	}
	return telemetry.RedactorFunc(func(key, value string) string {
		if value == "" {
			return value
		}
		if i := strings.LastIndexAny(key, "._"); keys[key] || i >= 0 && keys[key[i+1:]] {
			return "[REDACTED]"
		}
		return logging.Mask(value, known)
	})
}()

// discardSpans is a span processor that drops what it gets, so that the
// benchmark measures the span, not an exporter.
type discardSpans struct{}

func (discardSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardSpans) Shutdown(context.Context) error                  { return nil }
func (discardSpans) ForceFlush(context.Context) error                { return nil }
