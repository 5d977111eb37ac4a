package inprocess_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/audit"
	"github.com/operable-go/operable/audit/inprocess"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/shutdown"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// orders is a service as a team writes it with the root package: one
// route, and one defect when broken names one.
func orders(broken string) func(ctx context.Context, s *operable.Service) error {
	return func(ctx context.Context, s *operable.Service) error {
		s.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "order %s\n", r.PathValue("id"))
		})
		s.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			if broken == "leak" { // the bearer token without its scheme, under a key no rule calls sensitive
				s.Logger().InfoContext(r.Context(), "caller", "who", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			}
			fmt.Fprintln(w, "orders")
		})
		switch broken {
		case "livedb":
			return s.AddCheck(health.Check{Name: "orders-db", Groups: health.Liveness | health.Readiness, ComponentType: "datastore",
				Func: func(context.Context) error { return nil }})
		case "failinghook":
			s.OnStop(shutdown.Hook{Name: "flush-orders", Timeout: time.Second, Func: func(context.Context) error {
				return errors.New("orders: the queue did not flush")
			}})
		}
		return nil
	}
}

// worker is a worker as a team writes it with the root package: a job
// loop and no route of its own.
func worker(ctx context.Context, s *operable.Service) error {
	s.Go("jobs", func(ctx context.Context) error {
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
				s.Logger().InfoContext(ctx, "job done", "job", n)
			}
		}
	})
	return nil
}

func start(t *testing.T, broken string) *audit.Process {
	t.Helper()
	setup := orders(broken)
	if broken == "worker" {
		setup = worker
	}
	var env []string
	if broken != "worker" {
		env = []string{"GRPC_ADDR=127.0.0.1:0"}
	}
	p, err := inprocess.Start(context.Background(), operable.Options{Name: "orders", Environ: map[string]string{}}, setup,
		audit.StartOptions{StartTimeout: 20 * time.Second, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func text(r audit.Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

// TestAServiceBuiltWithTheRootPassesInProcess: every check runs against a
// service in the test's own process (with a gRPC listener) and passes, but
// exit.usage, skipped because flags need a process; the same for a worker,
// whose app listener serves no route and which has no gRPC listener (the
// grpc.* checks skip).
func TestAServiceBuiltWithTheRootPassesInProcess(t *testing.T) {
	for _, kind := range []string{"", "worker"} {
		t.Run("kind="+kind, func(t *testing.T) { passesInProcess(t, kind) })
	}
}

func passesInProcess(t *testing.T, kind string) {
	p := start(t, kind)
	report, err := audit.Run(context.Background(), p.Target(), audit.Options{HeaderTimeout: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Results) != len(audit.Checks()) || !strings.Contains(report.Target, "orders (in process)") {
		t.Errorf("%d results for %d checks, target %q", len(report.Results), len(audit.Checks()), report.Target)
	}
	defer func() {
		if t.Failed() {
			t.Log(text(report))
		}
	}()
	for _, r := range report.Results {
		want := audit.Pass
		if kind == "worker" && (strings.HasPrefix(r.ID, "grpc.") || r.ID == "metrics.red") {
			want = audit.Skip // no gRPC listener; no routed series
		}
		if r.ID == "exit.usage" {
			want = audit.Skip
			if !strings.Contains(r.Reason, "os.Args") {
				t.Errorf("exit.usage skipped for %q, want the reason: flags come from os.Args", r.Reason)
			}
		}
		if r.Status != want {
			t.Errorf("%s: %s, want %s (%s)\n%s", r.ID, r.Status, want, r.Reason, text(report))
		}
	}
}

// TestEachDefectFailsItsCheckInProcess: defects a service built with the
// root package can still have fail their checks in process.
func TestEachDefectFailsItsCheckInProcess(t *testing.T) {
	cases := []struct {
		defect string
		checks []string // run; the last one must fail
		reason string   // in its reason
	}{
		{"livedb", []string{"liveness.independent"}, "orders-db"},
		{"failinghook", []string{"shutdown.exit"}, "exit 1 after Instance.Stop"},
		{"leak", []string{"secrets.http", "secrets.logs"}, "Authorization bearer token"},
	}
	for _, tc := range cases {
		t.Run(tc.defect, func(t *testing.T) {
			p := start(t, tc.defect)
			report, err := audit.Run(context.Background(), p.Target(), audit.Options{Checks: tc.checks})
			if err != nil {
				t.Fatal(err)
			}
			got := report.Results[len(report.Results)-1]
			if got.ID != tc.checks[len(tc.checks)-1] || got.Status != audit.Fail || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("%s: want %s to fail with %q:\n%s", tc.defect, got.ID, tc.reason, text(report))
			}
		})
	}
}

// TestLaunchRefusesArguments: a launcher in process cannot give flags, and
// says so with errors.ErrUnsupported.
func TestLaunchRefusesArguments(t *testing.T) {
	_, err := inprocess.New(operable.Options{}, nil).Launch(context.Background(), nil, []string{"-h"})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Launch with arguments: %v, want errors.ErrUnsupported", err)
	}
}

// TestABadSettingExits78InProcess: the instance of a service whose
// configuration is bad ends at once with 78 and the fallback log line
// naming the variable, as operable.Main does.
func TestABadSettingExits78InProcess(t *testing.T) {
	inst, err := inprocess.New(operable.Options{Name: "orders", Environ: map[string]string{}}, orders("")).
		Launch(context.Background(), []string{"LOG_LEVEL=loud"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, ended := inst.Wait(10 * time.Second)
	stdout, _ := inst.Output()
	if !ended || code != 78 || !strings.Contains(stdout, `"msg":"invalid configuration"`) || !strings.Contains(stdout, "LOG_LEVEL") {
		t.Errorf("ended %v, exit %d, want 78 with an invalid configuration line naming LOG_LEVEL:\n%s", ended, code, stdout)
	}
}
