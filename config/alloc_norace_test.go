//go:build !race

package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/operable-go/operable/config"
)

// TestLoadAllocationBudget holds what issue 22 made a guarantee: a load of
// 50 fields from their defaults, a YAML file setting 25 and the
// environment setting 10 (the shape of bench's BenchmarkConfigOperable)
// makes at most half the allocations viper makes for the same load (1,202
// in BENCHMARKS.md's 2026-12-01 entry). It was 541 when measured: about 250
// of them are caarlos0/env parsing the struct's tags, 200 yaml.v3's node
// tree. Run without -race (make test's Alloc pass), where the counts mean
// something.
func TestLoadAllocationBudget(t *testing.T) {
	const budget = 1202 / 2
	fields := make([]reflect.StructField, 50)
	kinds := []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[bool]()}
	defaults := []string{"1", "value", "true"}
	var yaml strings.Builder
	env := map[string]string{}
	for i := range fields {
		name := fmt.Sprintf("F%02d", i+1)
		fields[i] = reflect.StructField{Name: name, Type: kinds[i%3],
			Tag: reflect.StructTag(fmt.Sprintf(`env:%q envDefault:%q`, name, defaults[i%3]))}
		if i < 25 {
			fmt.Fprintf(&yaml, "%s: %s\n", name, defaults[i%3])
		}
		if i >= 20 && i < 30 {
			env["APP_"+name] = defaults[i%3]
		}
	}
	typ := reflect.StructOf(fields)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := config.Options{Dir: dir, Files: []string{"base.yaml"}, Prefix: "APP_", Environ: env}
	load := func() {
		if err := config.LoadInto(reflect.New(typ).Interface(), opts); err != nil {
			t.Fatal(err)
		}
	}
	load()
	if got := testing.AllocsPerRun(20, load); got > budget {
		t.Errorf("a load of 50 fields makes %.0f allocations, over the budget of %d (half viper's)", got, budget)
	} else {
		t.Logf("a load of 50 fields makes %.0f allocations (budget %d)", got, budget)
	}
}
