// Package servicetest runs a service built on operable as a black box: it
// builds the binary, starts it as a real process on free loopback ports,
// talks HTTP to it, sends it real signals and reads its JSON log lines.
//
// It is the harness of the contract tests (CONTRACT.md); later work adds
// its checks with it.
package servicetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for both listeners.
const StartTimeout = 15 * time.Second

var builds sync.Map // package path → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the main package pkg (an import path or ./dir) once per test
// process, with the race detector when the tests run with it, and returns
// the binary's path. The binary lives in a temporary
// directory that [Cleanup] removes; call it from TestMain after m.Run.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "operable-servicetest-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, pkg)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Cleanup removes the binaries Build made.
func Cleanup() {
	builds.Range(func(k, v any) bool {
		if b := v.(*build); b.path != "" {
			_ = os.RemoveAll(filepath.Dir(b.path))
		}
		builds.Delete(k)
		return true
	})
}

// Process is a running service.
type Process struct {
	// AppURL and AdminURL are the base URLs of the two listeners, e.g.
	// "http://127.0.0.1:41234".
	AppURL, AdminURL string
	// Client talks to the process; its timeout bounds every request.
	Client *http.Client

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  [][]byte
	stderr bytes.Buffer
	grew   chan struct{} // closed and replaced when a line arrives
	exited chan struct{}
	code   int
}

// Start runs the binary with env added to a minimal environment (PATH, HOME,
// and HTTP_ADDR and ADMIN_ADDR on free loopback ports, which env may
// override), and waits until both listeners are bound. The process is killed
// when the test ends if it is still running, and its output is logged if the
// test failed.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	return StartIn(t, "", bin, env...)
}

// StartIn is Start with the process's working directory set to dir, where
// it finds its config/ files ("" for the test's own).
func StartIn(t testing.TB, dir, bin string, env ...string) *Process {
	t.Helper()
	p := launch(t, bin, dir, env)
	deadline := time.After(StartTimeout)
	for p.AppURL == "" || p.AdminURL == "" {
		p.mu.Lock()
		for _, l := range p.lines {
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(l, &rec) == nil && rec.Msg == "listening" {
				switch rec.Listener {
				case "app":
					p.AppURL = "http://" + rec.Addr
				case "admin":
					p.AdminURL = "http://" + rec.Addr
				}
			}
		}
		grew := p.grew
		p.mu.Unlock()
		if p.AppURL != "" && p.AdminURL != "" {
			break
		}
		select {
		case <-grew:
		case <-p.exited:
			t.Fatalf("servicetest: process exited with code %d before listening", p.code)
		case <-deadline:
			t.Fatalf("servicetest: no listening lines within %s", StartTimeout)
		}
	}
	return p
}

// Run runs the binary to its end (for start-up failures) and returns its exit
// code and stdout lines. It fails the test if the process runs longer than
// StartTimeout.
func Run(t testing.TB, bin string, env ...string) (code int, lines []string) {
	t.Helper()
	return RunIn(t, "", bin, env...)
}

// RunIn is Run in the working directory dir.
func RunIn(t testing.TB, dir, bin string, env ...string) (code int, lines []string) {
	t.Helper()
	p := launch(t, bin, dir, env)
	code = p.Wait(StartTimeout)
	for _, l := range p.rawLines() {
		lines = append(lines, string(l))
	}
	return code, lines
}

func launch(t testing.TB, bin, dir string, env []string) *Process {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HTTP_ADDR=127.0.0.1:0",
		"ADMIN_ADDR=127.0.0.1:0",
	}, env...)
	p := &Process{
		Client: &http.Client{Timeout: 30 * time.Second},
		t:      t,
		cmd:    cmd,
		grew:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("servicetest: process output:\n%s\nstderr:\n%s", bytes.Join(p.lines, []byte("\n")), p.stderr.String())
			p.mu.Unlock()
		}
	})
	return p
}

// read collects stdout lines until the process ends, then reaps it.
func (p *Process) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		p.mu.Lock()
		p.lines = append(p.lines, line)
		close(p.grew)
		p.grew = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		p.code = 0
	case errors.As(err, &exit):
		p.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
	default:
		p.code = -1
	}
	close(p.exited)
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("servicetest: signal %v: %v", sig, err)
	}
}

// Wait waits for the process to exit and returns its exit code (128+n when
// killed by signal n). It fails the test after timeout.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(timeout):
		p.t.Fatalf("servicetest: process still running after %s", timeout)
		return -1
	}
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Get sends GET base+path with the given headers ("Name: value") and
// returns the status and body.
func (p *Process) Get(base, path string, headers ...string) (int, string) {
	p.t.Helper()
	resp, body, err := p.TryGet(context.Background(), base, path, headers...)
	if err != nil {
		p.t.Fatalf("servicetest: GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// TryGet is Get returning the error instead of failing the test.
func (p *Process) TryGet(ctx context.Context, base, path string, headers ...string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, "", err
	}
	for _, h := range headers {
		if h == "" {
			continue
		}
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// WaitStatus polls GET base+path until it answers want, or fails the test
// after timeout.
func (p *Process) WaitStatus(base, path string, want int, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, body, err := p.TryGet(ctx, base, path)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case resp.StatusCode == want:
			return
		default:
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("servicetest: GET %s did not answer %d within %s; last: %s", path, want, timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *Process) rawLines() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.lines...)
}

// Logs returns every stdout line so far, decoded as a JSON object. It fails
// the test on a line that is not one: the contract says every line is.
func (p *Process) Logs() []map[string]any {
	p.t.Helper()
	var out []map[string]any
	for _, l := range p.rawLines() {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			p.t.Fatalf("servicetest: stdout line is not a JSON object: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// WaitLog waits for a log line that match accepts and returns it, or fails
// the test after timeout.
func (p *Process) WaitLog(timeout time.Duration, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		grew := p.grew
		p.mu.Unlock()
		for _, m := range p.Logs() {
			if match(m) {
				return m
			}
		}
		select {
		case <-grew:
		case <-p.exited:
			for _, m := range p.Logs() {
				if match(m) {
					return m
				}
			}
			p.t.Fatalf("servicetest: process exited without the awaited log line")
		case <-deadline:
			p.t.Fatalf("servicetest: no matching log line within %s", timeout)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}
