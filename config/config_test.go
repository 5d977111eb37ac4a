package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/secrets"
)

type dbConfig struct {
	URL      string         `env:"URL" envDefault:"postgres://localhost/app"`
	Password secrets.Secret `env:"PASSWORD"`
	MaxConns int            `env:"MAX_CONNS" envDefault:"10"`
}

type appConfig struct {
	Port    int           `env:"PORT" envDefault:"8080"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"5s"`
	Debug   bool          `env:"DEBUG"`
	Name    string        `env:"NAME,required"`
	DB      dbConfig      `envPrefix:"DB_"`
}

func (c *appConfig) Validate() error {
	var errs []error
	if c.Port > 65535 {
		errs = append(errs, &config.Problem{Var: "PORT", Field: "Port", Reason: "must be at most 65535"})
	}
	if c.DB.MaxConns < 1 {
		errs = append(errs, errors.New("DB_MAX_CONNS must be at least 1"))
	}
	return errors.Join(errs...)
}

func TestLoadLayersDefaultsThenEnvironment(t *testing.T) {
	cfg, err := config.Load[appConfig](config.Options{Environ: map[string]string{
		"NAME": "svc", "TIMEOUT": "250ms", "DB_PASSWORD": "pw", "DB_MAX_CONNS": "3",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8080 || cfg.Timeout != 250*time.Millisecond || cfg.Name != "svc" ||
		cfg.DB.URL != "postgres://localhost/app" || cfg.DB.MaxConns != 3 || cfg.DB.Password.Reveal() != "pw" {
		t.Errorf("Load = %+v", cfg)
	}
}

func TestLoadWithPrefix(t *testing.T) {
	cfg, err := config.Load[appConfig](config.Options{Prefix: "APP_", Environ: map[string]string{
		"APP_NAME": "svc", "NAME": "ignored", "APP_DB_MAX_CONNS": "7",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "svc" || cfg.DB.MaxConns != 7 {
		t.Errorf("Load with prefix = %+v", cfg)
	}
}

func TestLoadReportsEveryProblemWithoutTheValue(t *testing.T) {
	environ := map[string]string{
		"PORT":         "99999999999999999999",
		"TIMEOUT":      "soon-s3cr3t",
		"DEBUG":        "maybe-s3cr3t",
		"DB_MAX_CONNS": "0",
		"DB_PASSWORD":  "pw-s3cr3t",
	}
	_, err := config.Load[appConfig](config.Options{Environ: environ})
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Load error = %v, want *config.Error", err)
	}
	want := []string{
		"PORT (field Port): not a valid int: value out of range",
		"TIMEOUT (field Timeout): not a valid time.Duration",
		"DEBUG (field Debug): not a valid bool: invalid syntax",
		"NAME: required but not set",
		"DB_MAX_CONNS must be at least 1",
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not say %q:\n%s", w, msg)
		}
	}
	if len(cerr.Problems) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(cerr.Problems), len(want), cerr.Problems)
	}
	for _, v := range environ {
		if len(v) > 2 && strings.Contains(msg, v) {
			t.Errorf("error echoes the value %q: %s", v, msg)
		}
	}
}

func TestValidateIsNotRepeatedForAFieldThatFailedToParse(t *testing.T) {
	// PORT fails to parse; Validate would see the zero value and is not
	// asked to report PORT again.
	_, err := config.Load[appConfig](config.Options{Environ: map[string]string{"NAME": "x", "PORT": "x"}})
	var cerr *config.Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 1 || cerr.Problems[0].Var != "PORT" {
		t.Errorf("Load = %v, want one problem about PORT", err)
	}
}

func TestLoadIntoRejectsNonStructPointers(t *testing.T) {
	for _, dst := range []any{nil, appConfig{}, new(int)} {
		if err := config.LoadInto(dst, config.Options{}); err == nil || !strings.HasPrefix(err.Error(), "config: ") {
			t.Errorf("LoadInto(%T) = %v, want a config: error", dst, err)
		}
	}
}

// FuzzLoadNeverEchoesAValue feeds arbitrary text to typed and secret fields
// and checks that no error repeats it.
func FuzzLoadNeverEchoesAValue(f *testing.F) {
	for _, s := range []string{"", "12", "1h", "true", "-1", "9999999999999999999999", "\x00", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := "Zq9" + s + "Xk7" // markers make the value findable in any text
		for _, key := range []string{"PORT", "TIMEOUT", "DEBUG", "DB_MAX_CONNS", "DB_PASSWORD"} {
			_, err := config.Load[appConfig](config.Options{Environ: map[string]string{"NAME": "n", key: v}})
			if err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("error for %s echoes the value: %s", key, err)
			}
		}
	})
}

type multiProblem struct {
	A, B string
}

func (multiProblem) Validate() error {
	return errors.Join(
		&config.Problem{Var: "A", Reason: "bad a"},
		&config.Problem{Var: "B", Reason: "bad b"},
		errors.New("plain reason"),
	)
}

func TestValidateMayJoinSeveralProblems(t *testing.T) {
	_, err := config.Load[multiProblem](config.Options{Environ: map[string]string{}})
	var cerr *config.Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 3 {
		t.Fatalf("Load = %v, want 3 problems", err)
	}
}

func TestSecretsFindsEverySecretField(t *testing.T) {
	cfg, err := config.Load[appConfig](config.Options{Environ: map[string]string{"NAME": "n", "DB_PASSWORD": "pw-1"}})
	if err != nil {
		t.Fatal(err)
	}
	type wrap struct {
		App   *appConfig
		Extra []secrets.Secret
		Empty secrets.Secret
	}
	got := config.Secrets(&wrap{App: &cfg, Extra: []secrets.Secret{secrets.New("x-2")}})
	if len(got) != 2 || got[0].Reveal() != "pw-1" || got[1].Reveal() != "x-2" {
		t.Errorf("Secrets = %d values, want pw-1 and x-2", len(got))
	}
}

func TestDescribeSaysWhereEachValueCameFrom(t *testing.T) {
	environ := map[string]string{"NAME": "svc", "DB_PASSWORD": "pw-canary", "TIMEOUT": "2s"}
	cfg, err := config.Load[appConfig](config.Options{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	fields := config.Describe(&cfg, config.Options{Environ: environ})
	byVar := map[string]config.Field{}
	for _, f := range fields {
		byVar[f.Var] = f
	}
	cases := []struct {
		v, source, value string
		secret, required bool
	}{
		{"PORT", "default", "8080", false, false},
		{"TIMEOUT", "env:TIMEOUT", "2s", false, false},
		{"DEBUG", "unset", "false", false, false},
		{"NAME", "env:NAME", "svc", false, true},
		{"DB_URL", "default", "postgres://localhost/app", false, false},
		{"DB_PASSWORD", "env:DB_PASSWORD", secrets.Redacted, true, false},
	}
	for _, c := range cases {
		f, ok := byVar[c.v]
		if !ok || f.Source != c.source || f.Value != c.value || f.Secret != c.secret || f.Required != c.required {
			t.Errorf("%s = %+v, want source %s value %q secret %v required %v", c.v, f, c.source, c.value, c.secret, c.required)
		}
	}
	if len(fields) != 7 || fields[0].Path != "Port" || byVar["DB_MAX_CONNS"].Path != "DB.MaxConns" {
		t.Errorf("fields %+v", fields)
	}
	if out := fmt.Sprint(fields); strings.Contains(out, "pw-canary") {
		t.Errorf("Describe shows a secret: %s", out)
	}
}

// limits is a nested config struct from a package that does not import
// config: its Validate names fields through ConfigField/ConfigReason.
type limits struct {
	Burst int     `env:"BURST" envDefault:"10"`
	Ratio float64 `env:"RATIO" envDefault:"0.5"`
}

type limitError struct{ field, reason string }

func (e *limitError) Error() string        { return e.field + " " + e.reason }
func (e *limitError) ConfigField() string  { return e.field }
func (e *limitError) ConfigReason() string { return e.reason }

func (l limits) Validate() error {
	var errs []error
	if l.Burst < 1 {
		errs = append(errs, &limitError{"Burst", "must be at least 1"})
	}
	if l.Ratio > 1 {
		errs = append(errs, &limitError{"Ratio", "must be at most 1"})
	}
	if len(errs) > 0 {
		return fmt.Errorf("limits: %w", errors.Join(errs...))
	}
	return nil
}

type tiered struct {
	Read  limits  `envPrefix:"READ_"`
	Write *limits `envPrefix:"WRITE_"`
	Inner struct {
		Deep limits `envPrefix:"DEEP_"`
	} `envPrefix:"INNER_"`
}

// TestNestedStructsAreValidated: the Validate method of every nested
// struct runs, and its problems carry the full field path and variable.
func TestNestedStructsAreValidated(t *testing.T) {
	cfg := tiered{Write: &limits{}}
	err := config.LoadInto(&cfg, config.Options{Prefix: "APP_", Environ: map[string]string{
		"APP_READ_BURST": "0", "APP_READ_RATIO": "7", "APP_WRITE_RATIO": "2", "APP_INNER_DEEP_BURST": "-1",
	}})
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("LoadInto = %v, want a *config.Error", err)
	}
	want := []config.Problem{
		{Field: "Inner.Deep.Burst", Var: "APP_INNER_DEEP_BURST", Reason: "must be at least 1"},
		{Field: "Read.Burst", Var: "APP_READ_BURST", Reason: "must be at least 1"},
		{Field: "Read.Ratio", Var: "APP_READ_RATIO", Reason: "must be at most 1"},
		{Field: "Write.Ratio", Var: "APP_WRITE_RATIO", Reason: "must be at most 1"},
	}
	if fmt.Sprint(ce.Problems) != fmt.Sprint(want) {
		t.Errorf("problems:\n got %v\nwant %v", ce.Problems, want)
	}
	for _, v := range []string{"7", "-1"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("the error %q echoes the value %q", err, v)
		}
	}
}
