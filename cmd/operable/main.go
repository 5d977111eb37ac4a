// Command operable is the SDK's tool. Its audit subcommand checks from the
// outside that a service is operable (see package audit); its new
// subcommand starts a service from the SDK's template:
//
//	operable audit [-json | -sarif] [-checks IDS] [-app-path PATH]... [-token T] -admin URL [-app URL] [-grpc ADDR]
//	operable audit [-json | -sarif] [-checks IDS] [-app-path PATH]... [-grpc ADDR] -- COMMAND [ARGS...]
//	operable audit -list
//	operable new [-name NAME] [-version V] [-sdk DIR] MODULE_PATH DIR
//
// The first form audits a running service; the second starts COMMAND on
// free loopback ports (HTTP_ADDR and ADMIN_ADDR set), runs every check,
// start-up, logs, SIGTERM and exit codes included, and stops it. The
// report is text for people, JSON with -json, or a SARIF 2.1.0 log with
// -sarif (for code-scanning tools). -app-path names a GET path the app's
// routes serve (repeatable), so that metrics.red proves the route label.
// -grpc gives the gRPC listener's address (host:port) of a running
// service, or, with COMMAND, the GRPC_ADDR to start it with (127.0.0.1:0:
// a free port); without it the grpc.* checks are skipped unless the
// started service announces a gRPC listener. It exits 0 when no check
// failed, 1 when one did, and 2 on a usage error.
//
// new writes a copy of the service template, examples/service (its image,
// manifests, pipeline, alerts, dashboard, runbook, tests), into DIR, which
// must be empty or absent: the module path MODULE_PATH in go.mod and every
// import, the service name NAME (a DNS-1123 label, by default the module
// path's last element) wherever the template names its service (the
// Deployment, namespace, scrape job, image, dashboard, runbook), and paths
// made right for a project whose root is the service. go.mod requires the
// SDK at -version (by default the version the tool was built from, as with
// go install ...@v1.2.3) and names cmd/operable as a tool; -sdk DIR adds a
// replace directive to a local checkout, for development. The template's
// build outputs and SDK-only tests (a _test.go file importing the SDK's
// internal/ packages) are left out. It reads only the template embedded in
// the tool and uses no network; then run go mod tidy in DIR. It exits 0
// when it wrote the project, 1 when it refused (a bad module path or name,
// a non-empty DIR), and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/operable-go/operable/audit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  operable audit [-json | -sarif] [-checks IDS] [-app-path PATH]... [-token T] -admin URL [-app URL] [-grpc ADDR]
  operable audit [-json | -sarif] [-checks IDS] [-app-path PATH]... [-grpc ADDR] -- COMMAND [ARGS...]
  operable audit -list
  operable new [-name NAME] [-version V] [-sdk DIR] MODULE_PATH DIR
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "new" {
		return runNew(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "audit" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("operable audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	asJSON := fs.Bool("json", false, "write the report as JSON")
	asSARIF := fs.Bool("sarif", false, "write the report as a SARIF 2.1.0 log (for code scanning); not with -json")
	checks := fs.String("checks", "", "comma-separated check IDs or prefixes (probes, shutdown.exit, ...); default all")
	token := fs.String("token", "", "the service's ADMIN_TOKEN, to read its /debug/ pages")
	admin := fs.String("admin", "", "base URL of a running service's admin listener")
	app := fs.String("app", "", "base URL of a running service's app listener")
	grpcAddr := fs.String("grpc", "", "host:port of a running service's gRPC listener; with -- COMMAND, the GRPC_ADDR to start it with (127.0.0.1:0: a free port)")
	var appPaths []string
	fs.Func("app-path", "a GET path the app's routes serve (\"/orders/1\"), for metrics.red's route label; repeatable", func(v string) error {
		if !strings.HasPrefix(v, "/") {
			return errors.New("a path starts with /")
		}
		appPaths = append(appPaths, v)
		return nil
	})
	list := fs.Bool("list", false, "list the checks and exit")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *list {
		for _, c := range audit.Checks() {
			fmt.Fprintf(stdout, "%-24s %s\n", c.ID, c.Title)
		}
		return 0
	}
	if *asJSON && *asSARIF {
		fmt.Fprintln(stderr, "operable audit: give -json or -sarif, not both")
		return 2
	}
	command := fs.Args()
	if (len(command) == 0) == (*admin == "") {
		fmt.Fprintln(stderr, "operable audit: give either -admin URL or -- COMMAND")
		fs.Usage()
		return 2
	}
	opts := audit.Options{Token: *token, AppPaths: appPaths}
	if *checks != "" {
		opts.Checks = strings.Split(*checks, ",")
	}
	target := audit.Target{AdminURL: strings.TrimSuffix(*admin, "/"), AppURL: strings.TrimSuffix(*app, "/"), GRPCAddr: *grpcAddr}
	if len(command) > 0 {
		var start audit.StartOptions
		if *grpcAddr != "" {
			start.Env = []string{"GRPC_ADDR=" + *grpcAddr}
		}
		p, err := audit.Start(ctx, command, start)
		if err != nil {
			fmt.Fprintln(stderr, "operable audit:", err)
			return 1
		}
		defer p.Close()
		target = p.Target()
	}
	report, err := audit.Run(ctx, target, opts)
	if err != nil {
		fmt.Fprintln(stderr, "operable audit:", err)
		return 2
	}
	write := report.WriteText
	if *asJSON {
		write = report.WriteJSON
	}
	if *asSARIF {
		write = report.WriteSARIF
	}
	if err := write(stdout); err != nil {
		fmt.Fprintln(stderr, "operable audit:", err)
		return 1
	}
	if report.Failed() {
		return 1
	}
	return 0
}
