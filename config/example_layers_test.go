package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/secretstest"
)

type exampleConfig struct {
	Port       int            `env:"PORT" envDefault:"8080"`
	Greeting   string         `env:"GREETING" envDefault:"hello"`
	DBPassword secrets.Secret `env:"DB_PASSWORD"`
}

// LoadAll reads the defaults, config/base.yaml, config/<ENVIRONMENT>.yaml
// and the environment, resolves the secret references, and says where each
// value came from.
func ExampleLoadAll() {
	dir, _ := os.MkdirTemp("", "config")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("PORT: 9000\nGREETING: hi\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "production.yaml"), []byte("DB_PASSWORD: vault:kv/data/app#password\n"), 0o600)
	vault := secretstest.NewMapProvider(map[string]string{"kv/data/app#password": "s3cret"})

	var cfg exampleConfig
	src, err := config.LoadAll(context.Background(), config.Options{
		Dir:      dir,
		Environ:  map[string]string{"ENVIRONMENT": "production", "GREETING": "hey"},
		Resolver: secrets.Resolver{"vault": vault},
	}, &cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Port, cfg.Greeting, cfg.DBPassword, cfg.DBPassword.Reveal() == "s3cret")
	for _, v := range []string{"PORT", "GREETING", "DB_PASSWORD"} {
		o := src.Of(v)
		fmt.Println(v, strings.ReplaceAll(o[len(o)-1], dir, "config"))
	}
	// Output:
	// 9000 hey [REDACTED] true
	// PORT file:config/base.yaml:1:7
	// GREETING env:GREETING
	// DB_PASSWORD vault:kv/data/app#password (version 1)
}

// Watch keeps a configuration current as its files change; Reload is what
// Run does after each settled change.
func ExampleWatch() {
	dir, _ := os.MkdirTemp("", "config")
	defer os.RemoveAll(dir)
	write := func(s string) { _ = os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(s), 0o600) }
	write("GREETING: one\n")
	ctx := context.Background()
	w, err := config.Watch[exampleConfig](ctx, config.Options{Dir: dir, Environ: map[string]string{}}, config.WatchOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Subscribe(func(c config.Change[exampleConfig]) {
		fmt.Println("changed:", c.Changed, c.Old.Greeting, "→", c.New.Greeting)
	})
	// go w.Run(ctx) in a service; here, one reload by hand.
	write("GREETING: two\n")
	_ = w.Reload(ctx)
	write("GREETING: [broken\n")
	fmt.Println(w.Reload(ctx) != nil, w.Current().Greeting)
	// Output:
	// changed: [Greeting] one → two
	// true two
}

// Diff names the fields two values differ in, and those a running service
// cannot take.
func ExampleDiff() {
	type Config struct {
		Addr  string `env:"ADDR" reload:"restart"`
		Limit int    `env:"LIMIT"`
	}
	changed, restart := config.Diff(&Config{Addr: ":1", Limit: 1}, &Config{Addr: ":2", Limit: 2})
	fmt.Println(changed, restart)
	// Output: [Addr Limit] [Addr]
}

// DefaultFiles are read from the config directory when Options.Files is
// nil; "{env}" is the environment.
func ExampleDefaultFiles() {
	fmt.Println(config.DefaultFiles())
	// Output: [base.yaml base.json {env}.yaml {env}.json]
}

// Keys in files bind relaxed, as Spring Boot's do: nested mappings, lower
// case and kebab case set the same variables as the variable names, and
// each value's source is where its key was written.
func ExampleLoadAll_relaxedKeys() {
	type Config struct {
		Shutdown struct {
			Timeout time.Duration `env:"TIMEOUT" envDefault:"10s"`
		} `envPrefix:"SHUTDOWN_"`
		DBMaxOpenConns int      `env:"DB_MAX_OPEN_CONNS" envDefault:"2"`
		Currencies     []string `env:"CURRENCIES"`
	}
	dir, _ := os.MkdirTemp("", "config")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(
		"shutdown:\n  timeout: 30s\ndb:\n  max-open-conns: 5\ncurrencies: [EUR, USD]\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "staging.yaml"), []byte("shutdown:\n  timout: 1m\n"), 0o600)

	var cfg Config
	src, err := config.LoadAll(context.Background(), config.Options{Dir: dir, Prefix: "APP_", Environ: map[string]string{}}, &cfg)
	fmt.Println(cfg.Shutdown.Timeout, cfg.DBMaxOpenConns, cfg.Currencies, err)
	o := src.Of("APP_DB_MAX_OPEN_CONNS")
	fmt.Println(strings.ReplaceAll(o[len(o)-1], dir, "config"))

	_, err = config.LoadAll(context.Background(), config.Options{Dir: dir, Environment: "staging", Environ: map[string]string{}}, &cfg)
	fmt.Println(strings.ReplaceAll(err.Error(), dir, "config"))
	// Output:
	// 30s 5 [EUR USD] <nil>
	// file:config/base.yaml:4:19
	// config: 1 problem; config/staging.yaml:2:3: unknown key shutdown.timout (did you mean shutdown.timeout?)
}
