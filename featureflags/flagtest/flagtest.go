// Package flagtest checks that a source of feature flags keeps the
// semantics every source must keep, in the manner of testing/fstest.TestFS:
// one error listing every misbehaviour, or a Run form with a subtest per
// rule. It also ships Static, an in-memory source for tests of code that
// reads flags.
package flagtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/operable-go/operable/featureflags"
)

// Source is anything that hands out the current flags: a
// *featureflags.File, a *featureflags.Set (its own source), a service.
type Source interface {
	Set() *featureflags.Set
}

// Doc is the definition the kit loads into the source under test.
const Doc = `{
  "flags": {
    "static-bool":   {"state": "ENABLED",  "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "static-string": {"state": "ENABLED",  "variants": {"a": "alpha", "b": "beta"}, "defaultVariant": "b"},
    "static-int":    {"state": "ENABLED",  "variants": {"one": 1, "two": 2}, "defaultVariant": "two"},
    "disabled":      {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "targeted":      {"state": "ENABLED",  "variants": {"yes": "yes", "no": "no"}, "defaultVariant": "no",
                      "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "yes", null]}},
    "no-default":    {"state": "ENABLED",  "variants": {"x": "x"}, "targeting": {"if": [false, "x", null]}}
  }
}`

type rule struct {
	name  string
	check func(*featureflags.Set) error
}

func expect[T any](got featureflags.Details[T], value T, variant string, reason featureflags.Reason, code featureflags.ErrorCode) error {
	if fmt.Sprint(got.Value) != fmt.Sprint(value) || got.Variant != variant || got.Reason != reason || got.ErrorCode != code {
		return fmt.Errorf("got value %v variant %q reason %s code %q; want %v %q %s %q",
			got.Value, got.Variant, got.Reason, got.ErrorCode, value, variant, reason, code)
	}
	return nil
}

var none = featureflags.EvalContext{}

var rules = []rule{
	{"static flags give their default variant, reason STATIC", func(s *featureflags.Set) error {
		return errors.Join(
			expect(s.BoolDetails("static-bool", false, none), true, "on", featureflags.Static, ""),
			expect(s.StringDetails("static-string", "", none), "beta", "b", featureflags.Static, ""),
			expect(s.IntDetails("static-int", 0, none), int64(2), "two", featureflags.Static, ""))
	}},
	{"a missing flag gives the caller's default, FLAG_NOT_FOUND", func(s *featureflags.Set) error {
		return expect(s.BoolDetails("no-such-flag", true, none), true, "", featureflags.Error, featureflags.FlagNotFound)
	}},
	{"a disabled flag gives the caller's default, reason DISABLED", func(s *featureflags.Set) error {
		return expect(s.BoolDetails("disabled", false, none), false, "", featureflags.Disabled, "")
	}},
	{"a variant of another type gives the caller's default, TYPE_MISMATCH", func(s *featureflags.Set) error {
		return errors.Join(
			expect(s.BoolDetails("static-string", true, none), true, "", featureflags.Error, featureflags.TypeMismatch),
			expect(s.StringDetails("static-int", "d", none), "d", "", featureflags.Error, featureflags.TypeMismatch))
	}},
	{"targeting matches, or falls back to the default variant", func(s *featureflags.Set) error {
		yes := featureflags.EvalContext{Attributes: map[string]any{"email": "ada@example.com"}}
		other := featureflags.EvalContext{Attributes: map[string]any{"email": "bob@elsewhere.org"}}
		return errors.Join(
			expect(s.StringDetails("targeted", "", yes), "yes", "yes", featureflags.TargetingMatch, ""),
			expect(s.StringDetails("targeted", "", other), "no", "no", featureflags.Default, ""),
			expect(s.StringDetails("no-default", "caller", none), "caller", "", featureflags.Default, ""))
	}},
	{"the listing names every flag", func(s *featureflags.Set) error {
		var keys []string
		for _, f := range s.Flags() {
			keys = append(keys, f.Key)
		}
		sort.Strings(keys)
		want := []string{"disabled", "no-default", "static-bool", "static-int", "static-string", "targeted"}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			return fmt.Errorf("the listing has %v, want %v", keys, want)
		}
		return nil
	}},
}

// Reloader is a Source whose definition can be replaced, as a watched
// file's is when it changes. The kit's reload rules run on a source that
// implements it.
type Reloader interface {
	Source
	// Update replaces the source's definition with doc and returns once
	// the source has taken it, or has refused it with an error; a refused
	// doc must leave the last good flags in place.
	Update(doc []byte) error
}

// DocB is Doc with static-bool and static-string both changed: a reload
// between the two must be seen whole by every reader.
var DocB = strings.NewReplacer(`"defaultVariant": "on"}`, `"defaultVariant": "off"}`, `"b": "beta"}, "defaultVariant": "b"`, `"b": "beta"}, "defaultVariant": "a"`).Replace(Doc)

// reloadRules run on a Reloader that holds Doc.
var reloadRules = []struct {
	name  string
	check func(Reloader) error
}{
	{"a reload is seen whole by concurrent readers", checkConcurrentReload},
	{"a bad update keeps the last good flags", checkBadUpdate},
}

func checkConcurrentReload(src Reloader) error {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	torn := make(chan string, 1)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				set := src.Set()
				b, s := set.Bool("static-bool", false, none), set.String("static-string", "", none)
				if b != (s == "beta") {
					select {
					case torn <- fmt.Sprintf("static-bool %v with static-string %q: half of a reload", b, s):
					default:
					}
				}
			}
		})
	}
	var errs []error
	for i := range 20 {
		doc := Doc
		if i%2 == 0 {
			doc = DocB
		}
		if err := src.Update([]byte(doc)); err != nil {
			errs = append(errs, fmt.Errorf("update %d: %w", i+1, err))
			break
		}
	}
	close(stop)
	wg.Wait()
	select {
	case t := <-torn:
		errs = append(errs, errors.New(t))
	default:
	}
	if got := src.Set().String("static-string", "", none); got != "beta" {
		errs = append(errs, fmt.Errorf("after the last update (Doc), static-string is %q, want beta", got))
	}
	return errors.Join(errs...)
}

func checkBadUpdate(src Reloader) error {
	if err := src.Update([]byte(`{"flags": {"static-bool": `)); err == nil {
		return errors.New("an update that is not a flag document was taken without an error")
	}
	set := src.Set()
	if set == nil {
		return errors.New("after a bad update the source holds no flags")
	}
	return expect(set.BoolDetails("static-bool", false, none), true, "on", featureflags.Static, "")
}

// TestSource loads Doc into a source made by newSource and checks every
// rule, and the reload rules when the source is a [Reloader]; it returns
// nil or one error listing every broken rule.
func TestSource(newSource func(doc []byte) (Source, error)) error {
	src, err := newSource([]byte(Doc))
	if err != nil {
		return fmt.Errorf("flagtest: the source cannot load the kit's document: %w", err)
	}
	set := src.Set()
	if set == nil {
		return errors.New("flagtest: the source holds no flags after loading")
	}
	var errs []error
	for _, r := range rules {
		if err := r.check(set); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	if r, ok := src.(Reloader); ok {
		for _, rr := range reloadRules {
			if err := rr.check(r); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", rr.name, err))
			}
		}
	}
	var notLoaded *featureflags.Set
	if err := expect(notLoaded.BoolDetails("static-bool", true, none), true, "", featureflags.Error, featureflags.ProviderNotReady); err != nil {
		errs = append(errs, fmt.Errorf("flags not loaded yet: %w", err))
	}
	return errors.Join(errs...)
}

// Run checks each rule as a subtest of t, a source made for each; the
// reload rules are skipped for a source that is not a [Reloader].
func Run(t *testing.T, newSource func(t *testing.T, doc []byte) Source) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			src := newSource(t, []byte(Doc))
			if err := r.check(src.Set()); err != nil {
				t.Error(err)
			}
		})
	}
	for _, rr := range reloadRules {
		t.Run(rr.name, func(t *testing.T) {
			r, ok := newSource(t, []byte(Doc)).(Reloader)
			if !ok {
				t.Skip("the source is not a flagtest.Reloader")
			}
			if err := rr.check(r); err != nil {
				t.Error(err)
			}
		})
	}
}

// Static returns a source holding one enabled flag per entry of values,
// each with the single variant "value" holding it (a bool, string, whole or
// fractional number, or an object), for tests of code that reads flags.
func Static(values map[string]any) (*featureflags.Set, error) {
	flags := map[string]any{}
	for key, v := range values {
		flags[key] = map[string]any{"state": "ENABLED", "variants": map[string]any{"value": v}, "defaultVariant": "value"}
	}
	doc, err := json.Marshal(map[string]any{"flags": flags})
	if err != nil {
		return nil, fmt.Errorf("flagtest: %w", err)
	}
	return featureflags.Parse(doc)
}
