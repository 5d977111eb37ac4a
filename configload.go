package operable

import (
	"context"
	"errors"
	"reflect"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
)

// loadConfig loads the SDK's configuration and the service's from the same
// layers (defaults, config/ files, environment, secret references), so that
// one *config.Error lists every problem of both, and unknown keys are
// judged against both. vault resolves vault: references; when nil (no
// VAULT_ADDR), a vault: reference is a problem.
func loadConfig(ctx context.Context, opts Options, cfg *Config, vault secrets.Provider) (*config.Sources, error) {
	if vault == nil {
		vault = noVault{}
	}
	dsts := []any{cfg}
	if opts.Config != nil {
		dsts = append(dsts, opts.Config)
	}
	return config.LoadAll(ctx, config.Options{Environ: opts.Environ, Resolver: secrets.Resolver{"vault": vault}}, dsts...)
}

// zeroConfig zeroes the structs before a second load, so that nothing of
// the first stays.
func zeroConfig(opts Options, cfg *Config) {
	*cfg = Config{}
	if opts.Config != nil {
		v := reflect.ValueOf(opts.Config)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v.Elem().SetZero()
		}
	}
}

// noVault answers vault: references when VAULT_ADDR is not set.
type noVault struct{}

func (noVault) Get(context.Context, string) (secrets.Value, error) {
	return secrets.Value{}, errors.New("VAULT_ADDR is not set")
}

// pendingVault stands for Vault in the first load, before the session
// exists: it accepts every reference, with a placeholder value, so that
// the first load can set up logging and telemetry; the second load
// resolves the references for real.
type pendingVault struct{ used bool }

func (p *pendingVault) Get(context.Context, string) (secrets.Value, error) {
	p.used = true
	return secrets.Value{Secret: secrets.New("vault reference, resolved at the second load"), Version: "pending"}, nil
}
