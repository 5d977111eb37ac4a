package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/logging"
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
// register routes and checks, runs it, logs why it stopped and exits with
// [ExitCode]. It never returns. A configuration error is logged as one JSON
// line on stdout listing every problem.
func Main(opts Options, setup func(*Service) error) {
	if len(os.Args) == 2 && strings.HasPrefix(os.Args[1], "-help-config") {
		os.Exit(printConfigReference(opts, os.Args[1]))
	}
	os.Exit(run(context.Background(), opts, setup))
}

// printConfigReference writes the variables the service reads, the SDK's
// and its own, with types, defaults and descriptions: as text for
// "-help-config", as Markdown for "-help-config=markdown".
func printConfigReference(opts Options, arg string) int {
	out := opts.Stdout
	if out == nil {
		out = os.Stdout
	}
	empty := config.Options{Environ: map[string]string{}}
	fields := config.Describe(&Config{}, empty)
	if opts.Config != nil {
		fields = append(fields, config.Describe(reflect.New(reflect.TypeOf(opts.Config).Elem()).Interface(), empty)...)
	}
	write := config.WriteText
	switch arg {
	case "-help-config":
	case "-help-config=markdown":
		write = config.WriteMarkdown
	default:
		fmt.Fprintln(os.Stderr, "usage: -help-config or -help-config=markdown")
		return 2
	}
	if err := write(out, fields); err != nil {
		return 1
	}
	return 0
}

func run(ctx context.Context, opts Options, setup func(*Service) error) int {
	s, err := New(ctx, opts)
	if err != nil {
		fallback, _ := logging.New(logging.Options{Writer: opts.Stdout, Service: opts.Name})
		msg := "cannot start"
		if ExitCode(err) == 78 {
			msg = "invalid configuration"
		}
		fallback.Error(msg, slog.Any("error", err))
		return ExitCode(err)
	}
	if setup != nil {
		if err := setup(s); err != nil {
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
