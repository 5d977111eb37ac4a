package operable

import (
	"context"
	"errors"
	"fmt"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/secrets/vault"
)

// wireVault logs in to Vault when VAULT_ADDR is set, and makes the
// session part of the service: Run as a lifecycle worker (the token is
// revoked when it stops), the "vault" check and the breaker's in
// readiness, the breaker on /metrics and /debug/breakers, every value and
// token masked in the logs. Missing login variables are configuration
// problems (exit code 78); a failed login is a start-up failure.
func (s *Service) wireVault(ctx context.Context) error {
	if s.cfg.VaultAddr == "" {
		return nil
	}
	env := environ.Or(s.environ)
	if _, err := vault.AuthFromEnv(env); err != nil {
		return &config.Error{Problems: []config.Problem{{Var: "VAULT_ADDR", Field: "VaultAddr", Reason: err.Error()}}}
	}
	c, err := vault.New(ctx, vault.Options{
		Environ: env,
		Logger:  s.logger,
		Meter:   s.metrics.MeterProvider().Meter("github.com/operable-go/operable/secrets/vault"),
		Known:   s.known,
	})
	if err != nil {
		return fmt.Errorf("operable: %w", err)
	}
	s.vault = c
	s.life.Go("vault", c.Run)
	s.breakers.mu.Lock()
	err = errors.Join(s.checks.Add(c.Check()), s.addBreaker(c.Breaker()))
	s.breakers.mu.Unlock()
	if err != nil {
		return fmt.Errorf("operable: vault: %w", err)
	}
	return nil
}

// Vault returns the Vault session when VAULT_ADDR is set, else nil. It is a
// secrets.Provider: Get("kv/data/app#password") answers from its cache
// once a path was read; Subscribe tells of rotations.
func (s *Service) Vault() *vault.Client { return s.vault }
