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
	_, err := vault.AuthFromEnv(env)
	fmt.Println(err)
	env["VAULT_SECRET_ID_FILE"] = "/var/run/secrets/vault/secret-id"
	a, _ := vault.AuthFromEnv(env)
	fmt.Println(a.Method, a.Mount)
	// Output:
	// vault: the approle login needs VAULT_SECRET_ID_FILE
	// approle approle
}

// A program that reads its secrets once and exits, and so never runs the
// session, closes it: the token it logged in with is revoked rather than
// left to expire. The login comes from an Auth built in code here instead
// of the VAULT_* login variables. (Not run: it needs a Vault server.)
func ExampleClient_Close() {
	ctx := context.Background()
	c, err := vault.New(ctx, vault.Options{Auth: vault.Auth{
		Method: "approle", RoleID: "7f3c…", SecretIDFile: "/var/run/secrets/vault/secret-id", Mount: "approle",
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := c.Close(ctx); err != nil {
			log.Print(err)
		}
	}()
	v, err := c.Get(ctx, "kv/data/migrations#dsn")
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Println(v.Secret) // prints [REDACTED]
}
