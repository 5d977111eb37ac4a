package operable

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// ExitCode maps Run's or New's error to the process exit code of the
// contract: 0 for nil, 78 (EX_CONFIG) for bad configuration, 1 otherwise.
// (130, for a forced stop, is used by the shutdown sequence itself.)
func ExitCode(err error) int {
	var cerr *config.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cerr):
		return 78
	default:
		return 1
	}
}

// Main runs a service from main: it builds it with [New], calls setup to
// register routes, checks and start-up tasks, runs it, logs why it stopped
// and exits with [ExitCode]. It never returns. setup's context ends when
// SIGTERM or SIGINT arrives while it works (a slow set-up is abandoned,
// exit 1). A configuration error is logged as one JSON line on stdout
// listing every problem.
//
// Main takes these flags, with one dash or two, and nothing else (any other
// argument prints the usage and exits 64, EX_USAGE):
//
//	-h, -help               the usage and the configuration reference; exit 0
//	-help-config            every variable the service reads, with types and
//	                        defaults, the SDK's standard ones included; exit 0
//	-help-config=markdown   the same as a Markdown table
//	-healthcheck            GET the admin listener's /livez (ADMIN_ADDR, on
//	                        loopback when it names no host) and exit 0 when it
//	                        answers 200, else 1: a container HEALTHCHECK for an
//	                        image with no curl
func Main(opts Options, setup func(ctx context.Context, s *Service) error) {
	if len(os.Args) > 1 {
		if code, done := runFlags(opts, os.Args[0], os.Args[1:], os.Stdout, os.Stderr); done {
			os.Exit(code)
		}
	}
	os.Exit(run(context.Background(), opts, setup))
}

// Exit codes of the flags.
const (
	exitUsage = 64 // EX_USAGE
)

// referenceFormat is -help-config's value: a flag that may be given bare.
type referenceFormat string

func (f *referenceFormat) String() string   { return string(*f) }
func (f *referenceFormat) IsBoolFlag() bool { return true }
func (f *referenceFormat) Set(v string) error {
	switch v {
	case "true", "text":
		*f = "text"
	case "markdown":
		*f = "markdown"
	case "false":
		*f = ""
	default:
		return errors.New("want -help-config or -help-config=markdown")
	}
	return nil
}

// runFlags handles Main's flags: done reports that one took effect and the
// process ends with code; when none did ("--", "-healthcheck=false"), the
// service runs.
func runFlags(opts Options, name string, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if opts.Stdout != nil {
		stdout = opts.Stdout
	}
	fs := flag.NewFlagSet(filepath.Base(name), flag.ContinueOnError)
	fs.SetOutput(stderr)
	var reference referenceFormat
	fs.Var(&reference, "help-config", "print every variable the service reads (=markdown for a Markdown table) and exit")
	healthcheck := fs.Bool("healthcheck", false, "probe the admin listener's /livez and exit 0 when it passes, else 1")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s [-h | -help-config[=markdown] | -healthcheck]\n"+
			"Without a flag it runs the service, configured by the variables below.\n\n", fs.Name())
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fmt.Fprintln(stdout)
		return printConfigReference(opts, stdout, "text"), true
	case err != nil:
		return exitUsage, true // the flag package printed the error and the usage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage, true
	case reference != "":
		return printConfigReference(opts, stdout, string(reference)), true
	case *healthcheck:
		return probeLiveness(opts, stderr), true
	}
	return 0, false
}

// printConfigReference writes the variables the service reads, the SDK's
// and its own, with types, defaults and descriptions, then the standard
// variables of the parts (OTEL_*, VAULT_*, FLAG_<KEY>): as text, or as
// Markdown.
func printConfigReference(opts Options, out io.Writer, format string) int {
	empty := config.Options{Environ: map[string]string{}}
	fields := config.Describe(&Config{}, empty)
	if app := appTemplate(opts); app != nil {
		fields = append(fields, config.Describe(app, empty)...)
	}
	fields = append(fields, standardVariables()...)
	write := config.WriteText
	if format == "markdown" {
		write = config.WriteMarkdown
	}
	if err := write(out, fields); err != nil {
		return 1
	}
	return 0
}

// probeLiveness is -healthcheck: it reads ADMIN_ADDR as the service would
// (defaults, config files, environment) and asks /livez, within 2 s.
func probeLiveness(opts Options, stderr io.Writer) int {
	var cfg Config
	dsts := []any{&cfg}
	if app := appTemplate(opts); app != nil {
		dsts = append(dsts, app)
	}
	_, err := config.LoadAll(context.Background(), config.Options{
		Environ: opts.Environ, Resolver: secrets.Resolver{"vault": &pendingVault{}},
	}, dsts...)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	host, port, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck: ADMIN_ADDR:", err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	scheme, client := "http", &http.Client{Transport: &http.Transport{Proxy: nil}}
	if cfg.AdminTLSCertFile != "" {
		// The process asks itself whether it is alive, over loopback: the
		// certificate names the service, not 127.0.0.1, and proves nothing
		// here.
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // #nosec G402
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+"/livez", nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: /livez answered", resp.Status)
		return 1
	}
	return 0
}

// standardVariables are the variables the parts read as their ecosystems
// define them, for the reference.
func standardVariables() []config.Field {
	return slices.Concat(telemetryVariables, vaultVariables, flagVariables)
}

// appTemplate is a new value of Options.Config's type, for a load that
// must judge the files' keys against both structs; nil without one.
func appTemplate(opts Options) any {
	if opts.Config == nil {
		return nil
	}
	t := reflect.TypeOf(opts.Config)
	if t.Kind() != reflect.Pointer {
		return nil
	}
	return withPrefix(opts.ConfigPrefix, reflect.New(t.Elem()).Interface())
}

// fallbackIdentity is the logger's identity when New failed, perhaps on
// the configuration itself: the service's name and version as the
// configuration would have them (SERVICE_NAME and SERVICE_VERSION when
// set, else the build's), and ENVIRONMENT when the environment sets it to
// one of its values ("invalid" when it is not one, "unknown" when it is
// not set: a file may set it, and the files may be what failed), so that
// the line that says why the service did not start carries the keys of
// every other.
func fallbackIdentity(opts Options) logging.Options {
	env := environ.Or(opts.Environ)
	info := readBuildInfo(opts)
	o := logging.Options{Writer: opts.Stdout, Service: info.Service, Version: info.Version, Env: "unknown"}
	if v := env["SERVICE_NAME"]; v != "" {
		o.Service = v
	}
	if v := env["SERVICE_VERSION"]; v != "" {
		o.Version = v
	}
	if v := env["ENVIRONMENT"]; v != "" { // empty is unset, to the loader too
		o.Env = "invalid"
		if slices.Contains(environments, v) {
			o.Env = v
		}
	}
	return o
}

func run(ctx context.Context, opts Options, setup func(context.Context, *Service) error) int {
	s, err := New(ctx, opts)
	if err != nil {
		fallback, _ := logging.New(fallbackIdentity(opts))
		msg := "cannot start"
		if ExitCode(err) == 78 {
			msg = "invalid configuration"
		}
		fallback.Error(msg, slog.Any("error", err))
		return ExitCode(err)
	}
	if setup != nil {
		sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		err := setup(sctx, s)
		stopped := sctx.Err() != nil && ctx.Err() == nil
		stop()
		if err == nil && stopped {
			// Asked to stop while it set up: nothing served yet, so
			// nothing to drain.
			s.logger.Info("stopped during setup")
			if cerr := s.Close(ctx); cerr != nil {
				s.logger.Warn("releasing the service failed", slog.Any("error", cerr))
			}
			return 0
		}
		if err != nil {
			s.logger.Error("setup failed", slog.Any("error", err))
			if cerr := s.Close(ctx); cerr != nil {
				s.logger.Warn("releasing the service failed", slog.Any("error", cerr))
			}
			return ExitCode(err)
		}
	}
	if err := s.Run(ctx); err != nil {
		s.logger.Error("service stopped with errors", slog.Any("error", err))
		return ExitCode(err)
	}
	return 0
}
