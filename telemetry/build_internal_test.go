package telemetry

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/goleak"
)

// TestBuildFailureShutsDownWhatWasBuilt checks that when an exporter fails
// to build, New stops the readers and processors built before it, whose
// goroutines would run on otherwise. A failing factory is added to the
// table for the test (no test of this package runs in parallel).
func TestBuildFailureShutsDownWhatWasBuilt(t *testing.T) {
	exporters.logs["failing"] = func(*builder) (sdklog.Processor, error) { return nil, errors.New("no collector") }
	defer delete(exporters.logs, "failing")

	_, err := New(context.Background(), Options{Console: io.Discard, Environ: map[string]string{
		"OTEL_METRICS_EXPORTER": "prometheus,console", "OTEL_TRACES_EXPORTER": "console",
		"OTEL_LOGS_EXPORTER": "console,failing",
	}})
	if err == nil || !strings.Contains(err.Error(), "telemetry: logs exporter failing: no collector") {
		t.Fatalf("New = %v, want the failing exporter reported", err)
	}
	goleak.VerifyNone(t)
}
