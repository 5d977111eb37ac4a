package operabletest_test

import (
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/operabletest"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

// A service's black-box test, in a _test.go file of its main package:
// build it once, start it on loopback ports, and check a stop with
// shutdowntest.
func Example() {
	// func TestMain(m *testing.M) {
	testMain := func(m *testing.M) {
		code := m.Run()
		operabletest.RemoveBuilds()
		os.Exit(code)
	}

	// func TestStopDropsNothing(t *testing.T) {
	testStop := func(t *testing.T) {
		p := operabletest.Start(t, operabletest.Build(t, "."), "SHUTDOWN_DRAIN_DELAY=1s")
		if code, _ := p.Get(p.AppURL, "/hello"); code != http.StatusOK {
			t.Fatalf("GET /hello = %d", code)
		}
		shutdowntest.Check(t, shutdowntest.Load{
			URLs: []string{p.AppURL + "/hello", p.AppURL + "/work?duration=300ms"},
		}, p.SignalFunc(syscall.SIGTERM))
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		p.WaitLog(time.Second, func(line map[string]any) bool { return line["msg"] == "shutdown complete" })
	}
	_, _ = testMain, testStop
}

// A service that must not start: Run returns its exit code and stdout.
func ExampleRun() {
	testBadConfig := func(t *testing.T) {
		code, lines := operabletest.Run(t, operabletest.Build(t, "."), "LOG_LEVEL=loud")
		if code != 78 {
			t.Errorf("exit code %d, want 78; output %q", code, lines)
		}
	}
	_ = testBadConfig
}

// A service started with a gRPC listener: GRPCAddr waits for its
// "listening" line and returns the address to dial.
func ExampleProcess_GRPCAddr() {
	testGRPC := func(t *testing.T) {
		p := operabletest.Start(t, operabletest.Build(t, "."), "GRPC_ADDR=127.0.0.1:0")
		addr := p.GRPCAddr(5 * time.Second)
		_ = addr // grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	_ = testGRPC
}
