package config_test

import (
	"fmt"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
)

func ExampleDescribe() {
	type Config struct {
		Port     int            `env:"PORT" envDefault:"8080"`
		Password secrets.Secret `env:"DB_PASSWORD,required"`
	}
	environ := map[string]string{"DB_PASSWORD": "hunter2"}
	cfg, _ := config.Load[Config](config.Options{Environ: environ})
	for _, f := range config.Describe(&cfg, config.Options{Environ: environ}) {
		fmt.Println(f.Var, f.Source, f.Value, f.Required)
	}
	// Output:
	// PORT default 8080 false
	// DB_PASSWORD env:DB_PASSWORD [REDACTED] true
}
