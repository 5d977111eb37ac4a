package operable

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// Config is the SDK's own configuration, read from the layers of package
// config (defaults, config/ files, environment variables, secret
// references) under the variable names in its tags. The service's own
// settings go in a struct of its own, passed as [Options.Config]. When the
// config files change at run time, LogLevel takes effect at once; the
// fields tagged reload:"restart" are reported as needing a restart.
type Config struct {
	// ServiceName names the service in logs and metrics. Default:
	// Options.Name.
	ServiceName string `env:"SERVICE_NAME" reload:"restart" desc:"names the service in logs and metrics"`
	// ServiceVersion is the service's version. Default: Options.Version.
	ServiceVersion string `env:"SERVICE_VERSION" reload:"restart" desc:"the service's version"`
	// Environment is local, development, staging or production.
	Environment string `env:"ENVIRONMENT" envDefault:"local" reload:"restart" desc:"local, development, staging or production"`
	// HTTPAddr is the application listener's address.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080" reload:"restart" desc:"the application listener's address"`
	// AdminAddr is the admin listener's address (probes, metrics, debug).
	AdminAddr string `env:"ADMIN_ADDR" envDefault:":9090" reload:"restart" desc:"the admin listener's address (probes, metrics, /debug/)"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info" desc:"debug, info, warn or error; follows config/ at run time"`
	// LogFormat is json or text.
	LogFormat string `env:"LOG_FORMAT" envDefault:"json" reload:"restart" desc:"json or text"`
	// ShutdownTimeout bounds the whole stop sequence.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s" reload:"restart" desc:"bounds the whole stop sequence"`
	// ShutdownDrainDelay is how long the service keeps serving after a
	// stop signal while readiness fails. Default: 5s, 0 when Environment
	// is local.
	ShutdownDrainDelay *time.Duration `env:"SHUTDOWN_DRAIN_DELAY" reload:"restart" desc:"serving time after a stop signal while readiness fails (default 5s, 0 when local)"`
	// AdminToken guards /debug/. Without it, /debug/ answers 404.
	AdminToken secrets.Secret `env:"ADMIN_TOKEN" reload:"restart" desc:"bearer token for /debug/; without it /debug/ answers 404"`
	// FlagsFile is a feature flag file in flagd's format, read at start-up
	// (see [Service.Flags]). Default: none, no flags.
	FlagsFile string `env:"FLAGS_FILE" reload:"restart" desc:"feature flag file in flagd format, watched"`
	// VaultAddr, when set, makes the service log in to Vault at start-up
	// and keep the session alive (see [Service.Vault]); the login and the
	// other settings come from the VAULT_* variables that package
	// secrets/vault reads. Default: none, no Vault.
	VaultAddr string `env:"VAULT_ADDR" reload:"restart" desc:"Vault address; the login comes from the other VAULT_* variables"`
}

// fillFromBuild fills the service's name and version from the options and
// the build when the configuration leaves them empty.
func (c *Config) fillFromBuild(info buildInfo) {
	if c.ServiceName == "" {
		c.ServiceName = info.Service
	}
	if c.ServiceVersion == "" {
		c.ServiceVersion = info.Version
	}
}

// environments are the values ENVIRONMENT may take.
var environments = []string{"local", "development", "staging", "production"}

// Environments returns the values ENVIRONMENT may take: local,
// development, staging and production.
func Environments() []string { return slices.Clone(environments) }

// DefaultDrainDelay is the drain delay outside the local environment.
const DefaultDrainDelay = 5 * time.Second

// DrainDelay returns the configured drain delay or its default: 5s, or 0
// when Environment is local.
func (c Config) DrainDelay() time.Duration {
	if c.ShutdownDrainDelay != nil {
		return *c.ShutdownDrainDelay
	}
	if c.Environment == "local" {
		return 0
	}
	return DefaultDrainDelay
}

// Validate reports every value outside its allowed set.
func (c *Config) Validate() error {
	var errs []error
	bad := func(v, field, reason string) {
		errs = append(errs, &config.Problem{Var: v, Field: field, Reason: reason})
	}
	if !slices.Contains(environments, c.Environment) {
		bad("ENVIRONMENT", "Environment", fmt.Sprintf("must be one of %v", environments))
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		bad("LOG_LEVEL", "LogLevel", "must be one of debug, info, warn, error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "LogFormat", "must be json or text")
	}
	if c.HTTPAddr == "" {
		bad("HTTP_ADDR", "HTTPAddr", "must not be empty")
	}
	if c.AdminAddr == "" {
		bad("ADMIN_ADDR", "AdminAddr", "must not be empty")
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "ShutdownTimeout", "must be positive")
	}
	if d := c.DrainDelay(); d < 0 {
		bad("SHUTDOWN_DRAIN_DELAY", "ShutdownDrainDelay", "must not be negative")
	} else if c.ShutdownTimeout > 0 && d >= c.ShutdownTimeout {
		bad("SHUTDOWN_DRAIN_DELAY", "ShutdownDrainDelay", "must be shorter than SHUTDOWN_TIMEOUT")
	}
	return errors.Join(errs...)
}
