package operable

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/operable-go/operable/breaker"
)

// breakers are the service's circuit breakers, by name.
type breakers struct {
	mu     sync.Mutex
	byName map[string]*breaker.Breaker
}

// Breaker returns a circuit breaker for the named dependency, wired into
// the service: its state, transitions, calls and rejections on /metrics,
// a log line per state change, a non-critical readiness check
// ("breaker-<name>", warn while open) and operator control through
// /debug/breakers. Settings usually come from the service's config struct
// (see [breaker.Settings]); opts.IsSuccessful is passed on. Names are
// unique. Call it before Run.
//
// For an HTTP dependency, put the breaker inside the telemetry transport:
//
//	b, err := svc.Breaker("inventory", cfg.InventoryBreaker, nil)
//	client := &http.Client{Transport: svc.Transport(b.Transport(nil))}
func (s *Service) Breaker(name string, settings breaker.Settings, isSuccessful func(error) bool) (*breaker.Breaker, error) {
	s.breakers.mu.Lock()
	defer s.breakers.mu.Unlock()
	if _, dup := s.breakers.byName[name]; dup {
		return nil, fmt.Errorf("operable: breaker %q exists already", name)
	}
	b, err := breaker.New(name, settings, breaker.Options{
		Logger:       s.logger,
		Meter:        s.metrics.MeterProvider().Meter("github.com/operable-go/operable/breaker"),
		IsSuccessful: isSuccessful,
	})
	if err != nil {
		return nil, fmt.Errorf("operable: %w", err)
	}
	if err := s.addBreaker(b); err != nil {
		return nil, err
	}
	return b, nil
}

// addBreaker registers b's check and lists it on /debug/breakers. The
// caller holds s.breakers.mu.
func (s *Service) addBreaker(b *breaker.Breaker) error {
	if err := s.checks.Add(b.Check()); err != nil {
		return fmt.Errorf("operable: breaker %q: %w", b.Name(), err)
	}
	if s.breakers.byName == nil {
		s.breakers.byName = make(map[string]*breaker.Breaker)
	}
	s.breakers.byName[b.Name()] = b
	return nil
}

// serveBreakers lists the breakers: name, state, mode, counts, settings.
func (s *Service) serveBreakers(w http.ResponseWriter, _ *http.Request) {
	s.breakers.mu.Lock()
	infos := make([]breaker.Info, 0, len(s.breakers.byName))
	for _, b := range s.breakers.byName {
		infos = append(infos, b.Info())
	}
	s.breakers.mu.Unlock()
	slices.SortFunc(infos, func(a, b breaker.Info) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, struct {
		Breakers []breaker.Info `json:"breakers"`
	}{infos})
}

// setBreakerMode holds a breaker open or closed, or gives it back:
// PUT /debug/breakers/{name} with {"mode":"open|closed|auto"}, or the bare
// mode as a text body.
func (s *Service) setBreakerMode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.breakers.mu.Lock()
	b := s.breakers.byName[name]
	s.breakers.mu.Unlock()
	if b == nil {
		http.Error(w, "no breaker named "+name, http.StatusNotFound)
		return
	}
	mode, ok := readChoice(w, r, "mode")
	if !ok {
		return
	}
	m, err := breaker.ParseMode(mode)
	if err != nil {
		http.Error(w, "mode must be one of auto, open, closed", http.StatusBadRequest)
		return
	}
	before := b.Mode()
	if err := b.Force(m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The breaker logs the change itself; this line says it came from the
	// admin endpoint.
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "circuit breaker mode set by operator",
		slog.String("breaker", name), slog.String("from_mode", before.String()), slog.String("to_mode", m.String()))
	writeJSON(w, http.StatusOK, b.Info())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
