package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/config/configtest"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/secretstest"
)

// canary is a secret value that must never appear in any error.
const canary = "c4nary-s3cret-VALUE"

type svcConfig struct {
	Port     int               `env:"PORT" envDefault:"8080"`
	Timeout  time.Duration     `env:"TIMEOUT" envDefault:"5s"`
	Hosts    []string          `env:"HOSTS"`
	Labels   map[string]string `env:"LABELS"`
	Greeting string            `env:"GREETING" envDefault:"hello"`
	DB       struct {
		URL      string         `env:"URL" envDefault:"postgres://localhost/app"`
		Password secrets.Secret `env:"PASSWORD"`
	} `envPrefix:"DB_"`
}

func loadSvc(t *testing.T, opts config.Options) (svcConfig, *config.Sources, error) {
	t.Helper()
	var c svcConfig
	src, err := config.LoadAll(context.Background(), opts, &c)
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Fatalf("the error echoes a secret value: %v", err)
	}
	return c, src, err
}

func TestLayersDefaultsThenFilesThenEnvironment(t *testing.T) {
	dir := configtest.WriteDir(t, map[string]string{
		"base.yaml":       "PORT: 9000\nTIMEOUT: 2s\nGREETING: base\nHOSTS: [a, b]\nLABELS:\n  team: core\n  tier: web\nDB:\n  URL: postgres://base/app\n",
		"production.json": `{"GREETING": "prod", "DB": {"URL": "postgres://prod/app"}}`,
	})
	c, src, err := loadSvc(t, config.Options{Dir: dir, Environment: "production",
		Environ: map[string]string{"GREETING": "from-env"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.Timeout != 2*time.Second || c.Greeting != "from-env" || c.DB.URL != "postgres://prod/app" ||
		strings.Join(c.Hosts, "|") != "a|b" || c.Labels["team"] != "core" || c.Labels["tier"] != "web" {
		t.Errorf("loaded %+v", c)
	}
	for variable, want := range map[string][]string{
		"PORT":     {"default", "file:" + dir + "/base.yaml:1:7"},
		"GREETING": {"default", "file:" + dir + "/base.yaml:3:11", "file:" + dir + "/production.json:1:14", "env:GREETING"},
		"DB_URL":   {"default", "file:" + dir + "/base.yaml:9:8", "file:" + dir + "/production.json:1:36"},
		"HOSTS":    {"file:" + dir + "/base.yaml:4:8"},
	} {
		if got := src.Of(variable); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Sources.Of(%s) = %v, want %v", variable, got, want)
		}
	}
	// Describe shows the effective layer and what it shadowed.
	for _, f := range config.Describe(&c, config.Options{Sources: src}) {
		if f.Var == "GREETING" && (f.Source != "env:GREETING" || len(f.Shadowed) != 3 || f.Value != "from-env") {
			t.Errorf("Describe GREETING = %+v", f)
		}
		if f.Var == "DB_PASSWORD" && f.Source != "unset" {
			t.Errorf("Describe DB_PASSWORD = %+v, want unset", f)
		}
	}
}

func TestMissingEnvironmentFileIsFineAMalformedOneIsNot(t *testing.T) {
	dir := configtest.WriteDir(t, map[string]string{"base.yaml": "PORT: 9000\n"})
	if c, _, err := loadSvc(t, config.Options{Dir: dir, Environment: "staging"}); err != nil || c.Port != 9000 {
		t.Errorf("without staging.yaml: %v, %+v", err, c)
	}
	cases := []struct{ name, file, content, want string }{
		{"yaml syntax", "base.yaml", "PORT: 9000\nGREETING: x\nDB: : " + canary + "\n", "/base.yaml:3: not valid YAML"},
		{"json syntax", "base.json", "{\n  \"PORT\": 9000,\n  \"GREETING\": " + canary + "\n}", "/base.json:3:15: not valid JSON"},
		{"top level not a mapping", "base.yaml", "- " + canary + "\n", "/base.yaml:1:1: the top level must be a mapping"},
		{"duplicate key", "base.yaml", "PORT: 1\nPORT: 2\n", "/base.yaml:2:1: PORT: key written twice"},
		{"list of mappings", "base.yaml", "HOSTS:\n  - a: " + canary + "\n", "/base.yaml:2:5: HOSTS: a list may hold only plain values"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := configtest.WriteDir(t, map[string]string{c.file: c.content})
			_, _, err := loadSvc(t, config.Options{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestEveryProblemIsReportedWithItsPositionAndNoValue(t *testing.T) {
	dir := configtest.WriteDir(t, map[string]string{
		"base.yaml": "PORT: " + canary + "\nTIMEOUT: 5s\nGREETTING: hi\nDB:\n  URLL: x\n",
	})
	_, _, err := loadSvc(t, config.Options{Dir: dir, Prefix: "APP_", Environ: map[string]string{
		"APP_TIMEOUT": canary, "APP_DB_PASWORD": "x", "OTHER_THING": "not ours",
	}})
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		dir + "/base.yaml:1:7: APP_PORT (field Port): not a valid int",
		dir + "/base.yaml:3:1: unknown key GREETTING (did you mean GREETING?)",
		dir + "/base.yaml:5:3: unknown key DB.URLL (did you mean DB.URL?)",
		"APP_DB_PASWORD: unknown variable (did you mean APP_DB_PASSWORD?)",
		"APP_TIMEOUT (field Timeout): not a valid time.Duration",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("the error lacks %q:\n%s", w, got)
		}
	}
	if len(ce.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ce.Problems), len(want), got)
	}
	if strings.Contains(got, "OTHER_THING") {
		t.Error("a variable without the prefix was reported")
	}
}

func TestSecretReferencesAreResolvedInAnyLayer(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(secretFile, []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vault := secretstest.NewMapProvider(map[string]string{"kv/data/app#password": canary})
	resolver := secrets.Resolver{"vault": vault}
	cases := []struct {
		name   string
		files  map[string]string
		env    map[string]string
		origin string
	}{
		{"vault reference in a file", map[string]string{"base.yaml": "DB:\n  PASSWORD: vault:kv/data/app#password\n"}, nil, "vault:kv/data/app#password (version 1)"},
		{"file reference in the environment", nil, map[string]string{"DB_PASSWORD": "file:" + secretFile}, "file:" + secretFile},
		{"env reference", nil, map[string]string{"DB_PASSWORD": "env:PW", "PW": canary}, "env:PW"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src, err := loadSvc(t, config.Options{Dir: configtest.WriteDir(t, c.files), Environ: c.env, Resolver: resolver})
			if err != nil {
				t.Fatal(err)
			}
			if got.DB.Password.Reveal() != canary {
				t.Errorf("DB.Password was not resolved")
			}
			if o := src.Of("DB_PASSWORD"); len(o) == 0 || o[len(o)-1] != c.origin {
				t.Errorf("origin %v, want it to end with %q", o, c.origin)
			}
		})
	}
	_, _, err := loadSvc(t, config.Options{Dir: t.TempDir(), Resolver: resolver,
		Environ: map[string]string{"DB_PASSWORD": "vault:kv/data/app#nope"}})
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD (field DB.Password): cannot resolve the vault: reference") {
		t.Errorf("a missing reference: %v", err)
	}
}

// TestTheCallersResolverIsLeftAlone: the env: and file: providers LoadAll
// adds go into a copy.
func TestTheCallersResolverIsLeftAlone(t *testing.T) {
	resolver := secrets.Resolver{"env": secrets.Env{Environ: map[string]string{"PW": canary}}}
	got, _, err := loadSvc(t, config.Options{Dir: t.TempDir(), Resolver: resolver, Environ: map[string]string{"DB_PASSWORD": "env:PW"}})
	if err != nil || got.DB.Password.Reveal() != canary {
		t.Fatalf("load: %v", err)
	}
	if len(resolver) != 1 {
		t.Errorf("LoadAll added to the caller's Resolver: %v", resolver)
	}
}

func TestProductionSecretsMustComeFromTheSecretManagerOrAFile(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(secretFile, []byte(canary), 0o600)
	resolver := secrets.Resolver{"vault": secretstest.NewMapProvider(map[string]string{"kv/data/app#pw": canary})}
	cases := []struct {
		env     string
		files   map[string]string
		environ map[string]string
		want    string // "" for no problem
	}{
		{"production", nil, map[string]string{"DB_PASSWORD": canary}, "not from a plain environment variable"},
		{"staging", map[string]string{"base.yaml": "DB:\n  PASSWORD: " + canary + "\n"}, nil, "base.yaml:2:13: DB_PASSWORD (field DB.Password): in staging a secret must come from the secret manager or a mounted file (a vault: or file: reference), not from a plain value in a config file"},
		{"production", nil, map[string]string{"DB_PASSWORD": "env:PW", "PW": canary}, "not from an env: reference"},
		{"production", nil, map[string]string{"DB_PASSWORD": "vault:kv/data/app#pw"}, ""},
		{"production", nil, map[string]string{"DB_PASSWORD": "file:" + secretFile}, ""},
		{"local", nil, map[string]string{"DB_PASSWORD": canary}, ""},
	}
	for _, c := range cases {
		environ := map[string]string{"ENVIRONMENT": c.env}
		for k, v := range c.environ {
			environ[k] = v
		}
		_, _, err := loadSvc(t, config.Options{Dir: configtest.WriteDir(t, c.files), Environ: environ, Resolver: resolver})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v, want no problem", c.env, c.environ, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %v: %v, want %q", c.env, c.environ, err, c.want)
		}
	}
}

// FuzzFileParsing feeds random YAML and JSON files holding a planted
// secret: parsing never panics and no problem repeats the secret.
// fuzzLoadBudget bounds what one load of a fuzzed file may allocate.
const fuzzLoadBudget = 64 << 20

func FuzzFileParsing(f *testing.F) {
	for _, bomb := range []string{"billion-laughs.yaml", "billion-laughs-mappings.yaml"} {
		if data, err := os.ReadFile(filepath.Join("testdata", bomb)); err == nil {
			f.Add(string(data), false)
		}
	}
	f.Add("PORT: 1\n", false)
	f.Add("DB:\n  URL: x\n  PASSWORD: [a, b]\n", false)
	f.Add(`{"PORT": 1, "DB": {"URL": "x"}}`, true)
	f.Add("a: &x 1\nb: *x\n", false)
	f.Add("{\"PORT\": \"", true)
	f.Add("db:\n  url: x\n  max: a: SECRET\n", false)
	f.Add("greeting: *SECRET\n", false)
	f.Add("{\"db_url\": SECRET}", true)
	f.Add("db: {url: SECRET}\nDB_URL: SECRET\n", false)
	f.Fuzz(func(t *testing.T, content string, isJSON bool) {
		name := "base.yaml"
		if isJSON {
			name = "base.json"
		}
		planted := strings.ReplaceAll(content, "SECRET", canary)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(planted), 0o600); err != nil {
			t.Fatal(err)
		}
		var c svcConfig
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := config.LoadAll(context.Background(), config.Options{Dir: dir, Environ: map[string]string{}}, &c)
		runtime.ReadMemStats(&after)
		// Whatever the input, a load stays within a few MB: the size limit
		// and the alias bound hold for every file the fuzzer writes.
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzLoadBudget {
			t.Fatalf("loading a %d-byte file allocated %d bytes, over the %d budget", len(planted), n, fuzzLoadBudget)
		}
		// Keys are named in problems (unknown key X); values never are.
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if !strings.HasPrefix(p.Reason, "unknown key") && strings.Contains(p.String(), canary) {
					t.Fatalf("a problem repeats the planted secret: %v", p)
				}
			}
		}
	})
}
