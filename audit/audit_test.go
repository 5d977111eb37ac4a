package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/audit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if plainBin != "" {
		_ = os.RemoveAll(filepath.Dir(plainBin))
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	plainBin  string
	buildErr  error
)

// plain builds testdata/plain, a net/http service that keeps the contract
// unless BROKEN names a defect.
func plain(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "audit-plain")
		if err != nil {
			buildErr = err
			return
		}
		plainBin = filepath.Join(dir, "plain")
		out, err := exec.Command("go", "build", "-o", plainBin, "./testdata/plain").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return plainBin
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func audited(t *testing.T, env []string, opts audit.Options) audit.Report {
	t.Helper()
	p, err := audit.Start(context.Background(), []string{plain(t)}, audit.StartOptions{Env: env, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	opts.HeaderTimeout = 3 * time.Second
	report, err := audit.Run(context.Background(), p.Target(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

func text(r audit.Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

// TestAPlainServiceThatKeepsTheContractPasses: a service written with
// net/http and grpc-go alone that keeps the rules passes the checks (its
// gRPC ones with GRPC_ADDR set), so the audit judges behaviour, not the
// use of the SDK. All but shutdown.no-loss: a
// stop that loses no request on kept-alive connections needs the
// connection tracking of shutdown.Lifecycle, which this service does not
// copy (TestTheExamplePassesTheAudit in examples/service covers it).
func TestAPlainServiceThatKeepsTheContractPasses(t *testing.T) {
	var ids []string
	for _, c := range audit.Checks() {
		if c.ID != "shutdown.no-loss" {
			ids = append(ids, c.ID)
		}
	}
	report := audited(t, []string{"GRPC_ADDR=127.0.0.1:0"}, audit.Options{Checks: ids, AppPaths: []string{"/hello"}})
	if report.Failed() || len(report.Results) != len(ids) {
		t.Errorf("the audit of a service that keeps the contract:\n%s", text(report))
	}
	for _, r := range report.Results {
		if r.Status != audit.Pass {
			t.Errorf("%s: %s (%s)", r.ID, r.Status, r.Reason)
		}
	}
}

// TestEachDefectFailsItsCheck breaks one rule at a time and shows that the
// check for it fails, with a reason that says what is wrong.
func TestEachDefectFailsItsCheck(t *testing.T) {
	cases := []struct {
		defect string
		check  string // fails
		reason string // in its reason
	}{
		{"nodrain", "shutdown.readiness", "/readyz"},
		{"rawpaths", "metrics.cardinality", "raw request path"},
		{"leak", "secrets.logs", "Authorization bearer token"},
		{"grpc-leak", "secrets.logs", "a bearer token in gRPC metadata"},
		{"opendebug", "debug.guard", "the debug pages are open"},
		{"notimeouts", "timeouts.read-header", "no read-header timeout"},
		{"livedb", "liveness.independent", "db"},
		{"plainclose", "shutdown.no-loss", ""},
		{"grpc-no-health", "grpc.health", "must serve grpc.health.v1"},
		{"grpc-raw-methods", "grpc.metrics", "a method name the server does not have is a label value"},
		{"grpc-reflection", "grpc.reflection", "served by default"},
		{"grpc-no-access", "grpc.access", "want one access line (msg=rpc)"},
		{"grpc-watch-holds", "grpc.stop", "not ended by the server"},
		{"grpc-no-drain", "grpc.stop", `Check on "" is SERVING after SIGTERM, want NOT_SERVING`},
		{"grpc-no-metrics", "grpc.metrics", "no rpc_server_call_duration_seconds histogram"},
		{"grpc-service-lags", "grpc.health", `the service "plain.v1.Lagging" is NOT_SERVING while "" is SERVING`},
	}
	for _, tc := range cases {
		t.Run(tc.defect, func(t *testing.T) {
			checks := []string{tc.check}
			if tc.check == "secrets.logs" {
				checks = []string{"secrets.http", "secrets.logs"} // the first sends the planted credentials
			}
			env := []string{"BROKEN=" + tc.defect}
			if strings.HasPrefix(tc.defect, "grpc-") {
				env = append(env, "GRPC_ADDR=127.0.0.1:0")
			}
			report := audited(t, env, audit.Options{Checks: checks})
			var got *audit.Result
			for i := range report.Results {
				if report.Results[i].ID == tc.check {
					got = &report.Results[i]
				}
			}
			if got == nil || got.Status != audit.Fail || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("BROKEN=%s: want %s to fail with %q:\n%s", tc.defect, tc.check, tc.reason, text(report))
			}
			if !report.Failed() {
				t.Error("Report.Failed() is false")
			}
		})
	}
}

// TestAGRPCListenerAskedForMustBeAnnounced: started with GRPC_ADDR, a
// service that announces no gRPC listener fails to start for the audit,
// saying why, within seconds of /startupz.
func TestAGRPCListenerAskedForMustBeAnnounced(t *testing.T) {
	start := time.Now()
	p, err := audit.Start(context.Background(), []string{plain(t)}, audit.StartOptions{
		Env: []string{"GRPC_ADDR=127.0.0.1:0", "BROKEN=grpc-unannounced"}, StartTimeout: 20 * time.Second})
	if err == nil {
		p.Close()
		t.Fatal("the audit started a service that ignores GRPC_ADDR")
	}
	if !strings.Contains(err.Error(), `no "listening" line for the grpc listener`) {
		t.Errorf("the error does not say why: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("it took %s to give up, want about 5s after /startupz", d)
	}
}

// TestChecksAreSelectedByIDOrPrefix: -checks takes IDs and prefixes, runs
// them in the checklist's order, and refuses an unknown one.
func TestChecksAreSelectedByIDOrPrefix(t *testing.T) {
	report, err := audit.Run(context.Background(), audit.Target{AdminURL: "http://127.0.0.1:1"}, audit.Options{Checks: []string{"shutdown.exit", "probes"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range report.Results {
		ids = append(ids, r.ID+"="+string(r.Status))
	}
	want := "probes.health-json=fail probes.verbose=fail probes.exclude=fail shutdown.exit=skip"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("results %s, want %s", got, want)
	}
	if _, err := audit.Run(context.Background(), audit.Target{}, audit.Options{Checks: []string{"nope"}}); err == nil {
		t.Error("an unknown check was accepted")
	}
}

// TestReportJSON: the JSON form has every result with id and status, for
// a pipeline to gate on.
func TestReportJSON(t *testing.T) {
	r := audit.Report{Target: "svc", Results: []audit.Result{{ID: "a.b", Title: "t", Status: audit.Fail, Reason: "why"}}}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back audit.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Results) != 1 || back.Results[0].Status != audit.Fail || !back.Failed() {
		t.Errorf("JSON round trip: %v %+v\n%s", err, back, b.String())
	}
}

// TestTheReviewersPageListsEveryCheck keeps docs/COMPLIANCE.md's table of
// checks true: every check's id is on it.
func TestTheReviewersPageListsEveryCheck(t *testing.T) {
	page, err := os.ReadFile("../docs/COMPLIANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range audit.Checks() {
		if !strings.Contains(string(page), "`"+c.ID+"`") {
			t.Errorf("docs/COMPLIANCE.md does not list the check %s", c.ID)
		}
	}
}

// TestAWorkerIsJudgedWithoutAppRoutes: a worker (a job loop, no app
// route, no gRPC listener) passes, but metrics.red, which skips with "no
// routed series" once it has judged the histogram of unmatched requests;
// with no app listener at all, the checks
// of app requests skip with the reason, and every other check still runs
// and passes; the gRPC checks skip, with theirs.
func TestAWorkerIsJudgedWithoutAppRoutes(t *testing.T) {
	appChecks := []string{"metrics.red", "metrics.cardinality", "logs.access", "shutdown.no-loss"}
	grpcChecks := []string{"grpc.health", "grpc.metrics", "grpc.reflection", "grpc.access", "grpc.stop"}
	cases := []struct {
		worker string
		skip   []string // skipped, with the no-app reason; the rest pass
		red    string   // in metrics.red's reason, when it runs: it skips
	}{
		{"noroutes", nil, "no routed series"},
		{"noapp", appChecks, ""},
	}
	for _, tc := range cases {
		t.Run(tc.worker, func(t *testing.T) {
			var ids []string
			for _, c := range audit.Checks() {
				if c.ID != "shutdown.no-loss" || tc.worker == "noapp" { // plain has no kept-alive drain (see above)
					ids = append(ids, c.ID)
				}
			}
			report := audited(t, []string{"WORKER=" + tc.worker}, audit.Options{Checks: ids})
			if len(report.Results) != len(ids) {
				t.Fatalf("%d results for %d checks", len(report.Results), len(ids))
			}
			for _, r := range report.Results {
				want := audit.Pass
				if slices.Contains(grpcChecks, r.ID) {
					want = audit.Skip
					if !strings.Contains(r.Reason, "no gRPC listener") {
						t.Errorf("%s skipped for %q, want the no-gRPC reason", r.ID, r.Reason)
					}
				}
				if slices.Contains(tc.skip, r.ID) {
					want = audit.Skip
					if !strings.Contains(r.Reason, "no app listener") || !strings.Contains(r.Reason, "worker") {
						t.Errorf("%s skipped for %q, want the no-app reason", r.ID, r.Reason)
					}
				}
				if r.ID == "metrics.red" && tc.red != "" {
					want = audit.Skip
					if !strings.Contains(r.Reason, tc.red) || !strings.Contains(strings.Join(r.Evidence, "\n"), "series of http_server_request_duration_seconds") {
						t.Errorf("metrics.red skipped for %q with evidence %v, want %q and the histogram judged", r.Reason, r.Evidence, tc.red)
					}
				}
				if r.Status != want {
					t.Errorf("%s: %s, want %s (%s)", r.ID, r.Status, want, r.Reason)
				}
			}
			if t.Failed() {
				t.Log(text(report))
			}
		})
	}
}

// TestAppPathsProveTheRouteLabel: with Options.AppPaths the histogram
// must have a series by route template for them; a path that no route
// serves, or a histogram labelled by raw path only, fails.
func TestAppPathsProveTheRouteLabel(t *testing.T) {
	cases := []struct {
		env    []string
		paths  []string
		status audit.Status
		reason string
	}{
		{nil, []string{"/hello"}, audit.Pass, ""},
		{nil, []string{"/nothing-here"}, audit.Fail, "no path of Options.AppPaths answered below 400"},
		{[]string{"WORKER=noroutes"}, []string{"/hello"}, audit.Fail, "no path of Options.AppPaths answered below 400"},
		{[]string{"BROKEN=noroutelabel"}, []string{"/hello"}, audit.Fail, "not labelled by route template"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(append(tc.env, tc.paths...), " "), func(t *testing.T) {
			report := audited(t, tc.env, audit.Options{Checks: []string{"metrics.red"}, AppPaths: tc.paths})
			r := report.Results[0]
			if r.Status != tc.status || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("metrics.red: %s (%s), want %s with %q\n%s", r.Status, r.Reason, tc.status, tc.reason, text(report))
			}
		})
	}
}
