package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/operable-go/operable/config"
)

// A service's own struct gets a prefix of its own with Prefixed, beside
// a struct whose variables keep their names: in files its keys nest under
// the prefix, and an unknown variable with the prefix is a problem.
func ExamplePrefixed() {
	dir, _ := os.MkdirTemp("", "config")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("port: 9000\norders:\n  max_work: 7\n"), 0o600)

	var common struct {
		Port int `env:"PORT" envDefault:"8080"`
	}
	var orders struct {
		MaxWork int `env:"MAX_WORK" envDefault:"2"`
	}
	src, err := config.LoadAll(context.Background(), config.Options{Dir: dir, Environ: map[string]string{}},
		&common, config.Prefixed{Prefix: "ORDERS_", Dst: &orders})
	layers := src.Of("ORDERS_MAX_WORK")
	fmt.Println(common.Port, orders.MaxWork, strings.TrimPrefix(layers[len(layers)-1], "file:"+dir+string(filepath.Separator)), err)

	_, err = config.LoadAll(context.Background(), config.Options{Dir: dir, Environ: map[string]string{"ORDERS_MAX_WROK": "3"}},
		&common, config.Prefixed{Prefix: "ORDERS_", Dst: &orders})
	fmt.Println(err)
	// Output:
	// 9000 7 base.yaml:3:13 <nil>
	// config: 1 problem; ORDERS_MAX_WROK: unknown variable (did you mean ORDERS_MAX_WORK?)
}
