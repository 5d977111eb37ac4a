package featureflags_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/featureflags"
)

// operatorFlags are flags whose targeting uses the JSONLogic operations
// over lists and the flagd behaviours of issue 21; their expected results
// are in TestOperatorsThroughFlags.
const operatorFlags = `{"flags": {
  "some-group": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"some": [{"var": "groups"}, {"==": [{"var": ""}, "beta"]}]}, "on", "off"]}},
  "some-object": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"some": [{"var": "orgs"}, {"and": [{"==": [{"var": "role"}, "admin"]}, {">=": [{"var": "seats"}, 10]}]}]}, "on", "off"]}},
  "all-verified": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"all": [{"var": "emails"}, {"ends_with": [{"var": ""}, "@example.com"]}]}, "on", "off"]}},
  "none-blocked": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"none": [{"var": "groups"}, {"in": [{"var": ""}, ["blocked", "fraud"]]}]}, "on", "off"]}},
  "spend-tier": {"state": "ENABLED", "variants": {"gold": "gold", "basic": "basic"}, "defaultVariant": "basic",
    "targeting": {"if": [{">=": [{"reduce": [{"var": "orders"}, {"+": [{"var": "accumulator"}, {"var": "current.total"}]}, 0]}, 100]}, "gold", "basic"]}},
  "filtered-count": {"state": "ENABLED", "variants": {"many": "many", "few": "few"}, "defaultVariant": "few",
    "targeting": {"if": [{"<": [1, {"reduce": [{"filter": [{"var": "orders"}, {">": [{"var": "total"}, 20]}]}, {"+": [{"var": "accumulator"}, 1]}, 0]}]}, "many", "few"]}},
  "mapped-in": {"state": "ENABLED", "variants": {"yes": "yes", "no": "no"}, "defaultVariant": "no",
    "targeting": {"if": [{"in": ["EU", {"map": [{"var": "sites"}, {"var": "region"}]}]}, "yes", "no"]}},
  "merged-in": {"state": "ENABLED", "variants": {"yes": "yes", "no": "no"}, "defaultVariant": "no",
    "targeting": {"if": [{"in": [{"var": "country"}, {"merge": [["FR", "DE"], {"var": "extra"}]}]}, "yes", "no"]}},
  "profile-complete": {"state": "ENABLED", "variants": {"yes": "yes", "no": "no"}, "defaultVariant": "no",
    "targeting": {"if": [{"missing_some": [2, ["email", "phone", "address"]]}, "no", "yes"]}},
  "logged": {"state": "ENABLED", "variants": {"yes": "yes", "no": "no"}, "defaultVariant": "no",
    "targeting": {"log": {"if": [{"var": "beta"}, "yes", "no"]}}},
  "computed-var": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "none": "none"}, "defaultVariant": "none",
    "targeting": {"var": [{"if": [{"var": "useTier"}, "tier", "plan"]}, "none"]}},
  "custom-bucket": {"state": "ENABLED", "variants": {"heads": "heads", "tails": "tails", "draw": "draw"}, "defaultVariant": "draw",
    "targeting": {"fractional": [{"var": "absent"}, ["heads"], ["tails", 1]]}},
  "numeric-bucket": {"state": "ENABLED", "variants": {"heads": "heads", "tails": "tails", "draw": "draw"}, "defaultVariant": "draw",
    "targeting": {"fractional": [{"var": "n"}, ["heads"], ["tails", 1]]}},
  "implicit-bucket": {"state": "ENABLED", "variants": {"heads": "heads", "tails": "tails", "draw": "draw"}, "defaultVariant": "draw",
    "targeting": {"fractional": [["heads"], ["tails", 1]]}},
  "semver-literals": {"state": "ENABLED", "variants": {"red": "red", "green": "green"}, "defaultVariant": "green",
    "targeting": {"if": [{"sem_ver": [{"var": "v"}, {"var": "op"}, {"var": "to"}]}, "red", "green"]}}
}}`

func parseOperatorFlags(t testing.TB) *featureflags.Set {
	t.Helper()
	set, err := featureflags.Parse([]byte(operatorFlags))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestOperatorsThroughFlags evaluates the list operations, var with a
// computed path, log, and flagd's sem_ver and fractional behaviours as a
// flag does: values, variants and reasons. Before issue 21 every flag here
// but implicit-bucket was a PARSE_ERROR or answered otherwise.
func TestOperatorsThroughFlags(t *testing.T) {
	set := parseOperatorFlags(t)
	orders := []any{map[string]any{"total": 30}, map[string]any{"total": 50.5}, map[string]any{"total": 25}}
	cases := []struct {
		name   string
		flag   string
		ec     featureflags.EvalContext
		value  any
		reason featureflags.Reason
	}{
		// jsonlogic.com/operations.html "all, none, and some" over a context list,
		// of strings ([]any and []string) and of objects.
		{"some: a list from JSON", "some-group", attrs("groups", []any{"alpha", "beta"}), true, featureflags.TargetingMatch},
		{"some: a []string", "some-group", attrs("groups", []string{"alpha", "beta"}), true, featureflags.TargetingMatch},
		{"some: none match", "some-group", attrs("groups", []string{"alpha"}), false, featureflags.TargetingMatch},
		{"some: no list", "some-group", attrs(), false, featureflags.TargetingMatch},
		{"some: objects", "some-object", attrs("orgs", []any{map[string]any{"role": "user", "seats": 50},
			map[string]any{"role": "admin", "seats": 12}}), true, featureflags.TargetingMatch},
		{"some: objects, none", "some-object", attrs("orgs", []any{map[string]any{"role": "admin", "seats": 3}}), false, featureflags.TargetingMatch},
		{"all", "all-verified", attrs("emails", []any{"a@example.com", "b@example.com"}), true, featureflags.TargetingMatch},
		{"all: one fails", "all-verified", attrs("emails", []any{"a@example.com", "b@other.org"}), false, featureflags.TargetingMatch},
		// logic.js: "All of an empty set is false".
		{"all: empty list", "all-verified", attrs("emails", []any{}), false, featureflags.TargetingMatch},
		{"none", "none-blocked", attrs("groups", []string{"alpha"}), true, featureflags.TargetingMatch},
		{"none: one blocked", "none-blocked", attrs("groups", []string{"alpha", "fraud"}), false, featureflags.TargetingMatch},
		{"none: empty list", "none-blocked", attrs("groups", []string{}), true, featureflags.TargetingMatch},
		// operations.html "map, reduce and filter".
		{"reduce: a sum over objects", "spend-tier", attrs("orders", orders), "gold", featureflags.TargetingMatch},
		{"reduce: under", "spend-tier", attrs("orders", orders[:1]), "basic", featureflags.TargetingMatch},
		{"reduce: no list gives the initial value", "spend-tier", attrs(), "basic", featureflags.TargetingMatch},
		{"filter then reduce", "filtered-count", attrs("orders", orders), "many", featureflags.TargetingMatch},
		{"filter then reduce, one left", "filtered-count", attrs("orders", orders[1:2]), "few", featureflags.TargetingMatch},
		{"map then in", "mapped-in", attrs("sites", []any{map[string]any{"region": "US"}, map[string]any{"region": "EU"}}), "yes", featureflags.TargetingMatch},
		{"map then in, absent", "mapped-in", attrs("sites", []any{map[string]any{"region": "US"}}), "no", featureflags.TargetingMatch},
		// operations.html "merge": lists and single values.
		{"merge: a list attribute", "merged-in", attrs("country", "IT", "extra", []any{"IT", "ES"}), "yes", featureflags.TargetingMatch},
		{"merge: a single attribute", "merged-in", attrs("country", "IT", "extra", "IT"), "yes", featureflags.TargetingMatch},
		{"merge: neither", "merged-in", attrs("country", "IT"), "no", featureflags.TargetingMatch},
		// operations.html "missing_some": two of three.
		{"missing_some: two present", "profile-complete", attrs("email", "a@b.c", "address", "1 Main St"), "yes", featureflags.TargetingMatch},
		{"missing_some: one present", "profile-complete", attrs("email", "a@b.c"), "no", featureflags.TargetingMatch},
		{"missing_some: an empty string is missing", "profile-complete", attrs("email", "a@b.c", "phone", ""), "no", featureflags.TargetingMatch},
		{"log: its argument", "logged", attrs("beta", true), "yes", featureflags.TargetingMatch},
		// operations.html "var": a computed path, with a default.
		{"var: computed path", "computed-var", attrs("useTier", true, "tier", "a", "plan", "b"), "a", featureflags.TargetingMatch},
		{"var: computed path, other branch", "computed-var", attrs("useTier", false, "tier", "a", "plan", "b"), "b", featureflags.TargetingMatch},
		{"var: computed path, default", "computed-var", attrs("useTier", false), "none", featureflags.TargetingMatch},
		// flagd fractional.go: without a targeting key, or with a bucketing value that is
		// not a string, null: DEFAULT (the fallback to the targeting key is in
		// TestFractionalFallsBackToTheTargetingKey). The implicit buckets are flagd-testbed's
		// @fractional-v2 shorthand vectors.
		{"fractional: implicit", "implicit-bucket", tk("jon@company.com"), "heads", featureflags.TargetingMatch},
		{"fractional: implicit (2)", "implicit-bucket", tk("jane@company.com"), "tails", featureflags.TargetingMatch},
		{"fractional: null bucketing value, no targeting key", "custom-bucket", tk(""), "draw", featureflags.Default},
		{"fractional: implicit, no targeting key", "implicit-bucket", tk(""), "draw", featureflags.Default},
		{"fractional: a number to bucket on", "numeric-bucket", tk("jon@company.com", "n", 5), "draw", featureflags.Default},
		// flagd semver_test.go: "versions given as double", "versions given as int",
		// and ~ / ^ comparing minor and major only, in either direction.
		{"sem_ver: 1.2 = \"1.2\"", "semver-literals", attrs("v", 1.2, "op", "=", "to", "1.2"), "red", featureflags.TargetingMatch},
		{"sem_ver: 1 = v1.0.0", "semver-literals", attrs("v", 1, "op", "=", "to", "v1.0.0"), "red", featureflags.TargetingMatch},
		{"sem_ver: 1.2.3 ^ 1.5.6", "semver-literals", attrs("v", "1.2.3", "op", "^", "to", "1.5.6"), "red", featureflags.TargetingMatch},
		{"sem_ver: 1.2.3 ~ 1.2.6", "semver-literals", attrs("v", "1.2.3", "op", "~", "to", "1.2.6"), "red", featureflags.TargetingMatch},
		{"sem_ver: 2.2.3 ^ 1.2.3", "semver-literals", attrs("v", "2.2.3", "op", "^", "to", "1.2.3"), "green", featureflags.TargetingMatch},
		{"sem_ver: 1.3.3 ~ 1.2.6", "semver-literals", attrs("v", "1.3.3", "op", "~", "to", "1.2.6"), "green", featureflags.TargetingMatch},
		{"sem_ver: true is no version", "semver-literals", attrs("v", true, "op", "=", "to", "1.0.0"), "green", featureflags.TargetingMatch},
	}
	for _, c := range cases {
		var got any
		var reason featureflags.Reason
		var code featureflags.ErrorCode
		if b, ok := c.value.(bool); ok {
			d := set.BoolDetails(c.flag, !b, c.ec)
			got, reason, code = d.Value, d.Reason, d.ErrorCode
		} else {
			d := set.StringDetails(c.flag, "caller-default", c.ec)
			got, reason, code = d.Value, d.Reason, d.ErrorCode
		}
		if got != c.value || reason != c.reason || code != "" {
			t.Errorf("%s: %s = %v %s %s, want %v %s", c.name, c.flag, got, reason, code, c.value, c.reason)
		}
	}
}

// TestFractionalFallsBackToTheTargetingKey: a custom bucketing expression
// that evaluates to null buckets on the flag key and the targeting key, as
// flagd's fractional.go does ("custom property could be nil/missing") and
// as its spec writes that default: {"cat": [{"var": "$flagd.flagKey"},
// {"var": "targetingKey"}]}.
func TestFractionalFallsBackToTheTargetingKey(t *testing.T) {
	set, err := featureflags.Parse([]byte(`{"flags": {
	  "custom-bucket": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c"}, "defaultVariant": "c",
	    "targeting": {"fractional": [{"var": "absent"}, ["a", 50], ["b", 50]]}},
	  "spelled-out": {"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c"}, "defaultVariant": "c",
	    "targeting": {"fractional": [{"cat": ["custom-bucket", {"var": "targetingKey"}]}, ["a", 50], ["b", 50]]}}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 200 {
		ec := tk("user-" + itoa(i))
		got, want := set.StringDetails("custom-bucket", "", ec), set.StringDetails("spelled-out", "", ec)
		if got.Value != want.Value || got.Reason != featureflags.TargetingMatch {
			t.Fatalf("%s: %+v, want %q TARGETING_MATCH", ec.TargetingKey, got, want.Value)
		}
		seen[got.Value]++
	}
	if seen["a"] < 50 || seen["b"] < 50 {
		t.Errorf("buckets %v: not a split", seen)
	}
}

// TestListOperatorsEvaluateWithoutAllocating: some, all and none over a
// context list of ten groups, reduce over a list of objects, and in over a
// context list read the list in place: no allocation per evaluation.
func TestListOperatorsEvaluateWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; make test runs this test without it")
	}
	set := parseOperatorFlags(t)
	groups := []any{"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "beta"}
	orders := []any{map[string]any{"total": 30}, map[string]any{"total": 50.5}, map[string]any{"total": 25}}
	ec := attrs("groups", groups, "emails", []any{"a@example.com", "b@example.com"}, "orders", orders,
		"orgs", []any{map[string]any{"role": "admin", "seats": 12}}, "country", "FR", "email", "a@b.c", "phone", "1", "useTier", true, "tier", "a")
	ec.TargetingKey = "user-42"
	for _, flag := range []string{"some-group", "some-object", "all-verified", "none-blocked", "spend-tier", "profile-complete",
		"computed-var", "custom-bucket", "logged"} {
		if n := testing.AllocsPerRun(200, func() {
			_ = set.StringDetails(flag, "", ec)
			_ = set.BoolDetails(flag, false, ec)
		}); n != 0 {
			t.Errorf("%s: %v allocations per evaluation, want 0", flag, n)
		}
	}
}

// TestAnEvaluationIsBounded: a rule whose work doubles at each step (a
// reduce merging or concatenating its accumulator with itself, 64 times)
// stops at the evaluation's budget, 262,144 list elements or bytes
// of text, and gives null: the default variant, in bounded time and memory.
func TestAnEvaluationIsBounded(t *testing.T) {
	ones := "[1" + strings.Repeat(",1", 63) + "]"
	set, err := featureflags.Parse([]byte(`{"flags": {
	  "lists": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
	    "targeting": {"if": [{"reduce": [` + ones + `, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]}, "a", "b"]}},
	  "text": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
	    "targeting": {"if": [{"reduce": [` + ones + `, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "x"]}, "a", "b"]}},
	  "nested": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
	    "targeting": {"if": [{"some": [{"map": [` + ones + `, {"map": [` + ones + `, {"map": [` + ones + `, {"map": [` + ones + `, 1]}]}]}]}, true]}, "a", "b"]}}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for _, flag := range []string{"lists", "text", "nested"} {
		if d := set.StringDetails(flag, "", featureflags.EvalContext{}); d.Value != "b" || d.Reason != featureflags.Default {
			t.Errorf("%s: %+v, want the default variant b, reason DEFAULT", flag, d)
		}
	}
	runtime.ReadMemStats(&after)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("three bounded evaluations took %v", took)
	}
	t.Logf("allocated %d MiB in %v", (after.TotalAlloc-before.TotalAlloc)>>20, time.Since(start))
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
		t.Errorf("three bounded evaluations allocated %d bytes, want under 128 MiB", alloc)
	}
}
