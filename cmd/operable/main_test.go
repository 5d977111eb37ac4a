package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operable-go/operable/audit"
)

// TestCommandLine: the exit codes pipelines rely on (0 no failure, 1 a
// check failed, 2 a usage error) and the listing of checks.
func TestCommandLine(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string // in stdout, or in stderr when the code is 2
	}{
		{nil, 2, "usage:"},
		{[]string{"lint"}, 2, "usage:"},
		{[]string{"audit"}, 2, "give either -admin URL or -- COMMAND"},
		{[]string{"audit", "-admin", "http://127.0.0.1:1", "--", "svc"}, 2, "give either -admin URL or -- COMMAND"},
		{[]string{"audit", "-list"}, 0, "shutdown.no-loss"},
		{[]string{"audit", "-admin", "http://127.0.0.1:1", "-checks", "nope"}, 2, `no check "nope"`},
		{[]string{"audit", "-admin", "http://127.0.0.1:1", "-checks", "probes.health-json"}, 1, "FAIL  probes.health-json"},
		{[]string{"audit", "-json", "-admin", "http://127.0.0.1:1", "-checks", "shutdown.exit"}, 0, `"status": "skip"`},
		{[]string{"audit", "-app-path", "hello", "-admin", "http://127.0.0.1:1"}, 2, "a path starts with /"},
		{[]string{"audit", "-admin", "http://127.0.0.1:1", "-checks", "grpc.health"}, 0, "SKIP  grpc.health"},
		{[]string{"audit", "-admin", "http://127.0.0.1:1", "-grpc", "127.0.0.1:1", "-checks", "grpc.health"}, 1, "FAIL  grpc.health"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, &out, &errOut)
		where := out.String()
		if c.code == 2 {
			where = errOut.String()
		}
		if code != c.code || !strings.Contains(where, c.out) {
			t.Errorf("%v: exit %d, want %d with %q in\n%s%s", c.args, code, c.code, c.out, out.String(), errOut.String())
		}
	}
}

// TestTheUsageNamesEveryFlag: -h prints the usage lines and every flag of
// audit, -sarif, -app-path and -grpc among them.
func TestTheUsageNamesEveryFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"audit", "-h"}, &out, &errOut); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	usage, _, _ := strings.Cut(errOut.String(), "  -")
	for _, f := range []string{"-json", "-sarif", "-checks", "-app-path", "-token", "-admin", "-app URL", "-grpc", "-list"} {
		if !strings.Contains(usage, f) {
			t.Errorf("the usage lines do not name %s:\n%s", f, usage)
		}
	}
}

// TestFlagsReachTheAudit: against a service the audit starts (the audit's
// own testdata/plain), -grpc 127.0.0.1:0 starts it with a gRPC listener
// that grpc.health then judges, and -app-path gives metrics.red the path
// whose route label it proves.
func TestFlagsReachTheAudit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plain")
	if out, err := exec.Command("go", "build", "-o", bin, "../../audit/testdata/plain").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"audit", "-json", "-checks", "metrics.red,grpc.health", "-app-path", "/hello", "-app-path", "/hello?x=1",
		"-grpc", "127.0.0.1:0", "--", bin}, &out, &errOut)
	var report audit.Report
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || code != 0 || len(report.Results) != 2 {
		t.Fatalf("exit %d, %v:\n%s%s", code, err, out.String(), errOut.String())
	}
	for _, r := range report.Results {
		evidence := strings.Join(r.Evidence, "\n")
		if r.Status != audit.Pass {
			t.Errorf("%s: %s (%s)", r.ID, r.Status, r.Reason)
		}
		if r.ID == "metrics.red" && (!strings.Contains(evidence, "GET /hello: 200") || !strings.Contains(evidence, "GET /hello?x=1: 200")) {
			t.Errorf("metrics.red did not request the -app-path paths: %s", evidence)
		}
		if r.ID == "grpc.health" && !strings.Contains(evidence, `Check on "": SERVING`) {
			t.Errorf("grpc.health did not judge the gRPC listener: %s", evidence)
		}
	}
}
