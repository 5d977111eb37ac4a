package config_test

import (
	"os"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
)

type referenceConfig struct {
	Port     int            `env:"PORT" envDefault:"8080" desc:"port the API listens on"`
	Database string         `env:"DATABASE_URL,required" desc:"the Postgres DSN"`
	Password secrets.Secret `env:"DB_PASSWORD" desc:"a vault: or file: reference in production"`
}

// A service prints its own configuration reference, from the struct tags.
func ExampleWriteText() {
	_ = config.WriteText(os.Stdout, config.Describe(&referenceConfig{}, config.Options{Environ: map[string]string{}}))
	// Output:
	// VARIABLE      TYPE            DEFAULT  FLAGS     DESCRIPTION
	// PORT          int             8080               port the API listens on
	// DATABASE_URL  string                   required  the Postgres DSN
	// DB_PASSWORD   secrets.Secret           secret    a vault: or file: reference in production
}

// The same reference as Markdown, for a README.
func ExampleWriteMarkdown() {
	_ = config.WriteMarkdown(os.Stdout, config.Describe(&referenceConfig{}, config.Options{Environ: map[string]string{}}))
	// Output:
	// | Variable | Type | Default | | Description |
	// |---|---|---|---|---|
	// | `PORT` | int | `8080` |  | port the API listens on |
	// | `DATABASE_URL` | string |  | required | the Postgres DSN |
	// | `DB_PASSWORD` | secrets.Secret |  | secret | a vault: or file: reference in production |
}
