package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The probe benchmarks serve /readyz (probes.go) and start measuring once
// every check has a first result.

// waitAllUp waits until the handler answers 200: every check has run.
func waitAllUp(tb testing.TB, h http.Handler) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("probe still %d after 10s", rec.Code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func benchProbe(b *testing.B, newProbe func() (http.Handler, func(), error)) {
	h, stop, err := newProbe()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	waitAllUp(b, h)
	serveRequest(b, h, "/readyz")
}

// BenchmarkProbeOperable is our cached /readyz: server time per probe.
func BenchmarkProbeOperable(b *testing.B) { benchProbe(b, OperableProbe) }

// BenchmarkProbeAlexliesenfeld is the anchor's, configured the same way.
func BenchmarkProbeAlexliesenfeld(b *testing.B) { benchProbe(b, AlexliesenfeldProbe) }
