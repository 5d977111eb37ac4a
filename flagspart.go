package operable

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/health"
)

// flagsPart owns the feature flags of FLAGS_FILE: the watched file (a
// lifecycle worker), the FLAG_<KEY> overrides, the evaluation metrics, a
// log line per reload, the non-critical flags-file check and /debug/flags.
type flagsPart struct {
	file *featureflags.File // nil without FLAGS_FILE
}

// openFlags reads the flag file. A file that cannot be read or parsed, or
// an override naming no variant, is a configuration problem (exit code 78).
// While the service runs, a file that no longer parses keeps the last good
// flags and warns through the flags-file check.
func (s *Service) openFlags(context.Context, Options) error {
	s.debug.HandleFunc("GET /debug/flags", s.serveFlags)
	if s.cfg.FlagsFile == "" {
		return nil
	}
	m, err := featureflags.NewMetrics(s.tel.MeterProvider().Meter("github.com/operable-go/operable/featureflags"))
	if err != nil {
		return fmt.Errorf("operable: flag metrics: %w", err)
	}
	f, err := featureflags.OpenFile(s.cfg.FlagsFile, featureflags.FileOptions{
		OnReload: s.logFlagsReload, Environ: s.env, Metrics: m,
	})
	if err != nil {
		return &config.Error{Problems: []config.Problem{{Var: "FLAGS_FILE", Field: "FlagsFile", Reason: err.Error()}}}
	}
	s.flags.file = f
	s.life.Go("flags watcher", f.Run)
	return s.checks.Add(health.Check{Name: "flags-file", NonCritical: true, ComponentType: "component",
		Func: func(context.Context) error { return f.Err() }})
}

// logFlagsReload logs every reload of the flag file, once, naming the
// flags that changed.
func (s *Service) logFlagsReload(set *featureflags.Set, changed []string, err error) {
	if err != nil {
		s.logger.Warn("feature flags not reloaded", slog.String("file", s.cfg.FlagsFile), slog.Any("error", err))
		return
	}
	s.logger.Info("feature flags reloaded", slog.String("file", s.cfg.FlagsFile), slog.Int("flags", len(set.Flags())),
		slog.Any("changed", changed))
}

// Flags returns the current feature flags of FLAGS_FILE, which is watched
// and reloaded while the service runs; nil (every evaluation answers the
// caller's default) when none was given. Call it at each use rather than
// keeping the result, to see reloads.
func (s *Service) Flags() *featureflags.Set {
	if s.flags.file == nil {
		return nil
	}
	return s.flags.file.Set()
}

// serveFlags lists the feature flags and their state.
func (s *Service) serveFlags(w http.ResponseWriter, _ *http.Request) {
	body := struct {
		File  string              `json:"file,omitempty"`
		Flags []featureflags.Info `json:"flags"`
	}{File: s.cfg.FlagsFile, Flags: s.Flags().Flags()}
	if body.Flags == nil {
		body.Flags = []featureflags.Info{}
	}
	writeJSON(w, http.StatusOK, body)
}

// flagVariables are the variables of the flags part beyond FLAGS_FILE, for
// the reference.
var flagVariables = []config.Field{
	{Var: "FLAG_<KEY>", Type: "variant", Description: "makes the flag <KEY> (upper case, - and . as _) evaluate to this variant"},
}
