package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/operable-go/operable/audit"
)

// Checks lists the checklist, in the order an audit runs it.
func ExampleChecks() {
	for _, c := range audit.Checks()[:3] {
		fmt.Println(c.ID)
	}
	// Output:
	// probes.health-json
	// probes.verbose
	// probes.exclude
}

// Start runs a service on free loopback ports, and Run audits it, the
// process checks included; a pipeline fails when Report.Failed.
func ExampleStart() {
	ctx := context.Background()
	p, err := audit.Start(ctx, []string{"./bin/mysvc"}, audit.StartOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	report, err := audit.Run(ctx, p.Target(), audit.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteText(os.Stdout)
	if report.Failed() {
		os.Exit(1)
	}
}

// Run audits a service that runs already: the checks of its listeners;
// those of the process (logs, the stop, exit codes) are skipped.
func ExampleRun() {
	report, err := audit.Run(context.Background(), audit.Target{
		AdminURL: "http://127.0.0.1:9090", AppURL: "http://127.0.0.1:8080",
	}, audit.Options{Checks: []string{"probes", "debug.guard"}, Token: os.Getenv("ADMIN_TOKEN")})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteJSON(os.Stdout)
}

// WriteSARIF writes the report as a SARIF 2.1.0 log, for a code-scanning
// tool: a rule per check, a result per check run.
func ExampleReport_WriteSARIF() {
	report := audit.Report{Target: "mysvc", Results: []audit.Result{
		{ID: "debug.guard", Title: "/debug/ refuses callers without the admin token", Status: audit.Fail,
			Reason: "GET /debug/info with no token answered 200: the debug pages are open"},
		{ID: "shutdown.exit", Status: audit.Skip, Reason: "needs the service started by the audit"},
	}}
	var out bytes.Buffer
	if err := report.WriteSARIF(&out); err != nil {
		fmt.Println(err)
		return
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID, Kind, Level string
			}
		}
	}
	_ = json.Unmarshal(out.Bytes(), &log)
	for _, r := range log.Runs[0].Results {
		fmt.Println(r.RuleID, r.Kind, r.Level)
	}
	// Output:
	// debug.guard fail error
	// shutdown.exit notApplicable none
}

// A service started with GRPC_ADDR announces its gRPC listener, and the
// grpc.* checks judge it: health, the RPC metrics, reflection, the access
// line and the gRPC stop. Against a running service, Target.GRPCAddr
// names the listener.
func ExampleStartOptions_grpc() {
	ctx := context.Background()
	p, err := audit.Start(ctx, []string{"./bin/mysvc"}, audit.StartOptions{Env: []string{"GRPC_ADDR=127.0.0.1:0"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	report, err := audit.Run(ctx, p.Target(), audit.Options{Checks: []string{"grpc"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteText(os.Stdout)
}
