package main_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/operable-go/operable/audit"
	"github.com/operable-go/operable/operabletest"
)

// TestTheExamplePassesTheAudit runs the whole operability audit against
// the example as a real process with its gRPC listener (GRPC_ADDR): every
// check passes, the gRPC ones included; none is skipped.
func TestTheExamplePassesTheAudit(t *testing.T) {
	p, err := audit.Start(context.Background(), []string{operabletest.Build(t, pkg)},
		audit.StartOptions{Dir: t.TempDir(), Env: []string{"GRPC_ADDR=127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// GET /hello is a route: metrics.red proves the route label with it.
	report, err := audit.Run(context.Background(), p.Target(), audit.Options{AppPaths: []string{"/hello"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = report.WriteText(&out)
	if testing.Verbose() {
		t.Log(out.String())
	}
	for _, r := range report.Results {
		if r.Status != audit.Pass {
			t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Reason, out.String())
			break
		}
	}
}
