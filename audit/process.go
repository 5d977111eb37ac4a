package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/operable-go/operable/shutdown/shutdowntest"
)

// StartOptions tune [Start].
type StartOptions struct {
	// Env is added to the service's environment ("NAME=value"), after the
	// audit's own settings, so it can override them.
	Env []string
	// Dir is the service's working directory, where it finds config/.
	// Default: the current directory.
	Dir string
	// StartTimeout bounds the start: both listeners announced and
	// /startupz answering 200. Default: 60s.
	StartTimeout time.Duration
}

// maxOutput bounds what the audit keeps of a service's stdout, and of its
// stderr.
const maxOutput = 32 << 20

// Process is a service the audit started. Its methods are safe for
// concurrent use. Close it when done.
type Process struct {
	// AdminURL and AppURL are the listeners' base URLs, read from the
	// service's "listening" log lines.
	AdminURL, AppURL string

	command []string
	opts    StartOptions
	env     []string
	token   string // the ADMIN_TOKEN the audit set: a planted value too
	cmd     *exec.Cmd

	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	grew     chan struct{} // closed and replaced when stdout grows
	exited   chan struct{}
	code     int
	signaled bool // SIGTERM sent
}

// Start runs command as a service on free loopback ports and returns once
// it has started. The audit sets, in the environment the service inherits,
// HTTP_ADDR and ADMIN_ADDR to 127.0.0.1:0, ADMIN_TOKEN to a random value
// (a planted secret: no output may show it) and SHUTDOWN_DRAIN_DELAY to 1s
// (so that readiness can be watched failing before the listeners close).
func Start(ctx context.Context, command []string, opts StartOptions) (*Process, error) {
	if len(command) == 0 {
		return nil, errors.New("audit: no command to start")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	p := &Process{command: command, opts: opts, token: randomValue("token")}
	p.env = append(withoutVars(os.Environ(), "HTTP_ADDR", "ADMIN_ADDR", "ADMIN_TOKEN", "SHUTDOWN_DRAIN_DELAY"),
		"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0", "ADMIN_TOKEN="+p.token, "SHUTDOWN_DRAIN_DELAY=1s")
	p.env = append(p.env, opts.Env...)
	if err := p.launch(command[1:], p.env); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := p.awaitStarted(ctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("audit: %s did not start: %w\n%s", command[0], err, p.tail())
	}
	return p, nil
}

// Target is the process as a target of [Run].
func (p *Process) Target() Target {
	return Target{AdminURL: p.AdminURL, AppURL: p.AppURL, Process: p}
}

// Close kills the process if it still runs and waits for it.
func (p *Process) Close() error {
	select {
	case <-p.exited:
		return nil
	default:
		_ = p.cmd.Process.Kill() // an error means it has exited meanwhile
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		return errors.New("audit: the process did not end within 10s of SIGKILL")
	}
	return nil
}

func (p *Process) launch(args, env []string) error {
	p.cmd = exec.Command(p.command[0], args...)
	p.cmd.Env, p.cmd.Dir = env, p.opts.Dir
	p.cmd.Stdout, p.cmd.Stderr = writerFunc(p.writeStdout), writerFunc(p.writeStderr)
	p.grew, p.exited = make(chan struct{}), make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("audit: start %s: %w", p.command[0], err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.mu.Lock()
		p.code = p.cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		close(p.exited)
	}()
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *Process) writeStdout(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdout.Len() < maxOutput {
		p.stdout.Write(b[:min(len(b), maxOutput-p.stdout.Len())])
	}
	close(p.grew)
	p.grew = make(chan struct{})
	return len(b), nil
}

func (p *Process) writeStderr(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stderr.Len() < maxOutput {
		p.stderr.Write(b[:min(len(b), maxOutput-p.stderr.Len())])
	}
	return len(b), nil
}

// lines returns the complete stdout lines so far.
func (p *Process) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stdout.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// tail is the end of the output, for an error.
func (p *Process) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.stdout.String() + p.stderr.String()
	if len(out) > 4096 {
		out = "…" + out[len(out)-4096:]
	}
	return out
}

// awaitStarted waits for the two "listening" lines, then for /startupz.
func (p *Process) awaitStarted(ctx context.Context) error {
	for p.AdminURL == "" || p.AppURL == "" {
		p.mu.Lock()
		grew := p.grew
		p.mu.Unlock()
		for _, l := range p.lines() {
			var line struct{ Msg, Listener, Addr, Scheme string }
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "listening" {
				base := line.Scheme + "://" + line.Addr
				switch line.Listener {
				case "admin":
					p.AdminURL = base
				case "app":
					p.AppURL = base
				}
			}
		}
		if p.AdminURL != "" && p.AppURL != "" {
			break
		}
		select {
		case <-grew:
		case <-p.exited:
			return fmt.Errorf("it exited with %d", p.exitCode())
		case <-ctx.Done():
			return errors.New("no \"listening\" lines for both listeners")
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.AdminURL+"/startupz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("it exited with %d", p.exitCode())
		case <-ctx.Done():
			return errors.New("/startupz never answered 200")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *Process) exitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

// stop sends SIGTERM once.
func (p *Process) stop() error {
	p.mu.Lock()
	already := p.signaled
	p.signaled = true
	p.mu.Unlock()
	if already {
		return nil
	}
	return p.cmd.Process.Signal(syscall.SIGTERM)
}

// wait waits for the exit, at most d, and returns the code.
func (p *Process) wait(d time.Duration) (int, bool) {
	select {
	case <-p.exited:
		return p.exitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// plantedValues are the values the audit put in the process's
// environment that no output may show.
func (p *Process) plantedValues() []string {
	if p == nil {
		return nil
	}
	return []string{p.token}
}

// runAgain runs the command once more with env and extra arguments added,
// to its end within timeout, and returns its exit code and output.
func (p *Process) runAgain(ctx context.Context, timeout time.Duration, env []string, args ...string) (code int, output string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.command[0], append(slices.Clone(p.command[1:]), args...)...)
	cmd.Env, cmd.Dir = append(slices.Clone(p.env), env...), p.opts.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		return 0, out.String(), fmt.Errorf("still running after %s", timeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, out.String(), err
	}
	return cmd.ProcessState.ExitCode(), out.String(), nil
}

func withoutVars(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

func (a *auditor) checkStopReadiness(ctx context.Context) Result {
	p := a.target.Process
	if err := p.stop(); err != nil {
		return fail("SIGTERM: " + err.Error())
	}
	time.Sleep(50 * time.Millisecond) // the signal is delivered
	ready, err := a.get(ctx, p.AdminURL, "/readyz")
	if err != nil {
		return fail("GET /readyz just after SIGTERM: " + err.Error() + " (the admin listener must answer through the drain)")
	}
	live, err := a.get(ctx, p.AdminURL, "/livez")
	if err != nil {
		return fail("GET /livez just after SIGTERM: " + err.Error())
	}
	evidence := []string{fmt.Sprintf("50ms after SIGTERM: /readyz %d, /livez %d", ready.status, live.status)}
	switch {
	case ready.status != http.StatusServiceUnavailable:
		return fail(fmt.Sprintf("/readyz answered %d after SIGTERM, want 503: the load balancer keeps sending traffic to a stopping pod", ready.status), evidence...)
	case live.status != http.StatusOK:
		return fail(fmt.Sprintf("/livez answered %d during the drain, want 200: a restart would cut the drain", live.status), evidence...)
	}
	return pass(evidence...)
}

// stopBound is how long the audit waits for a stopping service: the
// contract's SHUTDOWN_TIMEOUT of 25s, with margin.
const stopBound = 40 * time.Second

func (a *auditor) checkStopExit(ctx context.Context) Result {
	p := a.target.Process
	start := time.Now()
	if err := p.stop(); err != nil {
		return fail("SIGTERM: " + err.Error())
	}
	code, ok := p.wait(stopBound)
	if !ok {
		return fail(fmt.Sprintf("still running %s after SIGTERM", stopBound))
	}
	evidence := []string{fmt.Sprintf("exit %d, %s after the check began", code, time.Since(start).Round(100*time.Millisecond))}
	if code != 0 {
		return fail(fmt.Sprintf("exit %d after SIGTERM, want 0", code), evidence...)
	}
	if !slices.ContainsFunc(p.lines(), func(l string) bool { return strings.Contains(l, `"msg":"shutdown complete"`) }) {
		evidence = append(evidence, `no "shutdown complete" line`)
	}
	return pass(evidence...)
}

func (a *auditor) checkLogsJSON(context.Context) Result {
	lines := a.target.Process.lines()
	if len(lines) == 0 {
		return fail("nothing on stdout")
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return fail(fmt.Sprintf("stdout line %d is not a JSON object", i+1))
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				return fail(fmt.Sprintf("stdout line %d has no %q", i+1, k))
			}
		}
	}
	return pass(fmt.Sprintf("%d lines, each a JSON object with time, level and msg", len(lines)))
}

func (a *auditor) checkAccessLog(ctx context.Context) Result {
	p := a.target.Process
	id := randomValue("rid")
	if _, err := a.get(ctx, p.AppURL, "/", "X-Request-ID", id); err != nil {
		return fail("GET / on the app listener: " + err.Error())
	}
	var found []map[string]any
	for deadline := time.Now().Add(2 * time.Second); len(found) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range p.lines() {
			var m map[string]any
			if strings.Contains(l, id) && json.Unmarshal([]byte(l), &m) == nil && m["request_id"] == id {
				found = append(found, m)
			}
		}
	}
	if len(found) != 1 {
		return fail(fmt.Sprintf("%d lines with the request's X-Request-ID as request_id, want one access line", len(found)))
	}
	for _, k := range []string{"method", "status", "duration"} {
		if _, ok := found[0][k]; !ok {
			return fail(fmt.Sprintf("the access line has no %q", k))
		}
	}
	return pass(fmt.Sprintf("one line with request_id: msg %v, status %v", found[0]["msg"], found[0]["status"]))
}

func (a *auditor) checkSecretsLogs(context.Context) Result {
	p := a.target.Process
	p.mu.Lock()
	stdout, stderr := p.stdout.String(), p.stderr.String()
	p.mu.Unlock()
	for i := range a.planted {
		for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
			if strings.Contains(out, a.planted[i]) {
				return fail(fmt.Sprintf("%s shows a planted value (%s)", name, a.describePlanted(i)))
			}
		}
	}
	return pass(fmt.Sprintf("%d planted values searched in %d bytes of stdout and %d of stderr", len(a.planted), len(stdout), len(stderr)))
}

func (a *auditor) checkExitConfig(ctx context.Context) Result {
	bad := randomValue("level")
	code, out, err := a.target.Process.runAgain(ctx, 30*time.Second, []string{"LOG_LEVEL=" + bad})
	if err != nil {
		return fail("LOG_LEVEL set to a value that is no level: " + err.Error())
	}
	evidence := []string{fmt.Sprintf("LOG_LEVEL set to a value that is no level: exit %d", code)}
	switch {
	case code != 78:
		return fail(fmt.Sprintf("exit %d, want 78 (EX_CONFIG)", code), evidence...)
	case strings.Contains(out, bad):
		return fail("the error quotes the bad value", evidence...)
	case !strings.Contains(out, "LOG_LEVEL"):
		return fail("the output does not name LOG_LEVEL", evidence...)
	}
	return pass(evidence...)
}

func (a *auditor) checkExitUsage(ctx context.Context) Result {
	code, _, err := a.target.Process.runAgain(ctx, 30*time.Second, nil, "-operable-audit-no-such-flag")
	if err != nil {
		return fail("with an unknown flag: " + err.Error())
	}
	if code != 64 {
		return fail(fmt.Sprintf("exit %d with an unknown flag, want 64 (EX_USAGE)", code))
	}
	return pass("exit 64 with an unknown flag")
}

func (a *auditor) checkNoLoss(ctx context.Context) Result {
	// A second instance, so that the stop checks of the first one see a
	// service that was not loaded: each stop is judged on its own.
	p := a.target.Process
	q, err := Start(ctx, p.command, p.opts)
	if err != nil {
		return fail("a second instance to load: " + err.Error())
	}
	defer q.Close()
	report, err := shutdowntest.Measure(ctx, shutdowntest.Load{
		URLs: []string{q.AppURL + "/"}, Clients: 16, KeptAlive: true, Warmup: 300 * time.Millisecond, Timeout: stopBound,
	}, q.stop)
	if err != nil {
		return fail("the load: " + err.Error())
	}
	evidence := []string{"16 kept-alive clients POSTing / through SIGTERM: " + report.String()}
	code, ok := q.wait(stopBound)
	switch {
	case report.Lost > 0:
		return fail(fmt.Sprintf("%d requests written on a kept-alive connection were never answered: the server closed connections under them (send Connection: close during the drain)", report.Lost), evidence...)
	case report.Failed > 0:
		return fail(fmt.Sprintf("%d accepted requests failed or got a 5xx", report.Failed), append(evidence, report.Failures...)...)
	case report.Succeeded == 0:
		return fail("no request succeeded", evidence...)
	case !ok:
		return fail(fmt.Sprintf("still running %s after SIGTERM", stopBound), evidence...)
	case code != 0:
		return fail(fmt.Sprintf("exit %d after SIGTERM under load, want 0", code), evidence...)
	}
	return pass(evidence...)
}
