package main_test

// The example's gRPC health seen by the real grpc-health-probe, built by
// scripts/grpc-health-probe.sh (GRPC_HEALTH_PROBE_BIN). SDK-only, because
// it finds the probe through internal/testserver: operable new leaves this
// file out and carries grpc_test.go.

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	itemsv1 "github.com/operable-go/operable/examples/service/proto/items/v1"
	"github.com/operable-go/operable/internal/testserver"
)

func probe(t *testing.T, bin, addr, service string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr="+addr, "-service="+service, "-connect-timeout=2s", "-rpc-timeout=2s")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("grpc-health-probe: %v\n%s", err, out)
	return -1, ""
}

// TestGRPCHealthProbeSeesServingThenNotServingFromSIGTERM: the real
// grpc-health-probe, as a Kubernetes gRPC probe would run it, sees SERVING
// for the server and for items.v1.ItemsService, then NOT_SERVING for both
// as soon as the process has begun its stop (its "shutdown started" line),
// while the drain delay still serves the items. make test sets
// GRPC_HEALTH_PROBE_BIN (scripts/grpc-health-probe.sh).
func TestGRPCHealthProbeSeesServingThenNotServingFromSIGTERM(t *testing.T) {
	t.Parallel()
	bin := testserver.Tool(t, "GRPC_HEALTH_PROBE_BIN")
	p, addr := startGRPC(t, "SHUTDOWN_DRAIN_DELAY=3s")
	services := []string{"", "items.v1.ItemsService"}
	for _, svc := range services {
		if code, out := probe(t, bin, addr, svc); code != 0 || !strings.Contains(out, "SERVING") {
			t.Errorf("grpc-health-probe -service=%q = exit %d %q, want 0 and SERVING", svc, code, out)
		}
	}
	p.Signal(syscall.SIGTERM)
	sent := time.Now()
	p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "shutdown started" })
	for _, svc := range services {
		if code, out := probe(t, bin, addr, svc); code != 4 || !strings.Contains(out, "NOT_SERVING") {
			t.Errorf("grpc-health-probe -service=%q after SIGTERM = exit %d %q, want 4 and NOT_SERVING", svc, code, out)
		}
	}
	if d := time.Since(sent); d > 2*time.Second {
		t.Fatalf("the probes took %s: the drain delay may be over", d)
	}
	items := itemsv1.NewItemsServiceClient(dial(t, addr))
	if _, err := items.ListItems(callCtx(t), &itemsv1.ListItemsRequest{}); err != nil {
		t.Errorf("ListItems during the drain delay = %v, want served", err)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
}
