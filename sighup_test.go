package operable_test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
)

// TestSIGHUPReloadsAndNeverEndsTheProcess sends this test process a real
// SIGHUP while a service runs in it: the service logs the reload and keeps
// serving (SIGHUP's default action would end the whole test binary), and
// then stops cleanly.
func TestSIGHUPReloadsAndNeverEndsTheProcess(t *testing.T) {
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /hi", func(w http.ResponseWriter, r *http.Request) {})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s\n%s", what, out.String())
			}
		}
	}
	waitFor("listening", func() bool { return strings.Count(out.String(), `"msg":"listening"`) == 2 })
	for range 2 {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor("the SIGHUP line", func() bool { return strings.Count(out.String(), "SIGHUP: reloading") == 2 })
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
