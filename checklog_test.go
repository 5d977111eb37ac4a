package operable_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/syncbuf"
)

// TestCheckStatusLinesSayOnlyRealChanges: "health check status changed"
// is logged once per change of a check's status, not once per probe, and
// not for a check's first pass, which would read as the recovery of a
// check that never failed ("from fail to pass" at the first probe of a
// check run on demand, as the SDK's ping is).
func TestCheckStatusLinesSayOnlyRealChanges(t *testing.T) {
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	var failing atomic.Bool
	if err := s.AddCheck(health.Check{Name: "flaky", Groups: health.Readiness, Func: func(context.Context) error {
		if failing.Load() {
			return errors.New("down")
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	defer func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	admin := ""
	re := regexp.MustCompile(`"listener":"admin","addr":"([^"]+)"`)
	for deadline := time.Now().Add(5 * time.Second); admin == ""; time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			admin = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin listening line: %s", out.String())
		}
	}
	probe := func(want int) {
		t.Helper()
		for range 3 {
			resp, err := http.Get("http://" + admin + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("/readyz = %d, want %d", resp.StatusCode, want)
			}
		}
	}
	changes := func() (lines []string) {
		for _, l := range strings.Split(out.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "health check status changed" {
				lines = append(lines, m["check"].(string)+" "+m["from"].(string)+"→"+m["to"].(string))
			}
		}
		return lines
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never passed")
		}
	}
	probe(http.StatusOK)
	for _, c := range changes() {
		if strings.HasPrefix(c, "flaky ") {
			t.Errorf("a first pass logged as a change: %s", c)
		}
	}
	before := len(changes())
	failing.Store(true)
	probe(http.StatusServiceUnavailable)
	failing.Store(false)
	probe(http.StatusOK)
	var got []string
	for _, c := range changes()[before:] {
		if strings.HasPrefix(c, "flaky ") {
			got = append(got, c)
		}
	}
	if want := []string{"flaky pass→fail", "flaky fail→pass"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("status lines after the first pass = %q, want %q (one a change, none a probe)", got, want)
	}
}
