package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/config/configtest"
)

// sdkPart stands for an SDK's own settings, loaded beside a service's
// struct that has a prefix of its own.
type sdkPart struct {
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

type ordersPart struct {
	MaxWork int    `env:"MAX_WORK" envDefault:"2"`
	DBURL   string `env:"DB_URL"`
}

// TestPrefixedDestination: a destination given with config.Prefixed reads
// its variables with its prefix from the environment and from files
// (nested under the prefix, or spelled out), while the other destination
// keeps its names; an unknown variable with the prefix is a problem naming
// the closest known one, without Options.Prefix and in any environment.
func TestPrefixedDestination(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		env     map[string]string
		want    int    // MaxWork
		source  string // the last layer of ORDERS_MAX_WORK
		problem string // in the error; "" for none
	}{
		{name: "default", want: 2, source: "default"},
		{name: "environment", env: map[string]string{"ORDERS_MAX_WORK": "5"}, want: 5, source: "env:ORDERS_MAX_WORK"},
		{name: "nested under the prefix", files: map[string]string{"base.yaml": "orders:\n  max_work: 7\n"}, want: 7, source: "file:"},
		{name: "spelled out", files: map[string]string{"base.yaml": "ORDERS_MAX_WORK: 8\n"}, want: 8, source: "file:"},
		{name: "unprefixed key is not the field", files: map[string]string{"base.yaml": "max_work: 9\n"}, want: 2, problem: "unknown key max_work"},
		{name: "unknown prefixed variable", env: map[string]string{"ORDERS_MAX_WROK": "5"},
			problem: "ORDERS_MAX_WROK: unknown variable (did you mean ORDERS_MAX_WORK?)"},
		{name: "production too", env: map[string]string{"ENVIRONMENT": "production", "ORDERS_DBURL": "x"},
			problem: "ORDERS_DBURL: unknown variable (did you mean ORDERS_DB_URL?)"},
		{name: "other variables are someone else's", env: map[string]string{"PATH": "/bin", "MAX_WORK": "3"}, want: 2, source: "default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := configtest.WriteDir(t, tc.files)
			env := tc.env
			if env == nil {
				env = map[string]string{}
			}
			var sdk sdkPart
			var orders ordersPart
			src, err := config.LoadAll(context.Background(), config.Options{Dir: dir, Environ: env, DetectTypos: true},
				&sdk, config.Prefixed{Prefix: "ORDERS_", Dst: &orders})
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("LoadAll() = %v, want a problem %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if orders.MaxWork != tc.want || sdk.ShutdownTimeout != 10*time.Second {
				t.Errorf("MaxWork = %d, ShutdownTimeout = %v; want %d, 10s", orders.MaxWork, sdk.ShutdownTimeout, tc.want)
			}
			layers := src.Of("ORDERS_MAX_WORK")
			if len(layers) == 0 || !strings.HasPrefix(layers[len(layers)-1], tc.source) {
				t.Errorf("Sources.Of(ORDERS_MAX_WORK) = %v, want the last to start with %q", layers, tc.source)
			}
			if typos := src.Typos(); len(typos) > 0 {
				t.Errorf("Typos() = %v, want none", typos)
			}
		})
	}
}

// TestPrefixedDescribe: Describe of a Prefixed destination names its
// variables with the prefix, after Options.Prefix.
func TestPrefixedDescribe(t *testing.T) {
	fields := config.Describe(config.Prefixed{Prefix: "ORDERS_", Dst: &ordersPart{}},
		config.Options{Prefix: "ACME_", Environ: map[string]string{}})
	var vars []string
	for _, f := range fields {
		vars = append(vars, f.Var)
	}
	if got := strings.Join(vars, " "); got != "ACME_ORDERS_MAX_WORK ACME_ORDERS_DB_URL" {
		t.Errorf("Describe() vars = %s", got)
	}
}

// TestPrefixedRefusesABadPrefix: a prefix that cannot start a variable
// name, or does not end with "_", is refused before anything is read.
func TestPrefixedRefusesABadPrefix(t *testing.T) {
	for _, p := range []string{"", "orders_", "ORDERS", "1X_", "OR-DERS_"} {
		var orders ordersPart
		_, err := config.LoadAll(context.Background(), config.Options{Environ: map[string]string{}}, config.Prefixed{Prefix: p, Dst: &orders})
		var cerr *config.Error
		if err == nil || errors.As(err, &cerr) || !strings.Contains(err.Error(), "config: prefix") {
			t.Errorf("prefix %q: LoadAll() = %v, want a plain error about the prefix", p, err)
		}
	}
}
