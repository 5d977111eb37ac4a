package featureflags_test

import (
	"fmt"

	"github.com/operable-go/operable/featureflags"
)

func ExampleParse() {
	flags, err := featureflags.Parse([]byte(`{"flags": {
		"new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
	}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(flags.Bool("new-checkout", false, featureflags.EvalContext{}))
	fmt.Printf("%+v\n", flags.BoolDetails("dark-mode", false, featureflags.EvalContext{}))
	// Output:
	// true
	// {Value:false Variant: Reason:ERROR ErrorCode:FLAG_NOT_FOUND Metadata:map[]}
}

// Targeting in flagd's JSONLogic: a rule on an attribute, then a
// percentage rollout on the targeting key.
func ExampleSet_StringDetails() {
	flags, _ := featureflags.Parse([]byte(`
flags:
  checkout:
    state: ENABLED
    variants: {old: old, new: new}
    defaultVariant: old
    targeting:
      if:
        - ends_with: [{var: email}, "@example.com"]
        - new
        - fractional: [[old, 90], [new, 10]]
`))
	staff := featureflags.EvalContext{TargetingKey: "u-1", Attributes: map[string]any{"email": "ada@example.com"}}
	d := flags.StringDetails("checkout", "old", staff)
	fmt.Println(d.Value, d.Reason)
	// Output: new TARGETING_MATCH
}

// An object flag decodes into the caller's type.
func ExampleObject() {
	flags, _ := featureflags.Parse([]byte(`{"flags": {"limits": {"state": "ENABLED",
		"variants": {"std": {"rps": 100, "burst": 20}}, "defaultVariant": "std"}}}`))
	type limits struct{ RPS, Burst int }
	fmt.Printf("%+v\n", featureflags.Object(flags, "limits", limits{}, featureflags.EvalContext{}))
	// Output: {RPS:100 Burst:20}
}

// FLAG_<KEY> pins a flag for a local run or a test.
func ExampleSet_WithOverrides() {
	flags, _ := featureflags.Parse([]byte(`{"flags": {"new-checkout": {"state": "ENABLED",
		"variants": {"on": true, "off": false}, "defaultVariant": "off"}}}`))
	pinned, err := flags.WithOverrides(map[string]string{featureflags.EnvVar("new-checkout"): "on"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(featureflags.EnvVar("new-checkout"), pinned.Bool("new-checkout", false, featureflags.EvalContext{}), pinned.Flags()[0].Source)
	// Output: FLAG_NEW_CHECKOUT true env:FLAG_NEW_CHECKOUT
}

// JSONLogic's list operations over the evaluation context: some of the
// user's groups is in the beta list; reduce sums their orders.
func ExampleSet_BoolDetails_lists() {
	flags, _ := featureflags.Parse([]byte(`{"flags": {
	  "beta": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	    "targeting": {"if": [{"some": [{"var": "groups"}, {"in": [{"var": ""}, ["beta", "staff"]]}]}, "on", "off"]}},
	  "tier": {"state": "ENABLED", "variants": {"gold": "gold", "basic": "basic"}, "defaultVariant": "basic",
	    "targeting": {"if": [{">=": [{"reduce": [{"var": "orders"},
	      {"+": [{"var": "accumulator"}, {"var": "current.total"}]}, 0]}, 100]}, "gold", "basic"]}}
	}}`))
	user := featureflags.EvalContext{TargetingKey: "u-1", Attributes: map[string]any{
		"groups": []string{"dev", "staff"},
		"orders": []any{map[string]any{"total": 60}, map[string]any{"total": 45}},
	}}
	d := flags.BoolDetails("beta", false, user)
	fmt.Println(d.Value, d.Reason, flags.String("tier", "", user))
	// Output: true TARGETING_MATCH gold
}
