package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
