package main_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operable-go/operable/audit"
	"github.com/operable-go/operable/operabletest"
)

// TestTheWorkerPassesTheAudit runs the whole operability audit against the
// worker as a real process, on a spool of its own: every check passes but
// the gRPC ones, skipped because the worker has no gRPC listener, and
// metrics.red, skipped with "no routed series": the worker serves no route.
func TestTheWorkerPassesTheAudit(t *testing.T) {
	dir := t.TempDir()
	p, err := audit.Start(context.Background(), []string{operabletest.Build(t, pkg)},
		audit.StartOptions{Dir: dir, Env: []string{"SPOOL_DIR=" + filepath.Join(dir, "spool")}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	report, err := audit.Run(context.Background(), p.Target(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = report.WriteText(&out)
	for _, r := range report.Results {
		if strings.HasPrefix(r.ID, "grpc.") && r.Status == audit.Skip && strings.Contains(r.Reason, "no gRPC listener") ||
			r.ID == "metrics.red" && r.Status == audit.Skip && strings.Contains(r.Reason, "no routed series") {
			continue
		}
		if r.Status != audit.Pass {
			t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Reason, out.String())
			break
		}
	}
}
