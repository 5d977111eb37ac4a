package bench

// Loading the same 50-field struct from defaults, a YAML file and the
// environment with ours, koanf and viper, in one run. Every iteration
// reads the file again, as a start-up or a reload does.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	kenv "github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/viper"

	"github.com/operable-go/operable/config"
)

type fiftyFields struct {
	F01 int           `env:"F01" envDefault:"1" koanf:"f01" mapstructure:"f01"`
	F02 time.Duration `env:"F02" envDefault:"2s" koanf:"f02" mapstructure:"f02"`
	F03 bool          `env:"F03" envDefault:"true" koanf:"f03" mapstructure:"f03"`
	F04 string        `env:"F04" envDefault:"value-4" koanf:"f04" mapstructure:"f04"`
	F05 int           `env:"F05" envDefault:"5" koanf:"f05" mapstructure:"f05"`
	F06 time.Duration `env:"F06" envDefault:"6s" koanf:"f06" mapstructure:"f06"`
	F07 bool          `env:"F07" envDefault:"true" koanf:"f07" mapstructure:"f07"`
	F08 string        `env:"F08" envDefault:"value-8" koanf:"f08" mapstructure:"f08"`
	F09 int           `env:"F09" envDefault:"9" koanf:"f09" mapstructure:"f09"`
	F10 time.Duration `env:"F10" envDefault:"10s" koanf:"f10" mapstructure:"f10"`
	F11 bool          `env:"F11" envDefault:"true" koanf:"f11" mapstructure:"f11"`
	F12 string        `env:"F12" envDefault:"value-12" koanf:"f12" mapstructure:"f12"`
	F13 int           `env:"F13" envDefault:"13" koanf:"f13" mapstructure:"f13"`
	F14 time.Duration `env:"F14" envDefault:"14s" koanf:"f14" mapstructure:"f14"`
	F15 bool          `env:"F15" envDefault:"true" koanf:"f15" mapstructure:"f15"`
	F16 string        `env:"F16" envDefault:"value-16" koanf:"f16" mapstructure:"f16"`
	F17 int           `env:"F17" envDefault:"17" koanf:"f17" mapstructure:"f17"`
	F18 time.Duration `env:"F18" envDefault:"18s" koanf:"f18" mapstructure:"f18"`
	F19 bool          `env:"F19" envDefault:"true" koanf:"f19" mapstructure:"f19"`
	F20 string        `env:"F20" envDefault:"value-20" koanf:"f20" mapstructure:"f20"`
	F21 int           `env:"F21" envDefault:"21" koanf:"f21" mapstructure:"f21"`
	F22 time.Duration `env:"F22" envDefault:"22s" koanf:"f22" mapstructure:"f22"`
	F23 bool          `env:"F23" envDefault:"true" koanf:"f23" mapstructure:"f23"`
	F24 string        `env:"F24" envDefault:"value-24" koanf:"f24" mapstructure:"f24"`
	F25 int           `env:"F25" envDefault:"25" koanf:"f25" mapstructure:"f25"`
	F26 time.Duration `env:"F26" envDefault:"26s" koanf:"f26" mapstructure:"f26"`
	F27 bool          `env:"F27" envDefault:"true" koanf:"f27" mapstructure:"f27"`
	F28 string        `env:"F28" envDefault:"value-28" koanf:"f28" mapstructure:"f28"`
	F29 int           `env:"F29" envDefault:"29" koanf:"f29" mapstructure:"f29"`
	F30 time.Duration `env:"F30" envDefault:"30s" koanf:"f30" mapstructure:"f30"`
	F31 bool          `env:"F31" envDefault:"true" koanf:"f31" mapstructure:"f31"`
	F32 string        `env:"F32" envDefault:"value-32" koanf:"f32" mapstructure:"f32"`
	F33 int           `env:"F33" envDefault:"33" koanf:"f33" mapstructure:"f33"`
	F34 time.Duration `env:"F34" envDefault:"34s" koanf:"f34" mapstructure:"f34"`
	F35 bool          `env:"F35" envDefault:"true" koanf:"f35" mapstructure:"f35"`
	F36 string        `env:"F36" envDefault:"value-36" koanf:"f36" mapstructure:"f36"`
	F37 int           `env:"F37" envDefault:"37" koanf:"f37" mapstructure:"f37"`
	F38 time.Duration `env:"F38" envDefault:"38s" koanf:"f38" mapstructure:"f38"`
	F39 bool          `env:"F39" envDefault:"true" koanf:"f39" mapstructure:"f39"`
	F40 string        `env:"F40" envDefault:"value-40" koanf:"f40" mapstructure:"f40"`
	F41 int           `env:"F41" envDefault:"41" koanf:"f41" mapstructure:"f41"`
	F42 time.Duration `env:"F42" envDefault:"42s" koanf:"f42" mapstructure:"f42"`
	F43 bool          `env:"F43" envDefault:"true" koanf:"f43" mapstructure:"f43"`
	F44 string        `env:"F44" envDefault:"value-44" koanf:"f44" mapstructure:"f44"`
	F45 int           `env:"F45" envDefault:"45" koanf:"f45" mapstructure:"f45"`
	F46 time.Duration `env:"F46" envDefault:"46s" koanf:"f46" mapstructure:"f46"`
	F47 bool          `env:"F47" envDefault:"true" koanf:"f47" mapstructure:"f47"`
	F48 string        `env:"F48" envDefault:"value-48" koanf:"f48" mapstructure:"f48"`
	F49 int           `env:"F49" envDefault:"49" koanf:"f49" mapstructure:"f49"`
	F50 time.Duration `env:"F50" envDefault:"50s" koanf:"f50" mapstructure:"f50"`
}

var fiftyDefaults = map[string]any{
	"f01": "1",
	"f02": "2s",
	"f03": "true",
	"f04": "value-4",
	"f05": "5",
	"f06": "6s",
	"f07": "true",
	"f08": "value-8",
	"f09": "9",
	"f10": "10s",
	"f11": "true",
	"f12": "value-12",
	"f13": "13",
	"f14": "14s",
	"f15": "true",
	"f16": "value-16",
	"f17": "17",
	"f18": "18s",
	"f19": "true",
	"f20": "value-20",
	"f21": "21",
	"f22": "22s",
	"f23": "true",
	"f24": "value-24",
	"f25": "25",
	"f26": "26s",
	"f27": "true",
	"f28": "value-28",
	"f29": "29",
	"f30": "30s",
	"f31": "true",
	"f32": "value-32",
	"f33": "33",
	"f34": "34s",
	"f35": "true",
	"f36": "value-36",
	"f37": "37",
	"f38": "38s",
	"f39": "true",
	"f40": "value-40",
	"f41": "41",
	"f42": "42s",
	"f43": "true",
	"f44": "value-44",
	"f45": "45",
	"f46": "46s",
	"f47": "true",
	"f48": "value-48",
	"f49": "49",
	"f50": "50s",
}

const fiftyYAML = `f01: 10
f02: 20s
f03: true
f04: "value-40"
f05: 50
f06: 60s
f07: true
f08: "value-80"
f09: 90
f10: 100s
f11: true
f12: "value-120"
f13: 130
f14: 140s
f15: true
f16: "value-160"
f17: 170
f18: 180s
f19: true
f20: "value-200"
f21: 210
f22: 220s
f23: true
f24: "value-240"
f25: 250
`

// fiftyEnv sets ten of the fields, five of them also in the file.
var fiftyEnv = map[string]string{
	"APP_F20": "value-2000",
	"APP_F21": "2100",
	"APP_F22": "2200s",
	"APP_F23": "false",
	"APP_F24": "value-2400",
	"APP_F25": "2500",
	"APP_F26": "2600s",
	"APP_F27": "false",
	"APP_F28": "value-2800",
	"APP_F29": "2900",
}

func fiftyDir(b *testing.B) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(upperKeys(fiftyYAML)), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lower.yaml"), []byte(fiftyYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// upperKeys writes the keys as ours reads them: the variable names.
func upperKeys(y string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(y, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			b.WriteString(line)
			continue
		}
		b.WriteString(strings.ToUpper(k) + ":" + v)
	}
	return b.String()
}

func checkFifty(b *testing.B, c *fiftyFields) {
	if c.F01 != 10 || c.F20 != "value-2000" || c.F21 != 2100 || c.F22 != 2200*time.Second || c.F25 != 2500 || c.F13 != 130 ||
		c.F30 != 30*time.Second || c.F31 != true || c.F49 != 49 {
		b.Fatalf("loaded %+v", c)
	}
}

func BenchmarkConfigOperable(b *testing.B) {
	dir := fiftyDir(b)
	opts := config.Options{Dir: dir, Files: []string{"base.yaml"}, Prefix: "APP_", Environ: fiftyEnv}
	b.ReportAllocs()
	for b.Loop() {
		var c fiftyFields
		if err := config.LoadInto(&c, opts); err != nil {
			b.Fatal(err)
		}
		checkFifty(b, &c)
	}
}

func BenchmarkConfigKoanf(b *testing.B) {
	path := filepath.Join(fiftyDir(b), "lower.yaml")
	environ := make([]string, 0, len(fiftyEnv))
	for k, v := range fiftyEnv {
		environ = append(environ, k+"="+v)
	}
	b.ReportAllocs()
	for b.Loop() {
		k := koanf.New(".")
		if err := k.Load(confmap.Provider(fiftyDefaults, "."), nil); err != nil {
			b.Fatal(err)
		}
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			b.Fatal(err)
		}
		if err := k.Load(kenv.Provider(".", kenv.Opt{Prefix: "APP_", EnvironFunc: func() []string { return environ },
			TransformFunc: func(k, v string) (string, any) { return strings.ToLower(strings.TrimPrefix(k, "APP_")), v }}), nil); err != nil {
			b.Fatal(err)
		}
		var c fiftyFields
		if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
			b.Fatal(err)
		}
		checkFifty(b, &c)
	}
}

func BenchmarkConfigViper(b *testing.B) {
	path := filepath.Join(fiftyDir(b), "lower.yaml")
	for k, v := range fiftyEnv {
		b.Setenv(k, v) // viper reads the process environment only
	}
	b.ReportAllocs()
	for b.Loop() {
		v := viper.New()
		for k, d := range fiftyDefaults {
			v.SetDefault(k, d)
		}
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			b.Fatal(err)
		}
		v.SetEnvPrefix("APP")
		v.AutomaticEnv()
		var c fiftyFields
		if err := v.Unmarshal(&c); err != nil {
			b.Fatal(err)
		}
		checkFifty(b, &c)
	}
}
