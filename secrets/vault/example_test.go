package vault_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/vault"
)

// A service logs in with the VAULT_* variables, warms the paths it needs
// at start-up, keeps the session alive with Run, and swaps database
// credentials when Vault issues new ones. (Not run: it needs a Vault
// server; the package's tests run the same against a real one.)
func ExampleNew() {
	ctx := context.Background()
	c, err := vault.New(ctx, vault.Options{Logger: slog.Default(), Refresh: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = c.Run(ctx) }() // operable.Service.Go("vault", c.Run) in a service
	apiKey, err := c.Get(ctx, "kv/data/app#api_key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(apiKey.Secret) // prints [REDACTED]
	stop, err := c.Subscribe(ctx, "database/creds/app#password", func(v secrets.Value) {
		fmt.Println("new credentials until", v.Expires)
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
}

// AuthFromEnv says which login the variables select, and what is missing.
func ExampleAuthFromEnv() {
	env := map[string]string{"VAULT_ROLE_ID": "7f3c…"}
	_, err := vault.AuthFromEnv(func(k string) string { return env[k] })
	fmt.Println(err)
	env["VAULT_SECRET_ID_FILE"] = "/var/run/secrets/vault/secret-id"
	a, _ := vault.AuthFromEnv(func(k string) string { return env[k] })
	fmt.Println(a.Method, a.Mount)
	// Output:
	// vault: the approle login needs VAULT_SECRET_ID_FILE
	// approle approle
}
