package operable

import (
	"context"
	"errors"
	"fmt"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets/vault"
)

// vaultPart owns the Vault session when VAULT_ADDR is set: the login, the
// session's worker (renewals, re-logins, lease and KV refreshes; the token
// revoked when it stops), the "vault" check and breaker, and every value
// and token masked in the logs.
type vaultPart struct {
	client *vault.Client // nil without VAULT_ADDR
}

// startVault logs in when VAULT_ADDR is set. Missing login variables are
// configuration problems (exit code 78); a failed login is a start-up
// failure. The token is revoked if a later step fails or an unrun service
// is closed.
func (s *Service) startVault(ctx context.Context, _ Options) error {
	if s.cfg.VaultAddr == "" {
		return nil
	}
	auth, err := vault.AuthFromEnv(s.env)
	if err != nil {
		return &config.Error{Problems: []config.Problem{{Var: "VAULT_ADDR", Field: "VaultAddr", Reason: err.Error()}}}
	}
	c, err := vault.New(ctx, vault.Options{
		Environ: s.env,
		Auth:    auth,
		Logger:  s.logger,
		Meter:   s.tel.MeterProvider().Meter("github.com/operable-go/operable/secrets/vault"),
		Known:   s.known,
	})
	if err != nil {
		return fmt.Errorf("operable: %w", err)
	}
	s.vault.client = c
	s.release.push("vault session", c.Close)
	s.life.Go("vault", c.Run)
	if err := errors.Join(s.checks.Add(c.Check()), s.addBreaker(c.Breaker())); err != nil {
		return fmt.Errorf("operable: vault: %w", err)
	}
	return nil
}

// Vault returns the Vault session when VAULT_ADDR is set, else nil. It is a
// secrets.Provider: Get("kv/data/app#password") answers from its cache
// once a path was read; Subscribe tells of rotations.
func (s *Service) Vault() *vault.Client { return s.vault.client }

// vaultVariables are the VAULT_* variables the Vault part reads (package
// secrets/vault), for the reference.
var vaultVariables = []config.Field{
	{Var: "VAULT_TOKEN", Type: "string", Secret: true, Description: "token login: used as given, renewed, never revoked"},
	{Var: "VAULT_ROLE_ID", Type: "string", Description: "AppRole login, with VAULT_SECRET_ID_FILE"},
	{Var: "VAULT_SECRET_ID_FILE", Type: "file", Description: "the AppRole secret id, re-read at each login"},
	{Var: "VAULT_APPROLE_MOUNT", Type: "string", Default: "approle", Description: "the AppRole mount path"},
	{Var: "VAULT_KUBERNETES_ROLE", Type: "string", Description: "Kubernetes login with the service account's token"},
	{Var: "VAULT_KUBERNETES_TOKEN_FILE", Type: "file", Default: vault.DefaultJWTFile, Description: "the service account token, re-read at each login"},
	{Var: "VAULT_KUBERNETES_MOUNT", Type: "string", Default: "kubernetes", Description: "the Kubernetes auth mount path"},
	{Var: "VAULT_AUTH_METHOD", Type: "string", Description: "token, approle or kubernetes; by default the one whose variables are set"},
	{Var: "VAULT_NAMESPACE", Type: "string", Description: "the Vault Enterprise namespace"},
	{Var: "VAULT_CACERT", Type: "file", Description: "the CA bundle that verifies Vault"},
}
