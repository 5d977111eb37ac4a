package logging_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/operable-go/operable/logging"
)

// memoryExporter keeps what the OpenTelemetry logs SDK would send to a
// collector, rendered as text.
type memoryExporter struct {
	mu   sync.Mutex
	text strings.Builder
}

func (e *memoryExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range recs {
		e.text.WriteString(r.Body().String())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			e.text.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
			return true
		})
		e.text.WriteString("\n")
	}
	return nil
}
func (e *memoryExporter) Shutdown(context.Context) error   { return nil }
func (e *memoryExporter) ForceFlush(context.Context) error { return nil }
func (e *memoryExporter) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.text.String()
}

func bridge(t *testing.T) (slog.Handler, *memoryExporter) {
	exp := &memoryExporter{}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return otelslog.NewHandler("test", otelslog.WithLoggerProvider(provider)), exp
}

func logSecrets(l *slog.Logger) {
	l.Info("token "+jwt, "c", creds{User: "bob", Password: keyedVal, URL: "https://u:" + urlPass + "@h"})
	l.Info("m", "authorization", "Bearer "+bearer)
}

// TestOpenTelemetryBridgeGetsTheRedactedRecord: the bridge prints structs
// with %+v, password fields included; behind the redactor it gets nothing.
func TestOpenTelemetryBridgeGetsTheRedactedRecord(t *testing.T) {
	raw, rawExp := bridge(t)
	logSecrets(slog.New(raw))
	if !strings.Contains(rawExp.String(), keyedVal) {
		t.Fatalf("the bare bridge did not export the planted secret, so this test proves nothing:\n%s", rawExp)
	}

	h, exp := bridge(t)
	l, err := logging.New(logging.Options{Writer: io.Discard, Sinks: []logging.Sink{{Handler: h}}})
	if err != nil {
		t.Fatal(err)
	}
	logSecrets(l)
	out := exp.String()
	for _, p := range planted {
		if strings.Contains(out, p) {
			t.Errorf("the bridge exported %q:\n%s", p, out)
		}
	}
	if !strings.Contains(out, "bob") || !strings.Contains(out, "[REDACTED]") {
		t.Errorf("the bridge lost the record or its readable parts:\n%s", out)
	}
}
