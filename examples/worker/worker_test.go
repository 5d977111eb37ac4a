package main_test

// Black-box tests of the worker template: a real process on loopback
// ports, a real spool directory, real signals, its real stdout.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/operabletest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	operabletest.RemoveBuilds()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

const pkg = "github.com/operable-go/operable/examples/worker"

// start builds the worker and starts it on spool; Start returns once
// /startupz passes.
func start(t *testing.T, spool string, env ...string) *operabletest.Process {
	t.Helper()
	return operabletest.Start(t, operabletest.Build(t, pkg), append([]string{"SPOOL_DIR=" + spool, "POLL_INTERVAL=20ms"}, env...)...)
}

// submit drops a job as a producer must: a hidden temporary file renamed
// into incoming/.
func submit(t *testing.T, spool, id, body string) {
	t.Helper()
	tmp := filepath.Join(spool, "incoming", "."+id+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool, "incoming", id+".json")); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 10ms until it holds, or fails the test with what.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// jobs lists a spool directory's job files.
func jobs(t *testing.T, spool, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(spool, dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// jobLines returns the process's msg=job lines, by job id.
func jobLines(p *operabletest.Process) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, l := range p.Logs() {
		if l["msg"] == "job" {
			id, _ := l["id"].(string)
			out[id] = append(out[id], l)
		}
	}
	return out
}

func TestProbesMetricsAndOneLinePerJob(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	p := start(t, spool, "MAX_JOB_BYTES=400", "MAX_JOB_WORK=1s")
	for _, path := range []string{"/livez", "/readyz", "/startupz"} {
		resp, body, err := p.TryGet(t.Context(), p.AdminURL, path+"?verbose")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/health+json" {
			t.Errorf("GET %s?verbose = %d %s, want 200 application/health+json; body %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if path == "/readyz" && !strings.Contains(body, `"spool"`) {
			t.Errorf("/readyz?verbose does not list the spool check: %s", body)
		}
	}
	cases := []struct {
		id, body, outcome string
	}{
		{"ok", `{"text":"three small words","work":"10ms"}`, "done"},
		{"not-json", `{"text":`, "failed"},
		{"unknown-field", `{"text":"x","priority":1}`, "failed"},
		{"trailing", `{"text":"x"} {}`, "failed"},
		{"too-large", `{"text":"` + strings.Repeat("a", 500) + `"}`, "failed"},
		{"long-field", `{"` + strings.Repeat("f", 300) + `":1}`, "failed"},
		{"too-long", `{"text":"x","work":"5s"}`, "failed"},
	}
	for _, c := range cases {
		submit(t, spool, c.id, c.body)
	}
	for _, c := range cases {
		dir := map[string]string{"done": "done", "failed": "failed"}[c.outcome]
		waitFor(t, 10*time.Second, c.id+" in "+dir+"/", func() bool { return exists(filepath.Join(spool, dir, c.id+".json")) })
	}
	var res struct {
		ID     string `json:"id"`
		Words  int    `json:"words"`
		SHA256 string `json:"sha256"`
	}
	b, err := os.ReadFile(filepath.Join(spool, "done", "ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil || res.ID != "ok" || res.Words != 3 || len(res.SHA256) != 64 {
		t.Errorf("done/ok.json = %s (%v), want id ok, 3 words, a sha256", b, err)
	}
	// The same id again is a duplicate: dropped, the result untouched.
	submit(t, spool, "ok", `{"text":"other words"}`)
	p.WaitLog(10*time.Second, func(l map[string]any) bool { return l["msg"] == "job" && l["outcome"] == "duplicate" })
	if again, _ := os.ReadFile(filepath.Join(spool, "done", "ok.json")); !bytes.Equal(again, b) {
		t.Errorf("a duplicate rewrote the result: %s, was %s", again, b)
	}
	lines := jobLines(p)
	for _, c := range cases {
		ls := lines[c.id]
		if c.id == "ok" {
			ls = ls[:1]
		}
		if len(ls) != 1 || ls[0]["outcome"] != c.outcome || ls[0]["duration"] == nil {
			t.Errorf("job %s: log lines %v, want one with outcome %s and a duration", c.id, ls, c.outcome)
		}
	}
	if left := jobs(t, spool, "work"); len(left) != 0 {
		t.Errorf("claims left in work/: %v", left)
	}
	// The log quotes a job's file only so far.
	if ls := lines["long-field"]; len(ls) == 1 {
		if e, _ := ls[0]["error"].(string); len(e) > 250 || !strings.Contains(e, "unknown field") {
			t.Errorf("the error of a job with a 300-byte field name is %d bytes: %q", len(e), e)
		}
	}
	// The backlog follows incoming/: a file that is not a job is not one.
	if err := os.WriteFile(filepath.Join(spool, "incoming", "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, body := p.Get(p.AdminURL, "/metrics")
	for _, want := range []string{
		`worker_jobs_total{`, `outcome="done"`, `outcome="failed"`, `outcome="duplicate"`,
		`worker_job_duration_seconds_bucket{`, `worker_job_duration_seconds_count{`,
		`worker_backlog{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "worker_jobs_total{") && strings.Contains(l, `outcome="failed"`) && !strings.HasSuffix(l, " 6") {
			t.Errorf("%s, want 6 failed jobs", l)
		}
		if strings.HasPrefix(l, "worker_backlog{") && !strings.HasSuffix(l, " 0") {
			t.Errorf("%s, want an empty backlog", l)
		}
	}
}

func TestReadinessFailsWhileTheSpoolIsGoneAndRecovers(t *testing.T) {
	t.Parallel()
	spool := filepath.Join(t.TempDir(), "spool")
	p := start(t, spool)
	// Gone at once, as an unmounted volume is (a RemoveAll would race
	// with the worker making its directories again).
	if err := os.Rename(spool, spool+".gone"); err != nil {
		t.Fatal(err)
	}
	p.WaitStatus(p.AdminURL, "/readyz", http.StatusServiceUnavailable, 10*time.Second)
	// Liveness does not follow a dependency.
	if code, body := p.Get(p.AdminURL, "/livez"); code != http.StatusOK {
		t.Errorf("/livez = %d while the spool is gone, want 200: %s", code, body)
	}
	if _, body := p.Get(p.AdminURL, "/readyz?verbose"); !strings.Contains(body, `"spool"`) || !strings.Contains(body, `"fail"`) {
		t.Errorf("/readyz?verbose does not name the failing spool check: %s", body)
	}
	// The volume comes back (empty): the worker makes its directories
	// again and takes jobs.
	if err := os.Mkdir(spool, 0o750); err != nil {
		t.Fatal(err)
	}
	p.WaitStatus(p.AdminURL, "/readyz", http.StatusOK, 10*time.Second)
	submit(t, spool, "after", `{"text":"back"}`)
	waitFor(t, 10*time.Second, "the job after the outage", func() bool { return exists(filepath.Join(spool, "done", "after.json")) })
	p.WaitLog(time.Second, func(l map[string]any) bool { return l["msg"] == "cannot take jobs" })
	p.WaitLog(time.Second, func(l map[string]any) bool { return l["msg"] == "taking jobs again" })
}

func TestSIGTERMDuringAJobFinishesItAndExits0(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	p := start(t, spool, "SHUTDOWN_DRAIN_DELAY=500ms")
	submit(t, spool, "long", `{"text":"held in hand","work":"2s"}`)
	waitFor(t, 10*time.Second, "the claim", func() bool { return exists(filepath.Join(spool, "work", "long.json")) })
	submit(t, spool, "next", `{"text":"not taken before the restart"}`)
	p.Signal(syscall.SIGTERM)
	p.WaitStatus(p.AdminURL, "/readyz", http.StatusServiceUnavailable, time.Second)
	if code := p.Wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !exists(filepath.Join(spool, "done", "long.json")) {
		t.Error("the job in hand has no result")
	}
	if left := jobs(t, spool, "work"); len(left) != 0 {
		t.Errorf("claims left in work/: %v", left)
	}
	// No job is taken once the stop began.
	if got := jobs(t, spool, "incoming"); len(got) != 1 || got[0] != "next.json" {
		t.Errorf("incoming/ = %v, want the job submitted during the stop", got)
	}
	if ls := jobLines(p)["long"]; len(ls) != 1 || ls[0]["outcome"] != "done" {
		t.Errorf("log lines of the job in hand: %v, want one done", ls)
	}
	p.WaitLog(time.Second, func(l map[string]any) bool { return l["msg"] == "shutdown complete" && l["outcome"] == "clean" })
}

func TestAJobOverTheStopBudgetGoesBackToIncoming(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	p := start(t, spool, "JOB_STOP_TIMEOUT=500ms", "SHUTDOWN_TIMEOUT=5s")
	submit(t, spool, "endless", `{"text":"too long for the stop","work":"30s"}`)
	waitFor(t, 10*time.Second, "the claim", func() bool { return exists(filepath.Join(spool, "work", "endless.json")) })
	begin := time.Now()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("the stop took %s with a 500ms job budget", d)
	}
	if got := jobs(t, spool, "incoming"); len(got) != 1 || got[0] != "endless.json" {
		t.Errorf("incoming/ = %v, want the job handed back", got)
	}
	if exists(filepath.Join(spool, "done", "endless.json")) || len(jobs(t, spool, "work")) != 0 {
		t.Error("a job stopped by the budget left a result or a claim")
	}
	if ls := jobLines(p)["endless"]; len(ls) != 1 || ls[0]["outcome"] != "requeued" {
		t.Errorf("log lines: %v, want one requeued", ls)
	}
}

func TestNoJobIsLostOrDoneTwiceAcrossASIGTERMAndARestart(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	const n = 40
	env := []string{"CONCURRENCY=3"}
	// The jobs are there before the worker first starts.
	if err := os.MkdirAll(filepath.Join(spool, "incoming"), 0o750); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		submit(t, spool, fmt.Sprintf("job-%02d", i), `{"text":"a b c","work":"40ms"}`)
	}
	first := start(t, spool, env...)
	waitFor(t, 20*time.Second, "a third of the jobs", func() bool { return len(jobs(t, spool, "done")) >= n/3 })
	first.Signal(syscall.SIGTERM)
	if code := first.Wait(15 * time.Second); code != 0 {
		t.Fatalf("first run: exit code %d, want 0", code)
	}
	if got := len(jobs(t, spool, "done")); got == n {
		t.Fatal("every job was done before the stop; the test proves nothing")
	}
	second := start(t, spool, env...)
	waitFor(t, 30*time.Second, "every job", func() bool { return len(jobs(t, spool, "done")) == n })
	second.Signal(syscall.SIGTERM)
	if code := second.Wait(15 * time.Second); code != 0 {
		t.Fatalf("second run: exit code %d, want 0", code)
	}
	done := map[string]int{}
	for _, p := range []*operabletest.Process{first, second} {
		for id, ls := range jobLines(p) {
			for _, l := range ls {
				if l["outcome"] == "done" {
					done[id]++
				}
			}
		}
	}
	for i := range n {
		id := fmt.Sprintf("job-%02d", i)
		if done[id] != 1 {
			t.Errorf("%s was done %d times, want once", id, done[id])
		}
	}
	if len(done) != n {
		t.Errorf("%d ids done, want %d", len(done), n)
	}
	for _, dir := range []string{"incoming", "work", "failed"} {
		if left := jobs(t, spool, dir); len(left) != 0 {
			t.Errorf("%s/ still holds %v", dir, left)
		}
	}
}

func TestClaimsLeftByACrashAreRecovered(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	// A real crash: SIGKILL while a job is in hand leaves its claim.
	p := start(t, spool)
	submit(t, spool, "killed", `{"text":"interrupted","work":"3s"}`)
	waitFor(t, 10*time.Second, "the claim", func() bool { return exists(filepath.Join(spool, "work", "killed.json")) })
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
	// And the crash between a result and the end of its claim, and a
	// half-written result.
	result := []byte(`{"id":"committed","words":1,"sha256":"x","worked":"0s"}` + "\n")
	for name, body := range map[string][]byte{
		"work/committed.json":        []byte(`{"text":"already done"}`),
		"done/committed.json":        result,
		"done/.half.123.tmp":         []byte(`{"id":`),
		"work/.probe-123":            nil,
		"work/requeued-by-hand.json": []byte(`{"text":"claimed, never started"}`),
	} {
		if err := os.WriteFile(filepath.Join(spool, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again := start(t, spool, "MAX_JOB_WORK=1m")
	l := again.WaitLog(5*time.Second, func(l map[string]any) bool { return l["msg"] == "claims recovered" })
	if l["finished"] != 1.0 || l["requeued"] != 2.0 {
		t.Errorf("claims recovered: %v, want 1 finished and 2 requeued", l)
	}
	// Their results, and their claims dropped (a moment after each result).
	waitFor(t, 20*time.Second, "the requeued jobs", func() bool {
		return exists(filepath.Join(spool, "done", "killed.json")) && exists(filepath.Join(spool, "done", "requeued-by-hand.json")) &&
			len(jobs(t, spool, "work")) == 0
	})
	if b, _ := os.ReadFile(filepath.Join(spool, "done", "committed.json")); !bytes.Equal(b, result) {
		t.Errorf("the finished claim was done again: %s", b)
	}
	lines := jobLines(again)
	if len(lines["committed"]) != 0 {
		t.Errorf("the finished claim was taken again: %v", lines["committed"])
	}
	if exists(filepath.Join(spool, "done", ".half.123.tmp")) || exists(filepath.Join(spool, "work", ".probe-123")) {
		t.Error("the half-written result or the check's probe is still there")
	}
	if ls := lines["killed"]; len(ls) != 1 || ls[0]["outcome"] != "done" {
		t.Errorf("the job cut by the crash: log lines %v after the restart, want one done", ls)
	}
}

func TestBadSettingsExit78NamingTheVariable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ env, name string }{
		{"CONCURRENCY=0", "CONCURRENCY"},
		{"CONCURRENCY=1000", "CONCURRENCY"},
		{"MAX_JOB_BYTES=0", "MAX_JOB_BYTES"},
		{"POLL_INTERVAL=1ns", "POLL_INTERVAL"},
		{"MAX_JOB_WORK=-1s", "MAX_JOB_WORK"},
		{"JOB_STOP_TIMEOUT=0s", "JOB_STOP_TIMEOUT"},
		// The jobs' budget must fit in the SDK's stop.
		{"JOB_STOP_TIMEOUT=23s", "JOB_STOP_TIMEOUT"},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Parallel()
			code, lines := operabletest.Run(t, operabletest.Build(t, pkg), "SPOOL_DIR="+t.TempDir(), c.env)
			if code != 78 {
				t.Fatalf("exit code %d, want 78; output:\n%s", code, strings.Join(lines, "\n"))
			}
			if out := strings.Join(lines, "\n"); !strings.Contains(out, c.name) {
				t.Errorf("the message does not name %s:\n%s", c.name, out)
			}
		})
	}
}
