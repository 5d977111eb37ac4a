package featureflags

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"
)

// evalRule compiles rule and evaluates it with data as what var reads at
// the top, as JSONLogic's reference tests give it (any JSON value), and
// returns the result as encoding/json would decode it.
func evalRule(t *testing.T, rule, data json.RawMessage) any {
	t.Helper()
	r, err := decode(rule)
	if err != nil {
		t.Fatalf("rule %s: %v", rule, err)
	}
	n, err := compile(r, nil, 0)
	if err != nil {
		t.Fatalf("rule %s does not compile: %v", rule, err)
	}
	d, err := decode(data)
	if err != nil {
		t.Fatalf("data %s: %v", data, err)
	}
	e := &env{flagKey: "flag", now: func() int64 { return 0 }, scope: scopeItem, item: fromAny(d), left: maxSteps}
	return normalize(t, toAny(n.eval(e)))
}

// normalize round-trips x through JSON, so that json.Number and float64
// compare equal.
func normalize(t *testing.T, x any) any {
	t.Helper()
	if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return x
	}
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatalf("marshal %v: %v", x, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJSONLogicReferenceTests runs JSONLogic's own conformance suite,
// https://jsonlogic.com/tests.json (the "applies" tests json-logic-js runs
// in tests/tests.js; testdata/jsonlogic-tests.json holds them with their
// section comments): every rule, over its data, gives the reference's
// result. It covers every operator, truthiness, null handling and the data
// scope of map, filter, reduce, all, none and some.
func TestJSONLogicReferenceTests(t *testing.T) {
	raw, err := os.ReadFile("testdata/jsonlogic-tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []json.RawMessage
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	section, n := "", 0
	for _, c := range cases {
		if bytes.HasPrefix(c, []byte(`"`)) {
			_ = json.Unmarshal(c, &section)
			continue
		}
		var tc [3]json.RawMessage
		if err := json.Unmarshal(c, &tc); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		var want any
		_ = json.Unmarshal(tc[2], &want)
		if got := evalRule(t, tc[0], tc[1]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s over %s = %#v, want %s", section, tc[0], tc[1], got, tc[2])
		}
		n++
	}
	if n < 250 {
		t.Fatalf("ran %d reference cases, want the whole suite", n)
	}
}

// TestJSONLogicEdgeCases: the reference's own edge-case tests
// (json-logic-js tests/tests.js, "edge cases" and "logging") and the
// documented behaviour of jsonlogic.com/operations.html that tests.json
// does not pin.
func TestJSONLogicEdgeCases(t *testing.T) {
	for _, c := range []struct{ rule, data, want string }{
		// tests.js "var when data is falsy": the whole data, even 0.
		{`{"var": ""}`, `0`, `0`},
		// tests.js "var when data is null".
		{`{"var": ""}`, `null`, `null`},
		// tests.js "Fallback works when data is a non-object".
		{`{"var": ["a", "fallback"]}`, `null`, `"fallback"`},
		// tests.js "logging": log evaluates to its argument.
		{`{"log": [1]}`, `null`, `1`},
		{`{"log": "apple"}`, `null`, `"apple"`},
		{`{"log": {"var": "a"}}`, `{"a": [1, 2]}`, `[1, 2]`},
		// logic.js var: the default replaces a path that names nothing,
		// not one that names a null.
		{`{"var": ["a", 1]}`, `{"a": null}`, `null`},
		{`{"var": ["a.b", 1]}`, `{"a": null}`, `1`},
		// operations.html "var": a computed path (the rule is evaluated,
		// then read as a path), a numeric index into a list.
		{`{"var": {"cat": ["pie.", "filling"]}}`, `{"pie": {"filling": "apple"}}`, `"apple"`},
		{`{"var": [{"if": [true, "b", "c"]}, "none"]}`, `{"b": 2}`, `2`},
		{`{"var": [{"if": [true, "x", "c"]}, "none"]}`, `{"b": 2}`, `"none"`},
		{`{"var": [{"var": "k"}]}`, `{"k": "", "z": 1}`, `{"k": "", "z": 1}`},
		{`{"var": "list.1"}`, `{"list": ["a", "b"]}`, `"b"`},
		// operations.html "missing": an empty string counts as missing
		// (logic.js: value === null || value === "").
		{`{"missing": ["a", "b"]}`, `{"a": "", "b": null}`, `["a", "b"]`},
		{`{"missing_some": [1, ["a", "b"]]}`, `{"a": "", "b": 0}`, `[]`},
		// operations.html "map, reduce and filter": reduce without an
		// initial value starts from null; over a non-list it is the initial.
		{`{"reduce": [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}]}`, `null`, `3`},
		{`{"reduce": [7, {"var": "current"}, "init"]}`, `null`, `"init"`},
		{`{"reduce": [[1, 2], {"var": "accumulator"}, 5]}`, `null`, `5`},
		{`{"reduce": [[[1, 2], [3]], {"merge": [{"var": "accumulator"}, {"var": "current"}]}, []]}`, `null`, `[1, 2, 3]`},
		// logic.js "all": false on an empty list or a non-list; "none"
		// true; "some" false.
		{`{"all": [[], true]}`, `null`, `false`},
		{`{"all": ["abc", true]}`, `null`, `false`},
		{`{"none": [null, true]}`, `null`, `true`},
		{`{"some": [{"var": "nope"}, true]}`, `{}`, `false`},
		{`{"map": [{"var": "nope"}, 1]}`, `{}`, `[]`},
		// Scopes nest: the inner list's element, then the outer's again.
		{`{"map": [[[1, 2], [3]], {"reduce": [{"var": ""}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}]}`, `null`, `[3, 3]`},
		{`{"some": [{"var": "groups"}, {"in": [{"var": "name"}, ["admin", "ops"]]}]}`,
			`{"groups": [{"name": "dev"}, {"name": "ops"}]}`, `true`},
		{`{"filter": [{"var": "users"}, {"some": [{"var": "roles"}, {"==": [{"var": ""}, "admin"]}]}]}`,
			`{"users": [{"id": 1, "roles": ["dev"]}, {"id": 2, "roles": ["x", "admin"]}]}`, `[{"id": 2, "roles": ["x", "admin"]}]`},
		// Inside reduce, var reads only current and accumulator.
		{`{"reduce": [[1], {"var": "x"}, 0]}`, `{"x": 9}`, `null`},
		{`{"reduce": [[1], {"var": ""}, 0]}`, `null`, `{"current": 1, "accumulator": 0}`},
		// merge flattens one level only.
		{`{"merge": [[1, [2]], 3]}`, `null`, `[1, [2], 3]`},
	} {
		var want any
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		if got := evalRule(t, json.RawMessage(c.rule), json.RawMessage(c.data)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s over %s = %#v, want %s", c.rule, c.data, got, c.want)
		}
	}
}

// TestLogWritesNothing: JSONLogic's log writes to the console; here a flag
// evaluation writes nothing to stdout or stderr.
func TestLogWritesNothing(t *testing.T) {
	set, err := Parse([]byte(`{"flags": {"f": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
		"targeting": {"log": {"if": [{"log": {"var": "email"}}, "a", "b"]}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout, os.Stderr = w, w
	got := set.String("f", "", EvalContext{Attributes: map[string]any{"email": "ada@example.com"}})
	os.Stdout, os.Stderr = stdout, stderr
	_ = w.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(r)
	_ = r.Close()
	if got != "a" || out.Len() != 0 {
		t.Errorf("log: flag %q, output %q; want \"a\" and nothing written", got, out.String())
	}
}
