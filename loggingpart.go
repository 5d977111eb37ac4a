package operable

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/operable-go/operable/logging"
)

// startLogging builds the logger: the contract's JSON (or text) lines on
// stdout, a level that /debug/loglevel and config reloads change at run
// time, the redactor's known secret values (the config's, Vault's), and the
// OpenTelemetry logs bridge as a sink when OTEL_LOGS_EXPORTER asks for it,
// so that the collector gets the same redacted records. From here on the
// OpenTelemetry SDK's own diagnostics go to this logger too. It serves
// /debug/loglevel.
func (s *Service) startLogging(_ context.Context, opts Options) error {
	s.level = new(slog.LevelVar)
	lv, _ := logging.ParseLevel(s.cfg.LogLevel) // validated by Config.Validate
	s.level.Set(lv)
	if s.known == nil { // made by the telemetry step, which masks with it too
		s.known = &logging.KnownValues{}
	}
	var sinks []logging.Sink
	if h := s.tel.LogHandler(); h != nil {
		sinks = append(sinks, logging.Sink{Handler: h})
	}
	logger, err := logging.New(logging.Options{
		Writer: opts.Stdout, Level: s.level, Format: s.cfg.LogFormat, Known: s.known,
		Service: s.cfg.ServiceName, Version: s.cfg.ServiceVersion, Env: s.cfg.Environment, Sinks: sinks,
	})
	if err != nil {
		return fmt.Errorf("operable: %w", err)
	}
	s.logger = logger
	otelDiagnostics.bind(s, logger) // the SDK's own diagnostics, redacted, in the service's logs
	for _, p := range s.config.typos {
		s.logger.Warn("unknown variable, ignored", slog.String("variable", p.Var), slog.String("reason", p.Reason))
	}
	s.debug.HandleFunc("GET /debug/loglevel", s.serveLogLevel)
	s.debug.HandleFunc("PUT /debug/loglevel", s.setLogLevel)
	s.debug.HandleFunc("POST /debug/loglevel", s.setLogLevel)
	return nil
}

type logLevelJSON struct {
	Level string `json:"level"`
}

func (s *Service) serveLogLevel(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(logLevelJSON{Level: strings.ToLower(s.level.Level().String())})
}

// setLogLevel changes the level at run time: PUT or POST
// {"level":"debug"}, or the bare level name as a text body.
func (s *Service) setLogLevel(w http.ResponseWriter, r *http.Request) {
	name, ok := readChoice(w, r, "level")
	if !ok {
		return
	}
	lv, err := logging.ParseLevel(name)
	if err != nil {
		http.Error(w, "level must be one of debug, info, warn, error", http.StatusBadRequest)
		return
	}
	old := s.level.Level()
	s.level.Set(lv)
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "log level changed",
		slog.String("from", strings.ToLower(old.String())), slog.String("to", strings.ToLower(lv.String())))
	s.serveLogLevel(w, r)
}
