package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestSARIFFlag: -sarif writes a SARIF 2.1.0 log with the exit code of
// the text form, and refuses to be given with -json.
func TestSARIFFlag(t *testing.T) {
	cases := []struct {
		args []string
		code int
		kind string // of the one result; "" for a usage error
	}{
		{[]string{"audit", "-sarif", "-admin", "http://127.0.0.1:1", "-checks", "probes.health-json"}, 1, "fail"},
		{[]string{"audit", "-sarif", "-admin", "http://127.0.0.1:1", "-checks", "shutdown.exit"}, 0, "notApplicable"},
		{[]string{"audit", "-sarif", "-json", "-admin", "http://127.0.0.1:1"}, 2, ""},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, &out, &errOut)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", c.args, code, c.code, out.String(), errOut.String())
			continue
		}
		if c.kind == "" {
			if !strings.Contains(errOut.String(), "not both") {
				t.Errorf("%v: stderr %q does not say why", c.args, errOut.String())
			}
			continue
		}
		var log struct {
			Version string
			Runs    []struct{ Results []struct{ Kind string } }
		}
		if err := json.Unmarshal(out.Bytes(), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 ||
			len(log.Runs[0].Results) != 1 || log.Runs[0].Results[0].Kind != c.kind {
			t.Errorf("%v: not a SARIF log with one %s result (%v):\n%s", c.args, c.kind, err, out.String())
		}
	}
}
