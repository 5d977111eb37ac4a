package operable

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/operable-go/operable/breaker"
)

// breakersPart owns the service's circuit breakers, by name: each made
// with Service.Breaker (and Vault's), their checks, and /debug/breakers.
type breakersPart struct {
	mu     sync.Mutex
	byName map[string]*breaker.Breaker
}

// startBreakers serves /debug/breakers.
func (s *Service) startBreakers(context.Context, Options) error {
	s.debug.HandleFunc("GET /debug/breakers", s.serveBreakers)
	s.debug.HandleFunc("PUT /debug/breakers/{name}", s.setBreakerMode)
	return nil
}

// Breaker returns a circuit breaker for the named dependency, wired into
// the service: its state, transitions, calls and rejections on /metrics,
// a log line per state change, a non-critical readiness check
// ("breaker-<name>", warn while open) and operator control through
// /debug/breakers. Settings usually come from the service's config struct
// (see [breaker.Settings]); isSuccessful, when not nil, says which errors
// count as successes (see [breaker.Options]). Names are unique. Call it
// before Run.
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
		Meter:        s.tel.MeterProvider().Meter("github.com/operable-go/operable/breaker"),
		IsSuccessful: isSuccessful,
	})
	if err != nil {
		return nil, fmt.Errorf("operable: %w", err)
	}
	if err := s.addBreakerLocked(b); err != nil {
		return nil, err
	}
	return b, nil
}

// addBreaker registers b (one made elsewhere, as Vault's): its check, and a
// row on /debug/breakers.
func (s *Service) addBreaker(b *breaker.Breaker) error {
	s.breakers.mu.Lock()
	defer s.breakers.mu.Unlock()
	return s.addBreakerLocked(b)
}

// addBreakerLocked is addBreaker for a caller holding s.breakers.mu.
func (s *Service) addBreakerLocked(b *breaker.Breaker) error {
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
