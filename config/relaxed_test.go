package config_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/config/configtest"
)

// relaxedConfig is a service's configuration as the relaxed-binding tests
// write it in files.
type relaxedConfig struct {
	Shutdown struct {
		Timeout time.Duration `env:"TIMEOUT" envDefault:"10s"`
	} `envPrefix:"SHUTDOWN_"`
	DB struct {
		MaxOpenConns int    `env:"MAX_OPEN_CONNS" envDefault:"2"`
		URL          string `env:"URL"`
	} `envPrefix:"DB_"`
	Currencies []string           `env:"CURRENCIES"`
	Weights    map[string]float64 `env:"WEIGHTS"`
	Ports      []int              `env:"PORTS"`
	Ratio      float64            `env:"RATIO"`
	Debug      bool               `env:"DEBUG"`
	Retries    uint8              `env:"RETRIES"`
	Breaker    limits             `envPrefix:"BREAKER_"`
}

func loadRelaxed(t *testing.T, files map[string]string, opts config.Options) (relaxedConfig, *config.Sources, string, error) {
	t.Helper()
	dir := configtest.WriteDir(t, files)
	opts.Dir = dir
	if opts.Environ == nil {
		opts.Environ = map[string]string{}
	}
	var c relaxedConfig
	src, err := config.LoadAll(context.Background(), opts, &c)
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Fatalf("the error echoes a secret value: %v", err)
	}
	return c, src, dir, err
}

// TestFileKeysBindRelaxed: lower-case, kebab-case and nested keys bind to
// the same fields as the variable names, and the source of each value is
// the position of the leaf key's value.
func TestFileKeysBindRelaxed(t *testing.T) {
	cases := []struct {
		name, file, content string
		prefix              string
		pos                 string // of SHUTDOWN_TIMEOUT's value
	}{
		{"variable name", "base.yaml", "SHUTDOWN_TIMEOUT: 30s\nDB_MAX_OPEN_CONNS: 5\n", "", "1:19"},
		{"nested lower case", "base.yaml", "shutdown:\n  timeout: 30s\ndb:\n  max_open_conns: 5\n", "", "2:12"},
		{"snake case", "base.yaml", "db_max_open_conns: 5\nshutdown_timeout: 30s\n", "", "2:19"},
		{"kebab case", "base.yaml", "db:\n  max-open-conns: 5\nshutdown-timeout: 30s\n", "", "3:19"},
		{"nested upper case", "base.yaml", "SHUTDOWN:\n  TIMEOUT: 30s\nDB:\n  MAX_OPEN_CONNS: 5\n", "", "2:12"},
		{"mixed nesting", "base.yaml", "Shutdown: {Timeout: 30s}\ndb: {max-open: {conns: 5}}\n", "", "1:21"},
		{"json", "base.json", `{"shutdown": {"timeout": "30s"}, "db": {"max_open_conns": 5}}`, "", "1:26"},
		{"with a prefix", "base.yaml", "shutdown:\n  timeout: 30s\ndb-max-open-conns: 5\n", "APP_", "2:12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src, dir, err := loadRelaxed(t, map[string]string{c.file: c.content}, config.Options{Prefix: c.prefix})
			if err != nil {
				t.Fatal(err)
			}
			if got.Shutdown.Timeout != 30*time.Second || got.DB.MaxOpenConns != 5 {
				t.Errorf("loaded %+v", got)
			}
			want := []string{"default", "file:" + dir + "/" + c.file + ":" + c.pos}
			if o := src.Of(c.prefix + "SHUTDOWN_TIMEOUT"); fmt.Sprint(o) != fmt.Sprint(want) {
				t.Errorf("Sources.Of(%sSHUTDOWN_TIMEOUT) = %v, want %v", c.prefix, o, want)
			}
		})
	}
}

// TestUnknownKeysAreNamedInTheFilesForm: an unknown key is named as
// written, the suggestion in the same form, and a whole mapping that
// matches nothing is one problem.
func TestUnknownKeysAreNamedInTheFilesForm(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"nested", "shutdown:\n  timout: 30s\n", "base.yaml:2:3: unknown key shutdown.timout (did you mean shutdown.timeout?)"},
		{"snake case", "shutdown_timout: 30s\n", "base.yaml:1:1: unknown key shutdown_timout (did you mean shutdown_timeout?)"},
		{"kebab case", "shutdown-timout: 30s\n", "base.yaml:1:1: unknown key shutdown-timout (did you mean shutdown-timeout?)"},
		{"variable name", "SHUTDOWN_TIMOUT: 30s\n", "base.yaml:1:1: unknown key SHUTDOWN_TIMOUT (did you mean SHUTDOWN_TIMEOUT?)"},
		{"nested kebab", "db:\n  max-open-con: 5\n", "base.yaml:2:3: unknown key db.max-open-con (did you mean db.max-open-conns?)"},
		{"deeper", "db:\n  max:\n    open-conn: 5\n", "base.yaml:3:5: unknown key db.max.open-conn (did you mean db.max.open-conns?)"},
		{"unknown mapping", "dbs:\n  url: x\n  max_open_conns: " + canary + "\n  pool: {size: 3}\n", "base.yaml:1:1: unknown key dbs (did you mean db?)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := loadRelaxed(t, map[string]string{"base.yaml": c.content}, config.Options{})
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if len(ce.Problems) != 1 || !strings.HasSuffix(ce.Problems[0].String(), c.want) {
				t.Errorf("problems %v, want one ending %q", ce.Problems, c.want)
			}
		})
	}
}

// TestASettingWrittenTwiceInOneFileNamesBothLines: two spellings of one
// variable in a file are a problem, at the second, naming both.
func TestASettingWrittenTwiceInOneFileNamesBothLines(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"nested and flat", "shutdown:\n  timeout: 30s\nshutdown_timeout: 1m\n",
			"base.yaml:3:1: SHUTDOWN_TIMEOUT: set twice in the same file, as shutdown.timeout (line 2) and as shutdown_timeout (line 3)"},
		{"two cases", "DB_URL: a\ndb_url: b\n", "base.yaml:2:1: DB_URL: set twice in the same file, as DB_URL (line 1) and as db_url (line 2)"},
		{"two mappings", "db:\n  url: a\nDB:\n  URL: b\n", "base.yaml:4:3: DB_URL: set twice in the same file, as db.url (line 2) and as DB.URL (line 4)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := loadRelaxed(t, map[string]string{"base.yaml": c.content}, config.Options{})
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.HasSuffix(ce.Problems[0].String(), c.want) {
				t.Errorf("err = %v, want one problem ending %q", err, c.want)
			}
		})
	}
	// The same spelling in two files is layering, not a problem.
	got, _, _, err := loadRelaxed(t, map[string]string{"base.yaml": "db: {url: a}\n", "local.yaml": "DB_URL: b\n"}, config.Options{})
	if err != nil || got.DB.URL != "b" {
		t.Errorf("two files: %v, DB.URL %q", err, got.DB.URL)
	}
}

// TestSyntaxErrorsSayWhyWithoutTheValue: a syntax error carries the
// parser's reason and position, and whatever it would quote of the input
// is left out.
func TestSyntaxErrorsSayWhyWithoutTheValue(t *testing.T) {
	cases := []struct{ name, file, content, want string }{
		{"yaml mapping in a value", "base.yaml", "db:\n  url: x\n  max: a: " + canary + "\n",
			"base.yaml:3: not valid YAML: mapping values are not allowed in this context"},
		{"yaml bad indentation", "base.yaml", "db:\n  url: x\n bad: " + canary + "\n",
			"base.yaml:2: not valid YAML: did not find expected key"},
		{"yaml tab", "base.yaml", "db:\n\turl: " + canary + "\n",
			"base.yaml:2: not valid YAML: found character that cannot start any token"},
		{"yaml unknown anchor", "base.yaml", "db_url: *" + canary + "\n",
			"base.yaml: not valid YAML: unknown anchor referenced"},
		{"json bare word", "base.json", "{\n  \"db_url\": " + canary + "\n}",
			"base.json:2:13: not valid JSON: invalid character looking for beginning of value"},
		{"json quote", "base.json", "{\"db_url\": \"x\" '" + canary + "'}",
			"base.json:1:16: not valid JSON: invalid character after object key:value pair"},
		{"json cut short", "base.json", "{\"db_url\": \"" + canary,
			"base.json:1:31: not valid JSON: unexpected end of JSON input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := loadRelaxed(t, map[string]string{c.file: c.content}, config.Options{})
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.HasSuffix(ce.Problems[0].String(), c.want) {
				t.Errorf("err = %v, want one problem ending %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), canary[:4]) {
				t.Errorf("the error quotes the input: %v", err)
			}
		})
	}
}

// TestTypeErrorsNameTheExpectedForm: a value that does not parse is
// reported with the form wanted and an example, never the value.
func TestTypeErrorsNameTheExpectedForm(t *testing.T) {
	cases := []struct{ key, want string }{
		{"shutdown: {timeout: " + canary + "}", "base.yaml:1:21: SHUTDOWN_TIMEOUT (field Shutdown.Timeout): not a valid time.Duration (want a duration such as 30s or 1m30s)"},
		{"db: {max_open_conns: " + canary + "}", "base.yaml:1:22: DB_MAX_OPEN_CONNS (field DB.MaxOpenConns): not a valid int: invalid syntax (want a whole number such as 42 or -1)"},
		{"ratio: " + canary, "base.yaml:1:8: RATIO (field Ratio): not a valid float64: invalid syntax (want a number such as 0.5, 2 or 1e-3)"},
		{"debug: " + canary, "base.yaml:1:8: DEBUG (field Debug): not a valid bool: invalid syntax (want true or false (or 1, 0, t, f))"},
		{"retries: 300", "base.yaml:1:10: RETRIES (field Retries): not a valid uint8: value out of range (want a whole number such as 0 or 42, up to 255)"},
		{"ports: [80, " + canary + "]", "base.yaml:1:8: PORTS (field Ports): not a valid []int: invalid syntax (want a comma-separated list, each a whole number such as 42 or -1)"},
	}
	for _, c := range cases {
		t.Run(c.key[:strings.IndexByte(c.key, ':')], func(t *testing.T) {
			_, _, _, err := loadRelaxed(t, map[string]string{"base.yaml": c.key + "\n"}, config.Options{})
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.HasSuffix(ce.Problems[0].String(), c.want) {
				t.Errorf("err = %v, want one problem ending %q", err, c.want)
			}
		})
	}
}

// TestValidationOfNestedStructsKeepsTheFilePosition: a nested struct's
// Validate problem about a value from a file says where it was written.
func TestValidationOfNestedStructsKeepsTheFilePosition(t *testing.T) {
	_, _, _, err := loadRelaxed(t, map[string]string{"base.yaml": "breaker:\n  burst: 0\n  ratio: 7\n"}, config.Options{Prefix: "APP_"})
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *config.Error", err)
	}
	want := []string{
		"base.yaml:2:10: APP_BREAKER_BURST (field Breaker.Burst): must be at least 1",
		"base.yaml:3:10: APP_BREAKER_RATIO (field Breaker.Ratio): must be at most 1",
	}
	if len(ce.Problems) != len(want) {
		t.Fatalf("problems %v, want %d", ce.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasSuffix(ce.Problems[i].String(), w) {
			t.Errorf("problem %d = %q, want it to end %q", i, ce.Problems[i], w)
		}
	}
}

// TestListsAndMapsFromFilesAndTheEnvironment: YAML sequences and mappings
// fill slice and map fields, the map's keys as written; the environment
// writes them as "a,b" and "k:v,k:v".
func TestListsAndMapsFromFilesAndTheEnvironment(t *testing.T) {
	got, src, dir, err := loadRelaxed(t, map[string]string{
		"base.yaml": "currencies: [EUR, USD]\nports:\n  - 80\n  - 443\nweights:\n  Eu-West: 0.75\n  us_east: 0.25\n",
	}, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Currencies, got.Ports, got.Weights) != "[EUR USD] [80 443] map[Eu-West:0.75 us_east:0.25]" {
		t.Errorf("from a file: %v %v %v", got.Currencies, got.Ports, got.Weights)
	}
	if o := src.Of("WEIGHTS"); fmt.Sprint(o) != "[file:"+dir+"/base.yaml:6:12]" {
		t.Errorf("Sources.Of(WEIGHTS) = %v", o)
	}
	got, _, _, err = loadRelaxed(t, nil, config.Options{Environ: map[string]string{"CURRENCIES": "EUR,USD", "WEIGHTS": "a:1,b:0.5"}})
	if err != nil || fmt.Sprint(got.Currencies, got.Weights) != "[EUR USD] map[a:1 b:0.5]" {
		t.Errorf("from the environment: %v, %v %v", err, got.Currencies, got.Weights)
	}
}
