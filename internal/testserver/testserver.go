// Package testserver runs the real servers of the integration tests (a
// Collector, Prometheus, Vault, Redis) on loopback, from the binaries that
// make test provides through environment variables. Used only by tests.
package testserver

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/syncbuf"
)

// Tool returns the value of the variable name, the path make test gives
// for a real server. Without it the test is skipped, unless
// OPERABLE_INTEGRATION=1 (make test sets it), where it fails: CI never
// skips an integration test in silence.
func Tool(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("OPERABLE_INTEGRATION") == "1" {
			t.Fatalf("%s is not set; make test sets it from scripts/", name)
		}
		t.Skipf("%s is not set: make test runs this test against the real server", name)
	}
	return v
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Server is a running server process.
type Server struct {
	// Output is what the process wrote to stdout and stderr.
	Output *syncbuf.Buffer
	cmd    *exec.Cmd
	done   chan struct{}
	t      testing.TB
	name   string
}

// Start runs bin with args until Stop or the end of the test, and waits
// (up to a minute) until addr accepts connections. The output is logged
// when the test fails.
func Start(t testing.TB, addr, bin string, args ...string) *Server {
	t.Helper()
	s := &Server{Output: &syncbuf.Buffer{}, done: make(chan struct{}), t: t, name: filepath.Base(bin)}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.Output, s.Output
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", s.name, s.Output)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited before listening on %s:\n%s", s.name, addr, s.Output)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after a minute", s.name, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for the process to exit, killing it after
// ten seconds. Stopping twice is harmless.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
