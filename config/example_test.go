package config_test

import (
	"fmt"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
)

func ExampleLoad() {
	type Config struct {
		Addr     string         `env:"ADDR" envDefault:":8080"`
		Timeout  time.Duration  `env:"TIMEOUT" envDefault:"5s"`
		Password secrets.Secret `env:"DB_PASSWORD"`
	}
	cfg, err := config.Load[Config](config.Options{Environ: map[string]string{
		"TIMEOUT":     "250ms",
		"DB_PASSWORD": "hunter2",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", cfg)
	// Output: {Addr::8080 Timeout:250ms Password:[REDACTED]}
}

func ExampleLoad_errors() {
	type Config struct {
		Port    int           `env:"PORT" envDefault:"8080"`
		Timeout time.Duration `env:"TIMEOUT"`
		Region  string        `env:"REGION,required"`
	}
	_, err := config.Load[Config](config.Options{Environ: map[string]string{
		"PORT":    "eighty",
		"TIMEOUT": "soon",
	}})
	fmt.Println(err)
	// Output: config: 3 problems; PORT (field Port): not a valid int: invalid syntax (want a whole number such as 42 or -1); REGION: required but not set; TIMEOUT (field Timeout): not a valid time.Duration (want a duration such as 30s or 1m30s)
}
