package healthtest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/checkers"
	"github.com/operable-go/operable/health/healthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The kit against the SDK's own checks and probes.

func TestCheckersFollowTheRules(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for name, fn := range map[string]healthtest.Check{
		"tcp":        checkers.TCP(ln.Addr().String()),
		"dns":        checkers.DNS(nil, "localhost"),
		"disk":       checkers.DiskFree(t.TempDir(), 1),
		"goroutines": checkers.Goroutines(1 << 20),
		"heap":       checkers.HeapBytes(1 << 40),
	} {
		t.Run(name, func(t *testing.T) {
			healthtest.RunCheck(t, func(*testing.T) healthtest.Check { return fn })
		})
	}
}

func TestProbeHandlerFollowsTheRules(t *testing.T) {
	for _, failing := range []bool{false, true} {
		var c health.Checker
		_ = c.Add(health.Check{Name: "db", Func: func(context.Context) error {
			if failing {
				return errors.New("secret reason")
			}
			return nil
		}})
		_ = c.Add(health.Check{Name: "cache", NonCritical: true, Func: func(context.Context) error { return errors.New("cold") }})
		p := healthtest.Probe{Handler: c.Handler(health.Readiness, health.HandlerOptions{}), Path: "/readyz"}
		if err := healthtest.TestProbe(p); err != nil {
			t.Errorf("failing=%v: %v", failing, err)
		}
	}
}

// The kit must catch what it promises to catch.

func TestKitCatchesABadCheck(t *testing.T) {
	ignoresContext := func(context.Context) error { time.Sleep(400 * time.Millisecond); return nil }
	panics := func(context.Context) error { panic("boom") }
	cases := []struct {
		name string
		fn   healthtest.Check
		want []string
	}{
		{"ignores its context", ignoresContext, []string{"cancelled-context", "deadline"}},
		{"panics", panics, []string{"no-panic", "concurrent"}},
	}
	for _, c := range cases {
		err := healthtest.TestCheck(c.fn)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: TestCheck = %v, want it to name %s", c.name, err, w)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // let the sleeping calls end before goleak looks
}

func TestKitCatchesABadProbe(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(`{"status":"fail","checks":{"db":[{"status":"fail","output":"password=hunter2"}]}}`))
	})
	err := healthtest.TestProbe(healthtest.Probe{Handler: bad, Path: "/readyz"})
	for _, w := range []string{"content-type", "status-code", "no-output-for-anonymous", "not-cached", "head"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("TestProbe = %v, want it to name %s", err, w)
		}
	}
}
