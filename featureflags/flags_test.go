package featureflags_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/operable-go/operable/featureflags"
)

const doc = `{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "banner":       {"state": "ENABLED", "variants": {"a": "hello", "b": "hi"}, "defaultVariant": "b", "targeting": {}},
    "old-search":   {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
  }
}`

func TestEvaluate(t *testing.T) {
	set, err := featureflags.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	bools := []struct {
		name string
		set  *featureflags.Set
		key  string
		def  bool
		want featureflags.Details[bool]
	}{
		{"static", set, "new-checkout", false, featureflags.Details[bool]{Value: true, Variant: "on", Reason: featureflags.Static}},
		{"disabled gives the default", set, "old-search", false, featureflags.Details[bool]{Value: false, Reason: featureflags.Disabled}},
		{"missing", set, "nope", true, featureflags.Details[bool]{Value: true, Reason: featureflags.Error, ErrorCode: featureflags.FlagNotFound}},
		{"wrong type", set, "banner", true, featureflags.Details[bool]{Value: true, Reason: featureflags.Error, ErrorCode: featureflags.TypeMismatch}},
		{"not loaded", nil, "new-checkout", true, featureflags.Details[bool]{Value: true, Reason: featureflags.Error, ErrorCode: featureflags.ProviderNotReady}},
	}
	for _, c := range bools {
		if got := c.set.BoolDetails(c.key, c.def, featureflags.EvalContext{}); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: BoolDetails = %+v, want %+v", c.name, got, c.want)
		}
		if got := c.set.Bool(c.key, c.def, featureflags.EvalContext{}); got != c.want.Value {
			t.Errorf("%s: Bool = %v", c.name, got)
		}
	}
	if got := set.StringDetails("banner", "x", featureflags.EvalContext{}); got.Value != "hi" || got.Variant != "b" {
		t.Errorf("StringDetails = %+v", got)
	}
}

func TestEvaluationDoesNotAllocate(t *testing.T) {
	set, _ := featureflags.Parse([]byte(doc))
	if n := testing.AllocsPerRun(100, func() {
		_ = set.Bool("new-checkout", false, featureflags.EvalContext{})
		_ = set.String("banner", "", featureflags.EvalContext{})
		_ = set.Bool("missing", false, featureflags.EvalContext{})
	}); n != 0 {
		t.Errorf("%v allocations per evaluation, want 0", n)
	}
}

func TestParseReportsEveryBadFlag(t *testing.T) {
	_, err := featureflags.Parse([]byte(`{"flags": {
		"a": {"state": "ON", "variants": {"x": 1}, "defaultVariant": "x"},
		"b": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "y"},
		"c": {"state": "ENABLED", "variants": {"x": 1, "y": "one"}, "defaultVariant": "x"},
		"d": {"state": "ENABLED", "variants": {}}
	}}`))
	for _, want := range []string{`flag "a": state`, `flag "b": defaultVariant "y"`, `flag "c": variants hold different types (number, string)`, `flag "d": no variants`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse = %v, want it to say %s", err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"flags": 3}`} {
		if _, err := featureflags.Parse([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "featureflags: ") {
			t.Errorf("Parse(%q) = %v, want a featureflags: error", bad, err)
		}
	}
}

// FuzzParse feeds random definitions, targeting included, and evaluates
// every flag that parses with every typed call over contexts built from the
// same input (lists and objects among the attributes, for map, filter,
// reduce, all, none, some and merge): parsing and evaluation never panic,
// and an evaluation always answers with a reason. The seeds hold every
// operator: flagd-testbed's flags, this package's operator flags, and each
// rule of JSONLogic's reference tests as a flag's targeting.
func FuzzParse(f *testing.F) {
	f.Add([]byte(doc), "user-1", "a@example.com")
	f.Add([]byte(`{"flags":{}}`), "", "")
	if ops, err := os.ReadFile("testdata/custom-ops.json"); err == nil {
		f.Add(ops, "jon@company.com", "3.0.1")
	}
	f.Add([]byte(`{"flags":{"x":{"state":"ENABLED","variants":{"a":1,"b":2},"defaultVariant":"a",
		"targeting":{"if":[{"<":[1,{"var":"n"},3]},"b",{"substr":[{"var":"s"},-2,99]}]}}}}`), "k", "v")
	f.Add([]byte("flags:\n  y:\n    state: ENABLED\n    variants: {on: true, off: false}\n    defaultVariant: off\n"+
		"    targeting: {fractional: [{var: email}, [on, 1], [off, 3]]}\n"), "t", "e@x")
	f.Add([]byte(operatorFlags), "user-42", "beta")
	if tests, err := os.ReadFile("testdata/jsonlogic-tests.json"); err == nil {
		var cases []json.RawMessage
		_ = json.Unmarshal(tests, &cases)
		for i, c := range cases {
			var tc []json.RawMessage
			if json.Unmarshal(c, &tc) != nil || len(tc) != 3 {
				continue // a section comment
			}
			f.Add([]byte(`{"flags":{"r":{"state":"ENABLED","variants":{"a":"a","1":"b","true":"c"},"defaultVariant":"a","targeting":`+
				string(tc[0])+`}}}`), "k"+strconv.Itoa(i), string(tc[1]))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, key, attr string) {
		set, err := featureflags.Parse(data)
		if err != nil {
			if set != nil {
				t.Error("Parse returned a set with an error")
			}
			return
		}
		ecs := []featureflags.EvalContext{{}, {TargetingKey: key, Attributes: map[string]any{
			"email": attr, "version": attr, "n": len(attr), "s": attr, "id": attr, "tier": attr,
			"user": map[string]any{"name": attr}, "list": []any{attr, 1.5, nil},
			"groups": []string{attr, "beta"}, "integers": []any{1, len(attr), -2.5},
			"orders": []any{map[string]any{"total": len(attr), "tags": []any{attr}}, map[string]any{"total": 2}, nil},
			"items":  []any{map[string]any{"qty": 1, "sku": attr}}, "a": map[string]any{"b": []any{attr}}}}}
		for _, info := range set.Flags() {
			for _, ec := range ecs {
				for _, reason := range []featureflags.Reason{
					set.BoolDetails(info.Key, false, ec).Reason, set.StringDetails(info.Key, "", ec).Reason,
					set.IntDetails(info.Key, 0, ec).Reason, set.FloatDetails(info.Key, 0, ec).Reason,
					featureflags.ObjectDetails[map[string]any](set, info.Key, nil, ec).Reason,
				} {
					if reason == "" {
						t.Fatalf("flag %q: an evaluation without a reason", info.Key)
					}
				}
			}
		}
	})
}

func TestFlagsListsEveryFlag(t *testing.T) {
	set, _ := featureflags.Parse([]byte(doc))
	got := set.Flags()
	if len(got) != 3 || got[0].Key != "banner" || got[1].Key != "new-checkout" || got[2].State != "DISABLED" ||
		strings.Join(got[1].Variants, ",") != "off,on" {
		t.Errorf("Flags = %+v", got)
	}
	var none *featureflags.Set
	if none.Flags() != nil {
		t.Error("a nil set lists flags")
	}
}
