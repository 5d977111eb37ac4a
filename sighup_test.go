package operable_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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

// TestSIGHUPDuringStartUpNeitherEndsNorIsLost sends this test process a
// real SIGHUP while New waits for a Vault login that never answers: the
// process lives on (the default action would end the test binary), and
// once a service is built a SIGHUP caught before its worker ran is served.
func TestSIGHUPDuringStartUpNeitherEndsNorIsLost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn // accepted, never answered: the login waits
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
	}()
	_, err = operable.New(ctx, operable.Options{Stdout: io.Discard,
		Environ: loopbackEnv("VAULT_ADDR", "http://"+ln.Addr().String(), "VAULT_TOKEN", "root-token-for-the-test")})
	if err == nil {
		t.Fatal("New logged in to a Vault that never answers")
	}

	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil { // before Run: caught, held
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "SIGHUP: reloading"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the SIGHUP sent before Run was not served:\n%s", out.String())
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
