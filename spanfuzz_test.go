package operable_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

// FuzzSpanAttributesNeverCarryAKnownValue plants a secret the service
// knows, raw or in an encoded form, inside a span's attribute (any key),
// event and name, and checks that what the span processors receive holds
// none of its forms.
func FuzzSpanAttributesNeverCarryAKnownValue(f *testing.F) {
	f.Add("note", "see %s here", uint8(0))
	f.Add("url.full", "https://x.example/cb?code=%s&state=1", uint8(1))
	f.Add("http.request.header.x_custom", "Basic %s", uint8(2))
	f.Add("payload", `{"v":"%s"}`, uint8(3))
	const planted = "fuzz-known-secret-value-77"
	obs := telemetrytest.NewObserver()
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard, Telemetry: obs.Attach})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close(context.Background()) })
	s.MaskSecret(secrets.New(planted))
	forms := []string{
		planted,
		url.QueryEscape(planted),
		base64.StdEncoding.EncodeToString([]byte("user:" + planted)),
		strings.Trim(string(must(json.Marshal(planted))), `"`),
	}
	tracer := s.Tracer("fuzz")
	f.Fuzz(func(t *testing.T, key, template string, form uint8) {
		if key == "" || !strings.Contains(template, "%s") {
			return
		}
		value := strings.Replace(template, "%s", forms[int(form)%len(forms)], 1)
		before := len(obs.Spans())
		_, span := tracer.Start(context.Background(), "op "+value)
		span.SetAttributes(attribute.String(key, value), attribute.StringSlice(key+".list", []string{value}))
		span.AddEvent("event", trace.WithAttributes(attribute.String(key, value)))
		span.End()
		for _, sp := range obs.Spans()[before:] {
			texts := []string{sp.Name()}
			for _, kv := range sp.Attributes() {
				texts = append(texts, kv.Value.String())
			}
			for _, ev := range sp.Events() {
				for _, kv := range ev.Attributes {
					texts = append(texts, kv.Value.String())
				}
			}
			for _, text := range texts {
				for _, fm := range forms {
					if strings.Contains(text, fm) {
						t.Fatalf("a span carries a form of the known secret: %q (key %q)", text, key)
					}
				}
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
