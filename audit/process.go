package audit

import (
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

	"github.com/operable-go/operable/audit/internal/capture"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

// StartOptions tune [Start] and [StartWith].
type StartOptions struct {
	// Env is added to the service's environment ("NAME=value"), after the
	// audit's own settings, so it can override them.
	Env []string
	// Dir is the service's working directory, where it finds config/; a
	// command's only ([Start]). Default: the current directory.
	Dir string
	// StartTimeout bounds the start: both listeners announced and
	// /startupz answering 200. Default: 60s.
	StartTimeout time.Duration
}

// A Launcher starts instances of a service for the audit: the first one,
// a second one to load through its stop (shutdown.no-loss), and short runs
// that must fail at start-up (exit.config, exit.usage). [Start] launches a
// command; package audit/inprocess launches a service built with the root
// package inside the test's own process.
type Launcher interface {
	// Launch starts one instance with env ("NAME=value", each replacing
	// the variable of that name it would otherwise see) and args (its
	// command-line arguments). The instance lives until it stops or ctx
	// ends; ctx's end stops or kills it. A launcher that cannot pass args
	// returns an error wrapping [errors.ErrUnsupported], and the checks
	// that need them are skipped.
	Launch(ctx context.Context, env, args []string) (Instance, error)
}

// An Instance is one running instance of a service, as a [Launcher]
// started it. Its methods are safe for concurrent use.
type Instance interface {
	// Output returns what the instance wrote so far on stdout (its logs)
	// and on stderr.
	Output() (stdout, stderr string)
	// Stop begins its stop, as SIGTERM does to a process (for a process,
	// it is SIGTERM).
	Stop() error
	// Wait waits at most d for the instance to end and returns its exit
	// code; ended is false when it still runs.
	Wait(d time.Duration) (code int, ended bool)
}

// Process is a service the audit started, through [Start] or
// [StartWith]. Its methods are safe for concurrent use. Close it when done.
type Process struct {
	// AdminURL and AppURL are the listeners' base URLs, read from the
	// service's "listening" log lines; AppURL is empty for a service that
	// announced no app listener (a worker may have none).
	AdminURL, AppURL string
	// GRPCAddr is the gRPC listener's host:port, read from its "listening"
	// line (listener "grpc"); empty for a service that announced none. The
	// audit starts a service with one when StartOptions.Env sets GRPC_ADDR
	// (to 127.0.0.1:0: a free port).
	GRPCAddr string

	grpcScheme string // "grpc", or "grpcs" for TLS
	launcher   Launcher
	name       string // for the report
	opts       StartOptions
	env        []string // what the audit sets, then opts.Env
	dataDir    string   // the DATABASE_DIR the audit made; removed by Close
	token      string   // the ADMIN_TOKEN the audit set: a planted value too
	inst       Instance
	cancel     context.CancelFunc

	mu       sync.Mutex
	signaled bool // the stop begun
}

// Start runs command as a service on free loopback ports and returns once
// it has started. The audit sets, in the environment the service inherits,
// HTTP_ADDR and ADMIN_ADDR to 127.0.0.1:0, ADMIN_TOKEN to a random value
// (a planted secret: no output may show it), SHUTDOWN_DRAIN_DELAY to 1s
// (so that readiness can be watched failing before the listeners close)
// and DATABASE_DIR to a temporary directory of its own, removed by Close,
// so that the audit never writes into a service's data (a DATABASE_URL in
// the environment still wins over it).
// Every check can run against it.
func Start(ctx context.Context, command []string, opts StartOptions) (*Process, error) {
	if len(command) == 0 {
		return nil, errors.New("audit: no command to start")
	}
	return StartWith(ctx, commandLauncher{command: slices.Clone(command), dir: opts.Dir}, opts)
}

// StartWith is [Start] for any [Launcher]: it launches an instance with
// the same settings (HTTP_ADDR, ADMIN_ADDR, ADMIN_TOKEN,
// SHUTDOWN_DRAIN_DELAY, DATABASE_DIR, then opts.Env) and waits for its "listening" lines
// and for /startupz to answer 200; when opts.Env sets GRPC_ADDR
// ("GRPC_ADDR=127.0.0.1:0"), for the gRPC listener's line too. The report names the service by the
// launcher's String method when it has one.
func StartWith(ctx context.Context, l Launcher, opts StartOptions) (*Process, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	name := "the service"
	if s, ok := l.(fmt.Stringer); ok {
		name = s.String()
	}
	dataDir, err := os.MkdirTemp("", "operable-audit-data-")
	if err != nil {
		return nil, fmt.Errorf("audit: start %s: %w", name, err)
	}
	p := &Process{launcher: l, name: name, opts: opts, token: randomValue("token"), dataDir: dataDir}
	p.env = append([]string{"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0", "ADMIN_TOKEN=" + p.token, "SHUTDOWN_DRAIN_DELAY=1s", "DATABASE_DIR=" + dataDir}, opts.Env...)
	// The instance outlives ctx, which bounds only the start: Close ends it.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inst, err := l.Launch(life, p.env, nil)
	if err != nil {
		cancel()
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("audit: start %s: %w", name, err)
	}
	p.inst, p.cancel = inst, cancel
	ctx, stop := context.WithTimeout(ctx, opts.StartTimeout)
	defer stop()
	if err := p.awaitStarted(ctx); err != nil {
		tail := p.tail()
		_ = p.Close()
		return nil, fmt.Errorf("audit: %s did not start: %w\n%s", name, err, tail)
	}
	return p, nil
}

// Target is the process as a target of [Run].
func (p *Process) Target() Target {
	return Target{AdminURL: p.AdminURL, AppURL: p.AppURL, GRPCAddr: p.GRPCAddr, Process: p}
}

// closeBound is how long Close waits for the instance to end once its
// context is cancelled (a process is killed; a service in process stops).
const closeBound = 40 * time.Second

// Close ends the instance if it still runs (a process is killed) and waits
// for it, at most 40s, then removes the data directory the audit gave it.
func (p *Process) Close() error {
	p.cancel()
	if _, ended := p.inst.Wait(closeBound); !ended {
		return fmt.Errorf("audit: %s did not end within %s of its context's end", p.name, closeBound)
	}
	if err := os.RemoveAll(p.dataDir); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// lines returns the complete stdout lines so far.
func (p *Process) lines() []string {
	s, _ := p.inst.Output()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// maxStopLines bounds the log lines stopLines returns.
const maxStopLines = 20

// stopLines are the service's log lines from its "shutdown started" on
// that say how the stop went (its phases, warnings and errors), at most
// maxStopLines: the evidence of a failed stop check.
func (p *Process) stopLines() []string {
	var out []string
	started := false
	for _, line := range p.lines() {
		var rec struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		started = started || rec.Msg == "shutdown started"
		if !started || rec.Level == "INFO" && !strings.HasPrefix(rec.Msg, "shutdown") {
			continue
		}
		if len(out) == maxStopLines {
			out = append(out, "…")
			break
		}
		out = append(out, line)
	}
	return out
}

// tail is the end of the output, for an error.
func (p *Process) tail() string {
	stdout, stderr := p.inst.Output()
	out := stdout + stderr
	if len(out) > 4096 {
		out = "…" + out[len(out)-4096:]
	}
	return out
}

// appGrace is how long the audit still waits for the app listener's
// "listening" line once /startupz passes: a service may bind it last, and
// a worker may have none.
const appGrace = 500 * time.Millisecond

// awaitStarted waits for the admin listener's "listening" line, then for
// /startupz, then (at most appGrace more) for the app listener's line.
func (p *Process) awaitStarted(ctx context.Context) error {
	for p.readListeners(); p.AdminURL == ""; p.readListeners() {
		if code, ended := p.inst.Wait(0); ended {
			return fmt.Errorf("it exited with %d", code)
		}
		select {
		case <-ctx.Done():
			return errors.New("no \"listening\" line for the admin listener")
		case <-time.After(20 * time.Millisecond):
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.AdminURL+"/startupz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if code, ended := p.inst.Wait(0); ended {
			return fmt.Errorf("it exited with %d", code)
		}
		select {
		case <-ctx.Done():
			return errors.New("/startupz never answered 200")
		case <-time.After(50 * time.Millisecond):
		}
	}
	for deadline := time.Now().Add(appGrace); p.AppURL == "" && time.Now().Before(deadline); p.readListeners() {
		time.Sleep(20 * time.Millisecond)
	}
	// Asked for a gRPC listener, the service must announce it, soon.
	ctx, cancel := context.WithTimeout(ctx, grpcGrace)
	defer cancel()
	for p.readListeners(); p.wantsGRPC() && p.GRPCAddr == ""; p.readListeners() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("GRPC_ADDR set, and no \"listening\" line for the grpc listener within %s of /startupz: does it serve gRPC?", grpcGrace)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// grpcGrace is how long the audit waits for the gRPC listener's
// "listening" line once /startupz passes, when it set GRPC_ADDR.
const grpcGrace = 5 * time.Second

// wantsGRPC reports whether the environment the audit gives the service
// sets GRPC_ADDR.
func (p *Process) wantsGRPC() bool {
	v := ""
	for _, kv := range p.env {
		if name, val, _ := strings.Cut(kv, "="); name == "GRPC_ADDR" {
			v = val
		}
	}
	return v != ""
}

// jsonLinesWith returns the stdout lines that contain s and are JSON
// objects, decoded.
func (p *Process) jsonLinesWith(s string) []map[string]any {
	var out []map[string]any
	for _, l := range p.lines() {
		var m map[string]any
		if strings.Contains(l, s) && json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// readListeners sets AdminURL, AppURL and GRPCAddr from the "listening" lines so
// far.
func (p *Process) readListeners() {
	for _, l := range p.lines() {
		var line struct{ Msg, Listener, Addr, Scheme string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "listening" {
			base := line.Scheme + "://" + line.Addr
			switch line.Listener {
			case "admin":
				p.AdminURL = base
			case "app":
				p.AppURL = base
			case "grpc":
				p.GRPCAddr, p.grpcScheme = line.Addr, line.Scheme
			}
		}
	}
}

// stop begins the stop once.
func (p *Process) stop() error {
	p.mu.Lock()
	already := p.signaled
	p.signaled = true
	p.mu.Unlock()
	if already {
		return nil
	}
	return p.inst.Stop()
}

// stopName says how the instance is stopped, for the evidence.
func (p *Process) stopName() string {
	if _, ok := p.launcher.(commandLauncher); ok {
		return "SIGTERM"
	}
	return "Instance.Stop"
}

// wait waits for the exit, at most d, and returns the code.
func (p *Process) wait(d time.Duration) (int, bool) { return p.inst.Wait(d) }

// plantedValues are the values the audit put in the process's
// environment that no output may show.
func (p *Process) plantedValues() []string {
	if p == nil {
		return nil
	}
	return []string{p.token}
}

// runAgain launches the service once more with env and args added, to its
// end within timeout, and returns its exit code and output. An error
// wrapping errors.ErrUnsupported says the launcher cannot take args.
func (p *Process) runAgain(ctx context.Context, timeout time.Duration, env []string, args ...string) (code int, output string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	inst, err := p.launcher.Launch(ctx, append(slices.Clone(p.env), env...), args)
	if err != nil {
		return 0, "", err
	}
	code, ended := inst.Wait(timeout)
	if !ended {
		cancel()
		inst.Wait(closeBound)
	}
	stdout, stderr := inst.Output()
	if !ended {
		return 0, stdout + stderr, fmt.Errorf("still running after %s", timeout)
	}
	return code, stdout + stderr, nil
}

// commandLauncher runs a command as a process.
type commandLauncher struct {
	command []string
	dir     string
}

func (c commandLauncher) String() string { return strings.Join(c.command, " ") }

// Launch runs the command with args added, in the current environment
// with env's variables replacing those of the same names.
func (c commandLauncher) Launch(ctx context.Context, env, args []string) (Instance, error) {
	names := make([]string, len(env))
	for i, kv := range env {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	p := &processInstance{exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, c.command[0], append(slices.Clone(c.command[1:]), args...)...)
	p.cmd.Env, p.cmd.Dir = append(withoutVars(os.Environ(), names...), env...), c.dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = 5 * time.Second // a child left holding its output cannot hold Wait
	if err := p.cmd.Start(); err != nil {
		return nil, err // exec's error names the command; StartWith prefixes it
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	return p, nil
}

// processInstance is a process commandLauncher started.
type processInstance struct {
	cmd            *exec.Cmd
	stdout, stderr capture.Buffer
	exited         chan struct{}
	code           int // set before exited is closed
}

func (p *processInstance) Output() (string, string) { return p.stdout.String(), p.stderr.String() }

func (p *processInstance) Stop() error { return p.cmd.Process.Signal(syscall.SIGTERM) }

func (p *processInstance) Wait(d time.Duration) (int, bool) {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
		}
	}
	select {
	case <-p.exited:
		return p.code, true
	default:
		return 0, false
	}
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
	evidence := []string{fmt.Sprintf("50ms after the stop began (%s): /readyz %d, /livez %d", p.stopName(), ready.status, live.status)}
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
		return fail(fmt.Sprintf("still running %s after %s", stopBound, p.stopName()))
	}
	evidence := []string{fmt.Sprintf("exit %d, %s after the check began", code, time.Since(start).Round(100*time.Millisecond))}
	if code != 0 {
		return fail(fmt.Sprintf("exit %d after %s, want 0", code, p.stopName()), evidence...)
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
	if p.AppURL == "" {
		return skip(noApp)
	}
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
	stdout, stderr := a.target.Process.inst.Output()
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
	if errors.Is(err, errors.ErrUnsupported) {
		return skip(err.Error())
	}
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
	if p.AppURL == "" {
		return skip(noApp)
	}
	q, err := StartWith(ctx, p.launcher, p.opts)
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
		evidence = append(evidence, report.Failures...)
		evidence = append(evidence, fmt.Sprintf("exit %d; the service's stop, as it logged it:", code))
		return fail(fmt.Sprintf("%d accepted requests failed or got a 5xx", report.Failed), append(evidence, q.stopLines()...)...)
	case report.Succeeded == 0:
		return fail("no request succeeded", evidence...)
	case !ok:
		return fail(fmt.Sprintf("still running %s after SIGTERM", stopBound), evidence...)
	case code != 0:
		return fail(fmt.Sprintf("exit %d after SIGTERM under load, want 0", code), evidence...)
	}
	return pass(evidence...)
}
