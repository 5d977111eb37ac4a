package operabletest_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/operabletest"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	operabletest.RemoveBuilds()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// service is a stand-in for a service built with operable, in testdata.
const service = "./testdata/service"

func TestStartedServiceAnswersLogsAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	p := operabletest.Start(t, operabletest.Build(t, service))
	for _, u := range []string{p.AppURL, p.AdminURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("URL %q is not on 127.0.0.1", u)
		}
	}
	if code, body := p.Get(p.AppURL, "/hello"); code != http.StatusOK || body != "hello" {
		t.Errorf("GET /hello = %d %q", code, body)
	}
	listening := 0
	for _, m := range p.Logs() {
		if m["msg"] == "listening" {
			listening++
		}
	}
	if listening != 2 {
		t.Errorf("Logs has %d listening lines, want 2", listening)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "shutdown complete" })
}

func TestStartWaitsForTheStartupProbe(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	begin := time.Now()
	p := operabletest.Start(t, bin, "STARTUP_DELAY=500ms")
	if d := time.Since(begin); d < 500*time.Millisecond {
		t.Errorf("Start returned after %s, before /startupz could pass", d)
	}
	if code, _ := p.Get(p.AdminURL, "/startupz"); code != http.StatusOK {
		t.Errorf("/startupz = %d after Start", code)
	}
}

// TestNoRequestIsDroppedWhileTheServiceStops is the harness with
// shutdowntest, as a service's own test uses them.
func TestNoRequestIsDroppedWhileTheServiceStops(t *testing.T) {
	t.Parallel()
	p := operabletest.Start(t, operabletest.Build(t, service), "DRAIN_DELAY=500ms")
	report := shutdowntest.Check(t, shutdowntest.Load{
		URLs:    []string{p.AppURL + "/hello", p.AppURL + "/slow"},
		Clients: 4,
	}, p.SignalFunc(syscall.SIGTERM))
	if report.ServedAfterStop == 0 {
		t.Errorf("nothing was served during the drain delay: %s", report)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestRunReturnsTheExitCodeAndLines(t *testing.T) {
	t.Parallel()
	code, lines := operabletest.Run(t, operabletest.Build(t, service), "EXIT_CODE=78")
	if code != 78 || len(lines) != 1 || !strings.Contains(lines[0], `"msg":"bad configuration"`) {
		t.Errorf("Run = %d %q, want 78 and one line", code, lines)
	}
}

func TestStartFailsWithTheOutputWhenTheProcessExits(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	r := record(t, func(t testing.TB) { operabletest.Start(t, bin, "EXIT_CODE=3") })
	r.wantFailure(t, "exited with code 3", `"msg":"bad configuration"`)
}

func TestStartRefusesAListenerOffLoopback(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	r := record(t, func(t testing.TB) { operabletest.Start(t, bin, "ANNOUNCE_APP=192.0.2.1:8080") })
	r.wantFailure(t, `"192.0.2.1:8080", not a loopback address`)
}

func TestWaitLogFailsWhenTheProcessExitsWithoutTheLine(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	r := record(t, func(t testing.TB) {
		p := operabletest.Start(t, bin)
		p.Signal(syscall.SIGTERM)
		p.WaitLog(10*time.Second, func(m map[string]any) bool { return m["msg"] == "never logged" })
	})
	r.wantFailure(t, "exited with code 0 without the awaited log line")
}

// TestGRPCAddrWaitsForTheListeningLine: the gRPC listener's line may come
// after Start returns; GRPCAddr waits for it and returns the bound
// address, refuses one off loopback, and fails within its timeout for a
// process without a gRPC listener.
func TestGRPCAddrWaitsForTheListeningLine(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	t.Run("served", func(t *testing.T) {
		t.Parallel()
		p := operabletest.Start(t, bin, "GRPC_ADDR=127.0.0.1:0")
		addr := p.GRPCAddr(10 * time.Second)
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("GRPCAddr = %q, which does not accept a connection: %v", addr, err)
		}
		_ = c.Close()
	})
	t.Run("off loopback", func(t *testing.T) {
		t.Parallel()
		r := record(t, func(t testing.TB) {
			operabletest.Start(t, bin, "GRPC_ADDR=127.0.0.1:0", "ANNOUNCE_GRPC=192.0.2.1:50051").GRPCAddr(10 * time.Second)
		})
		r.wantFailure(t, `grpc listener is on "192.0.2.1:50051", not a loopback address`)
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		r := record(t, func(t testing.TB) { operabletest.Start(t, bin).GRPCAddr(500 * time.Millisecond) })
		r.wantFailure(t, "no matching log line within 500ms")
	})
}

func TestTheProcessIsKilledWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	var pid int
	r := record(t, func(t testing.TB) { pid = operabletest.Start(t, bin).PID() })
	if r.failed {
		t.Fatalf("Start failed: %s", r.msgs)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after the cleanup, kill(%d, 0) = %v, want ESRCH", pid, err)
	}
}

// recorder is a testing.TB that records failures, so that the harness's
// own failures can be tested.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	msgs     []string
	cleanups []func()
}

// record runs f with a recorder in a goroutine of its own (Fatal ends it),
// then runs the cleanups f registered.
func record(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r
}

func (r *recorder) wantFailure(t *testing.T, wants ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	all := strings.Join(r.msgs, "\n")
	if !r.failed {
		t.Errorf("the harness did not fail the test; it logged %q", all)
	}
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("the failure lacks %q:\n%s", w, all)
		}
	}
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.mu.Lock(); r.cleanups = append(r.cleanups, f); r.mu.Unlock() }
func (r *recorder) Failed() bool     { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
