package operable_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/secrets"
)

func TestVaultWithoutALoginIsAConfigurationProblem(t *testing.T) {
	_, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("VAULT_ADDR", "http://127.0.0.1:1"), Stdout: io.Discard})
	var ce *config.Error
	if !errors.As(err, &ce) || operable.ExitCode(err) != 78 || !strings.Contains(err.Error(), "VAULT_TOKEN") {
		t.Errorf("New with VAULT_ADDR and no login = %v (exit %d), want a configuration error naming VAULT_TOKEN", err, operable.ExitCode(err))
	}
}

// TestVaultIsPartOfTheService: with VAULT_ADDR and a token, against a real
// Vault, the service reads secrets through Service.Vault, shows the vault
// check and breaker in readiness and on /debug/breakers, and masks the
// values it read in its logs.
func TestVaultIsPartOfTheService(t *testing.T) {
	addr := testserver.FreeAddr(t)
	const root = "root-token-service-test"
	_, admin := testserver.Vault(t, testserver.Tool(t, "VAULT_BIN"), addr, root)
	const pw = "service-db-password-42"
	if _, err := admin.Logical().WriteWithContext(t.Context(), "secret/data/svc", map[string]any{"data": map[string]any{"db_password": pw}}); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	var appCfg struct {
		DBPassword secrets.Secret `env:"DB_PASSWORD"`
	}
	s, err := operable.New(t.Context(), operable.Options{Stdout: &logs, Config: &appCfg,
		Environ: loopbackEnv("VAULT_ADDR", "http://"+addr, "VAULT_TOKEN", root, "ADMIN_TOKEN", "t0k-vault",
			"DB_PASSWORD", "vault:secret/data/svc#db_password")})
	if err != nil {
		t.Fatal(err)
	}
	if appCfg.DBPassword.Reveal() != pw {
		t.Error("the service's DB_PASSWORD reference to Vault was not resolved")
	}
	v, err := s.Vault().Get(t.Context(), "secret/data/svc#db_password")
	if err != nil || v.Secret.Reveal() != pw {
		t.Fatalf("Vault().Get: %v", err)
	}
	s.Logger().Info("connecting", "dsn", "postgres://app:"+pw+"@db/app", "token", root)
	get := func(path string) string {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer t0k-vault")
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, req)
		return rec.Body.String()
	}
	if body := get("/readyz?verbose"); !strings.Contains(body, `"vault":[{`) || !strings.Contains(body, `"breaker-vault":[{`) {
		t.Errorf("/readyz?verbose lacks the vault checks: %s", body)
	}
	if body := get("/debug/config"); !strings.Contains(body, `"source": "vault:secret/data/svc#db_password (version 1)"`) ||
		strings.Contains(body, pw) {
		t.Errorf("/debug/config does not say DB_PASSWORD came from Vault, or shows it: %s", body)
	}
	if body := get("/debug/breakers"); !strings.Contains(body, `"name": "vault"`) {
		t.Errorf("/debug/breakers lacks the vault breaker: %s", body)
	}
	// Run and stop: the vault worker stops with the service (and closes
	// its connections).
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.Stop()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := logs.String(); strings.Contains(out, pw) || strings.Contains(out, root) {
		t.Errorf("a secret reached the log:\n%s", out)
	}
}
