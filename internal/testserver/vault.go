package testserver

import (
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Vault runs bin (VAULT_BIN) as a dev server on addr with the given root
// token, waits until it is unsealed, and returns it with a client holding
// the root token. The server stops and the client's idle connections
// close when the test ends.
func Vault(t testing.TB, bin, addr, root string) (*Server, *vaultapi.Client) {
	t.Helper()
	srv := Start(t, addr, bin, "server", "-dev", "-dev-root-token-id="+root, "-dev-listen-address="+addr, "-dev-no-store-token")
	cfg := vaultapi.DefaultConfig()
	cfg.Address = "http://" + addr
	admin, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin.SetToken(root)
	t.Cleanup(cfg.HttpClient.CloseIdleConnections)
	// The listener accepts before the core is unsealed: wait for health.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h, err := admin.Sys().HealthWithContext(t.Context())
		if err == nil && h.Initialized && !h.Sealed {
			return srv, admin
		}
		if time.Now().After(deadline) {
			t.Fatalf("vault not healthy after 30s: %v", err)
		}
	}
}
