// Package operabletest runs a service as a black box, the way Kubernetes
// runs it: it builds the service's main package, starts the binary as a
// real process on free loopback ports, waits until its startup probe
// passes, talks HTTP to it, sends it real signals and reads its JSON log
// lines. It is the harness of the contract tests of operable's example
// service (CONTRACT.md), for a service's own tests: they need no build,
// free-port or wait-ready code of their own, and it pairs with
// [github.com/operable-go/operable/shutdown/shutdowntest] to check that a
// stop drops no request.
//
// It runs any binary, not only one built with operable, that keeps the
// start-up part of the contract: it listens on HTTP_ADDR (the application)
// and ADMIN_ADDR (the admin listener), logs one JSON line
// {"msg":"listening","listener":"app"|"admin","addr":"host:port"} on stdout
// per listener once bound, and answers GET /startupz on the admin listener
// with 200 once started. A service built with operable does all three.
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		operabletest.RemoveBuilds()
//		os.Exit(code)
//	}
//
//	func TestStopDropsNothing(t *testing.T) {
//		p := operabletest.Start(t, operabletest.Build(t, "."), "SHUTDOWN_DRAIN_DELAY=1s")
//		shutdowntest.Check(t, shutdowntest.Load{URLs: []string{p.AppURL + "/orders/1"}},
//			p.SignalFunc(syscall.SIGTERM))
//		if code := p.Wait(10 * time.Second); code != 0 {
//			t.Errorf("exit code %d, want 0", code)
//		}
//	}
//
// The harness binds nothing itself and lets the service listen on loopback
// only (127.0.0.1:0, the kernel picks the ports); it fails the test if a
// listener is announced on any other address. Every wait has a timeout, the
// process is killed when the test ends if it still runs, and no goroutine of
// the harness outlives its process. When the test fails, the process's
// stdout and stderr are in the test log.
//
// Limitations: it needs the go command on PATH (go test provides it) and a
// Unix system for the signals; the binary is built without -cover even under
// go test -cover.
package operabletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

const (
	// StartTimeout bounds how long Start waits for both listeners and a
	// passing /startupz, and how long Run lets the process run.
	StartTimeout = 30 * time.Second
	// BuildTimeout bounds one go build.
	BuildTimeout = 5 * time.Minute
	// RequestTimeout bounds every request of Process.Client.
	RequestTimeout = 30 * time.Second
	// waitDelay bounds how long the harness waits for the process's output
	// pipes to close after it exited (a child it started may hold them).
	waitDelay = 5 * time.Second
)

var builds sync.Map // package path → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the main package pkg (an import path, or a directory such
// as "." relative to the test's working directory, its package directory)
// and returns the binary's path. Each package is built once per test
// process, however many tests call Build, and with the race detector when
// the tests run with it (go test -race): a race in the service then prints
// a report on the process's stderr, which fails the test, and makes a
// normal exit return code 66. Build fails the test with the compiler's
// output when the build fails.
//
// The binaries live in temporary directories, which RemoveBuilds deletes:
// call it from TestMain after m.Run. Build is safe for concurrent use.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = goBuild(pkg) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func goBuild(pkg string) (string, error) {
	dir, err := os.MkdirTemp("", "operabletest-")
	if err != nil {
		return "", fmt.Errorf("operabletest: %w", err)
	}
	name := filepath.Base(filepath.Clean(pkg))
	if strings.HasPrefix(name, ".") || name == string(filepath.Separator) {
		name = "service"
	}
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("operabletest: go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// RemoveBuilds deletes the binaries Build made. Call it from TestMain after
// m.Run; a later Build builds again.
func RemoveBuilds() {
	builds.Range(func(k, v any) bool {
		if b := v.(*build); b.path != "" {
			_ = os.RemoveAll(filepath.Dir(b.path))
		}
		builds.Delete(k)
		return true
	})
}

// Process is a service running as a child process of the test. Start,
// StartIn, Run and RunIn make one; its zero value is not usable.
//
// Its methods are safe for concurrent use, but, as with testing.T, the
// ones that fail the test (all but TryGet, PID and SignalFunc) must be
// called from the goroutine running the test.
type Process struct {
	// AppURL and AdminURL are the base URLs of the two listeners, e.g.
	// "http://127.0.0.1:41234", read from the service's "listening" lines.
	// Run and RunIn leave them empty. Do not change them.
	AppURL, AdminURL string
	// Client talks to the process: a client of its own (its idle
	// connections are closed when the test ends) whose timeout,
	// RequestTimeout, bounds every request.
	Client *http.Client

	t   testing.TB
	cmd *exec.Cmd

	mu       sync.Mutex
	lines    [][]byte      // complete stdout lines
	partial  []byte        // the stdout line being written
	stderr   bytes.Buffer  // all of stderr
	grew     chan struct{} // closed and replaced when a line arrives
	exited   chan struct{} // closed when the process has exited and its output is in
	code     int           // exit code, once exited
	reported bool          // the output is already in a failure message
}

// Start runs the binary bin with env ("NAME=value") added to a minimal
// environment: PATH and HOME of the test, HTTP_ADDR and ADMIN_ADDR set to
// 127.0.0.1:0 (env may set them to other loopback addresses), and
// DATABASE_DIR set to a new temporary directory, so that each process has
// an embedded database of its own (a test that restarts a service on the
// same data passes the same DATABASE_DIR to both; DATABASE_URL, when env
// sets it, wins over DATABASE_DIR). Nothing else of the test's environment
// reaches the service, so that a developer's OTEL_* or LOG_LEVEL variables
// cannot change what a test sees.
//
// Start returns once both listeners are announced and GET /startupz on the
// admin listener has answered 200. It fails the test, with the process's
// output, when the process exits first, announces a listener that is not
// on a loopback address, or has not started within StartTimeout. When the
// test ends the process is killed if it still runs, and its output is
// logged if the test failed.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	return StartIn(t, "", bin, env...)
}

// StartIn is Start with the process's working directory set to dir, where
// a service built with operable finds its config/ files ("" for the
// test's own working directory).
func StartIn(t testing.TB, dir, bin string, env ...string) *Process {
	t.Helper()
	p := launch(t, dir, bin, env)
	deadline := time.Now().Add(StartTimeout)
	p.awaitListening(deadline)
	p.awaitStartup(deadline)
	return p
}

// Run runs the binary bin, with env added as for Start, to its end, and
// returns its exit code and stdout lines: it is for services that must not
// start, such as with a bad configuration. It fails the test if the
// process still runs after StartTimeout.
func Run(t testing.TB, bin string, env ...string) (code int, lines []string) {
	t.Helper()
	return RunIn(t, "", bin, env...)
}

// RunIn is Run with the process's working directory set to dir.
func RunIn(t testing.TB, dir, bin string, env ...string) (code int, lines []string) {
	t.Helper()
	p := launch(t, dir, bin, env)
	code = p.Wait(StartTimeout)
	for _, l := range p.rawLines() {
		lines = append(lines, string(l))
	}
	return code, lines
}

func launch(t testing.TB, dir, bin string, env []string) *Process {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HTTP_ADDR=127.0.0.1:0",
		"ADMIN_ADDR=127.0.0.1:0",
		"DATABASE_DIR=" + t.TempDir(),
	}, env...)
	cmd.WaitDelay = waitDelay
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := &Process{
		Client: &http.Client{Transport: tr, Timeout: RequestTimeout},
		t:      t,
		cmd:    cmd,
		grew:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	cmd.Stdout = stdoutWriter{p}
	cmd.Stderr = stderrWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatalf("operabletest: %v", err)
	}
	go p.wait()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited // bounded: Kill ends the process, WaitDelay its pipes
		}
		tr.CloseIdleConnections()
		p.mu.Lock()
		defer p.mu.Unlock()
		if bytes.Contains(p.stderr.Bytes(), []byte("WARNING: DATA RACE")) {
			t.Errorf("operabletest: the race detector found a data race in %s", filepath.Base(bin))
		}
		if t.Failed() && !p.reported {
			t.Logf("operabletest: %s", p.outputLocked())
		}
	})
	return p
}

// wait reaps the process and records its exit code.
func (p *Process) wait() {
	err := p.cmd.Wait()
	code := 0
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	default: // exec.ErrWaitDelay: the process exited 0 but a child kept its output open
		code = p.cmd.ProcessState.ExitCode()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		p.addLineLocked(p.partial)
		p.partial = nil
	}
	p.code = code
	close(p.exited)
}

type stdoutWriter struct{ p *Process }

// Write splits stdout into lines.
func (w stdoutWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			break
		}
		p.addLineLocked(append(p.partial, b[:i]...))
		p.partial = nil
		b = b[i+1:]
	}
	return n, nil
}

func (p *Process) addLineLocked(line []byte) {
	p.lines = append(p.lines, bytes.TrimSuffix(line, []byte("\r")))
	close(p.grew)
	p.grew = make(chan struct{})
}

type stderrWriter struct{ p *Process }

func (w stderrWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

// outputLocked describes the process's output, for a failure message.
func (p *Process) outputLocked() string {
	p.reported = true
	out := string(bytes.Join(p.lines, []byte("\n")))
	if len(p.partial) > 0 {
		out += "\n" + string(p.partial)
	}
	return fmt.Sprintf("process %s stdout:\n%s\nstderr:\n%s", filepath.Base(p.cmd.Path), out, p.stderr.String())
}

// fatalf fails the test with the message and the process's output.
func (p *Process) fatalf(format string, args ...any) {
	p.t.Helper()
	p.mu.Lock()
	out := p.outputLocked()
	p.mu.Unlock()
	p.t.Fatalf("operabletest: %s\n%s", fmt.Sprintf(format, args...), out)
}

// awaitListening reads the "listening" lines until both URLs are known.
func (p *Process) awaitListening(deadline time.Time) {
	p.t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	seen := 0
	for {
		p.mu.Lock()
		lines, grew := p.lines[seen:], p.grew
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(l, &rec) != nil || rec.Msg != "listening" {
				continue
			}
			if rec.Listener != "app" && rec.Listener != "admin" {
				continue
			}
			if !loopback(rec.Addr) {
				p.fatalf("the %s listener is on %q, not a loopback address", rec.Listener, rec.Addr)
			}
			if rec.Listener == "app" {
				p.AppURL = "http://" + rec.Addr
			} else {
				p.AdminURL = "http://" + rec.Addr
			}
		}
		if p.AppURL != "" && p.AdminURL != "" {
			return
		}
		select {
		case <-grew:
		case <-p.exited:
			if p.lineCount() == seen { // nothing left to read
				p.fatalf("the process exited with code %d before both listeners were announced", p.code)
			}
		case <-timer.C:
			p.fatalf("no \"listening\" lines for both the app and admin listeners within %s", StartTimeout)
		}
	}
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// awaitStartup polls the startup probe until it answers 200.
func (p *Process) awaitStartup(deadline time.Time) {
	p.t.Helper()
	if last, ok := p.poll(p.AdminURL, "/startupz", http.StatusOK, deadline); !ok {
		p.fatalf("GET /startupz did not answer 200 within %s; last: %s", StartTimeout, last)
	}
}

// poll sends GET base+path until it answers want (true), the process exits
// or the deadline passes (false, with the last answer or error).
func (p *Process) poll(base, path string, want int, deadline time.Time) (last string, ok bool) {
	for {
		ctx, cancel := context.WithDeadline(context.Background(), earlier(deadline, time.Now().Add(time.Second)))
		resp, body, err := p.TryGet(ctx, base, path)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case resp.StatusCode == want:
			return "", true
		default:
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		select {
		case <-p.exited:
			return fmt.Sprintf("%s; the process exited with code %d", last, p.code), false
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return last, false
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Signal sends sig to the process, or fails the test if it cannot.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.fatalf("signal %v: %v", sig, err)
	}
}

// SignalFunc returns a function that sends sig to the process and returns
// the error, if any: the stop argument of shutdowntest.Check and
// shutdowntest.Measure, which call it from their own goroutine.
func (p *Process) SignalFunc(sig os.Signal) func() error {
	return func() error { return p.cmd.Process.Signal(sig) }
}

// Wait waits for the process to exit and returns its exit code: 128+n when
// it was killed by signal n, 66 when a race-enabled build found a data race.
// It fails the test, with the process's output, after timeout.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.code
	case <-timer.C:
		p.fatalf("the process still runs after %s", timeout)
		return -1
	}
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Get sends GET base+path (base is AppURL or AdminURL) with the given
// headers ("Name: value"; empty ones are skipped) and returns the status
// and body. It fails the test if the request fails.
func (p *Process) Get(base, path string, headers ...string) (status int, body string) {
	p.t.Helper()
	resp, body, err := p.TryGet(context.Background(), base, path, headers...)
	if err != nil {
		p.fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// TryGet is Get returning the error instead of failing the test, with ctx
// bounding the request. The response's body is read and closed.
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
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp, b.String(), err
}

// WaitStatus polls GET base+path until it answers want. It fails the test,
// with the process's output, after timeout or when the process exits first.
func (p *Process) WaitStatus(base, path string, want int, timeout time.Duration) {
	p.t.Helper()
	if last, ok := p.poll(base, path, want, time.Now().Add(timeout)); !ok {
		p.fatalf("GET %s did not answer %d within %s; last: %s", path, want, timeout, last)
	}
}

func (p *Process) rawLines() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.lines...)
}

func (p *Process) lineCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// Logs returns every complete stdout line so far, each decoded as a JSON
// object. It fails the test on a line that is not one: the contract says
// every line is.
func (p *Process) Logs() []map[string]any {
	p.t.Helper()
	var out []map[string]any
	for _, l := range p.rawLines() {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			p.fatalf("a stdout line is not a JSON object: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// GRPCAddr returns the address of the process's gRPC listener ("host:port",
// to dial), read from its "listening" line, waiting for the line up to
// timeout: a service built with operable logs it once its gRPC server
// serves, which may come just after Start returns. It fails the test, with
// the process's output, when the listener is not on a loopback address, or
// when the line does not come within timeout or before the process exits
// (a service without GRPC_ADDR has no gRPC listener).
func (p *Process) GRPCAddr(timeout time.Duration) string {
	p.t.Helper()
	line := p.WaitLog(timeout, func(m map[string]any) bool { return m["msg"] == "listening" && m["listener"] == "grpc" })
	addr, _ := line["addr"].(string)
	if !loopback(addr) {
		p.fatalf("the grpc listener is on %q, not a loopback address", addr)
	}
	return addr
}

// WaitLog waits for a log line that match accepts, among the lines logged
// so far and those to come, and returns it. It fails the test, with the
// process's output, after timeout or when the process exits without one.
func (p *Process) WaitLog(timeout time.Duration, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		grew := p.grew
		p.mu.Unlock()
		select {
		case <-p.exited:
			grew = nil // the lines are all in: one last look
		default:
		}
		for _, m := range p.Logs() {
			if match(m) {
				return m
			}
		}
		if grew == nil {
			p.fatalf("the process exited with code %d without the awaited log line", p.code)
		}
		select {
		case <-grew:
		case <-p.exited:
		case <-timer.C:
			p.fatalf("no matching log line within %s", timeout)
		}
	}
}
