package featureflags_test

import (
	"os"
	"testing"

	"github.com/operable-go/operable/featureflags"
)

func loadOps(t testing.TB) *featureflags.Set {
	t.Helper()
	data, err := os.ReadFile("testdata/custom-ops.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := featureflags.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func user(name string) featureflags.EvalContext {
	return featureflags.EvalContext{Attributes: map[string]any{"user": map[string]any{"name": name}}}
}

func tk(key string, attrs ...any) featureflags.EvalContext {
	ec := featureflags.EvalContext{TargetingKey: key, Attributes: map[string]any{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		ec.Attributes[attrs[i].(string)] = attrs[i+1]
	}
	return ec
}

func attrs(kv ...any) featureflags.EvalContext { return tk("", kv...) }

// TestFlagdTestbedTargeting holds the evaluator to flagd's published
// conformance cases (open-feature/flagd-testbed, gherkin/targeting.feature,
// the @fractional-v2 examples): the same variants, reasons and error codes.
func TestFlagdTestbedTargeting(t *testing.T) {
	set := loadOps(t)
	cases := []struct {
		flag   string
		ec     featureflags.EvalContext
		def    string
		value  string
		reason featureflags.Reason
		code   featureflags.ErrorCode
	}{
		// Fractional, high-precision bucketing (golden vectors).
		{"fractional-flag", user("jack"), "fallback", "hearts", featureflags.TargetingMatch, ""},
		{"fractional-flag", user("queen"), "fallback", "spades", featureflags.TargetingMatch, ""},
		{"fractional-flag", user("ten"), "fallback", "clubs", featureflags.TargetingMatch, ""},
		{"fractional-flag", user("nine"), "fallback", "diamonds", featureflags.TargetingMatch, ""},
		{"fractional-flag", user("3"), "fallback", "clubs", featureflags.TargetingMatch, ""},
		{"fractional-flag-shorthand", tk("jon@company.com"), "fallback", "heads", featureflags.TargetingMatch, ""},
		{"fractional-flag-shorthand", tk("jane@company.com"), "fallback", "tails", featureflags.TargetingMatch, ""},
		{"fractional-single-entry-flag", tk("some-targeting-key"), "fallback", "single", featureflags.TargetingMatch, ""},
		// @fractional-v3 "invalid implicit inputs" (and flagd's fractional_test.go "missing
		// targetingKey returns default variant"): no targeting key, no bucket: the default.
		{"fractional-single-entry-flag", tk(""), "fallback", "fallback", featureflags.Default, ""},
		{"fractional-flag-shorthand", attrs("irrelevant", "none"), "fallback", "draw", featureflags.Default, ""},
		{"fractional-flag-shorthand", attrs("targetingKey", 12345), "fallback", "draw", featureflags.Default, ""},
		{"fractional-flag-shorthand", attrs("targetingKey", true), "fallback", "draw", featureflags.Default, ""},
		{"fractional-flag-A-shared-seed", user("seven"), "fallback", "hearts", featureflags.TargetingMatch, ""},
		{"fractional-flag-A-shared-seed", user("eight"), "fallback", "diamonds", featureflags.TargetingMatch, ""},
		{"fractional-flag-A-shared-seed", user("nine"), "fallback", "clubs", featureflags.TargetingMatch, ""},
		{"fractional-flag-A-shared-seed", user("two"), "fallback", "spades", featureflags.TargetingMatch, ""},
		{"fractional-flag-B-shared-seed", user("seven"), "fallback", "ace-of-hearts", featureflags.TargetingMatch, ""},
		{"fractional-flag-B-shared-seed", user("eight"), "fallback", "ace-of-diamonds", featureflags.TargetingMatch, ""},
		{"fractional-flag-B-shared-seed", user("nine"), "fallback", "ace-of-clubs", featureflags.TargetingMatch, ""},
		{"fractional-flag-B-shared-seed", user("two"), "fallback", "ace-of-spades", featureflags.TargetingMatch, ""},
		// Hash edge cases: murmur3 of these keys is 0, 1, MaxInt32, MaxInt32+1, MaxUint32.
		{"fractional-hash-edge-flag", tk("ejOoVL"), "fallback", "lower", featureflags.TargetingMatch, ""},
		{"fractional-hash-edge-flag", tk("bY9fO-"), "fallback", "lower", featureflags.TargetingMatch, ""},
		{"fractional-hash-edge-flag", tk("SI7p-"), "fallback", "lower", featureflags.TargetingMatch, ""},
		{"fractional-hash-edge-flag", tk("6LvT0"), "fallback", "upper", featureflags.TargetingMatch, ""},
		{"fractional-hash-edge-flag", tk("ceQdGm"), "fallback", "upper", featureflags.TargetingMatch, ""},
		// Nested expressions as variants and weights.
		{"fractional-nested-if-flag", tk("jon@company.com", "tier", "premium"), "fallback", "premium", featureflags.TargetingMatch, ""},
		{"fractional-nested-if-flag", tk("jon@company.com", "tier", "basic"), "fallback", "standard", featureflags.TargetingMatch, ""},
		{"fractional-nested-if-flag", tk("user1", "tier", "premium"), "fallback", "standard", featureflags.TargetingMatch, ""},
		{"fractional-nested-var-flag", tk("jon@company.com", "color", "red"), "fallback", "red", featureflags.TargetingMatch, ""},
		{"fractional-nested-var-flag", tk("jon@company.com", "color", "green"), "fallback", "green", featureflags.TargetingMatch, ""},
		{"fractional-nested-var-flag", tk("user1", "color", "red"), "fallback", "blue", featureflags.TargetingMatch, ""},
		{"fractional-nested-var-flag", tk("jon@company.com", "color", "yellow"), "fallback", "fallback", featureflags.Error, featureflags.General},
		{"fractional-nested-weight-flag", tk("jon@company.com", "tier", "premium"), "fallback", "red", featureflags.TargetingMatch, ""},
		{"fractional-nested-weight-flag", tk("jon@company.com", "tier", "basic"), "fallback", "blue", featureflags.TargetingMatch, ""},
		{"fractional-nested-weight-flag", tk("user1", "tier", "premium"), "fallback", "red", featureflags.TargetingMatch, ""},
		{"fractional-as-condition-flag", tk("some-targeting-key"), "zero", "hundreds", featureflags.TargetingMatch, ""},
		{"fractional-as-condition-false-flag", tk("some-targeting-key"), "zero", "ones", featureflags.TargetingMatch, ""},
		{"fractional-zero-weights-flag", tk("any-user"), "wrong", "fallback", featureflags.Default, ""},
		{"fractional-negative-weight-flag", tk("any-user"), "wrong", "two", featureflags.TargetingMatch, ""},
		{"fractional-null-bucket-key-flag", tk(""), "wrong", "fallback", featureflags.Default, ""},
		// starts_with, ends_with.
		{"starts-ends-flag", attrs("id", "abcdef"), "fallback", "prefix", featureflags.TargetingMatch, ""},
		{"starts-ends-flag", attrs("id", "uvwxyz"), "fallback", "postfix", featureflags.TargetingMatch, ""},
		{"starts-ends-flag", attrs("id", "abcxyz"), "fallback", "prefix", featureflags.TargetingMatch, ""},
		{"starts-ends-flag", attrs("id", "lmnopq"), "fallback", "none", featureflags.TargetingMatch, ""},
		{"starts-ends-flag", attrs("id", 3), "fallback", "none", featureflags.TargetingMatch, ""},
		{"starts-with-non-string-flag", attrs("num", 123), "wrong", "fallback", featureflags.Default, ""},
		{"starts-with-wrong-args-flag", attrs(), "wrong", "fallback", featureflags.Default, ""},
		// sem_ver.
		{"equal-greater-lesser-version-flag", attrs("version", "2.0.0"), "fallback", "equal", featureflags.TargetingMatch, ""},
		{"equal-greater-lesser-version-flag", attrs("version", "2.1.0"), "fallback", "greater", featureflags.TargetingMatch, ""},
		{"equal-greater-lesser-version-flag", attrs("version", "1.9.0"), "fallback", "lesser", featureflags.TargetingMatch, ""},
		{"equal-greater-lesser-version-flag", attrs("version", "2.0.0-alpha"), "fallback", "lesser", featureflags.TargetingMatch, ""},
		{"equal-greater-lesser-version-flag", attrs("version", "2.0.0.0"), "fallback", "none", featureflags.TargetingMatch, ""},
		{"major-minor-version-flag", attrs("version", "3.0.1"), "fallback", "minor", featureflags.TargetingMatch, ""},
		{"major-minor-version-flag", attrs("version", "3.1.0"), "fallback", "major", featureflags.TargetingMatch, ""},
		{"major-minor-version-flag", attrs("version", "4.0.0"), "fallback", "none", featureflags.TargetingMatch, ""},
		{"semver-v-prefix-flag", attrs("version", "v1.0.0"), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-v-prefix-flag", attrs("version", "V1.0.0"), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-v-prefix-flag", attrs("version", "2.0.0"), "fallback", "no-match", featureflags.TargetingMatch, ""},
		{"semver-partial-version-flag", attrs("version", "1.5.0"), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-partial-version-flag", attrs("version", "1.0"), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-partial-version-flag", attrs("version", 1), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-partial-version-flag", attrs("version", "2.0.0"), "fallback", "no-match", featureflags.TargetingMatch, ""},
		{"semver-build-metadata-flag", attrs("version", "1.0.0+other"), "fallback", "match", featureflags.TargetingMatch, ""},
		// @semver-numeric-context: a number is read as text first ("%v"), 1.2 is "1.2".
		{"semver-numeric-context-flag", attrs("version", 1.2), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-numeric-context-flag", attrs("version", 1.1), "fallback", "no-match", featureflags.TargetingMatch, ""},
		{"semver-numeric-context-flag", attrs("version", 2), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-numeric-context-flag", attrs("version", 1), "fallback", "no-match", featureflags.TargetingMatch, ""},
		{"semver-numeric-context-flag", attrs("version", "1.2"), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-partial-version-flag", attrs("version", 1.2), "fallback", "match", featureflags.TargetingMatch, ""},
		{"semver-invalid-version-flag", attrs("version", "not-a-version"), "wrong", "fallback", featureflags.Default, ""},
		{"semver-invalid-operator-flag", attrs("version", "1.0.0"), "wrong", "fallback", featureflags.Default, ""},
		// The targeting key, $evaluators, errors.
		{"targeting-key-flag", tk("5c3d8535-f81a-4478-a6d3-afaa4d51199e"), "fallback", "hit", featureflags.TargetingMatch, ""},
		{"targeting-key-flag", tk("f20bd32d-703b-48b6-bc8e-79d53c85134a"), "fallback", "miss", featureflags.Default, ""},
		{"some-email-targeted-flag", attrs("email", "ballmer@macrosoft.com"), "fallback", "hi", featureflags.TargetingMatch, ""},
		{"ref-to-nonexistent-evaluator-flag", attrs(), "fallback", "fallback", featureflags.Error, featureflags.ParseError},
		{"no-such-flag", attrs(), "fallback", "fallback", featureflags.Error, featureflags.FlagNotFound},
	}
	for _, c := range cases {
		got := set.StringDetails(c.flag, c.def, c.ec)
		if got.Value != c.value || got.Reason != c.reason || got.ErrorCode != c.code {
			t.Errorf("%s %+v: %q %s %s, want %q %s %s", c.flag, c.ec, got.Value, got.Reason, got.ErrorCode, c.value, c.reason, c.code)
		}
	}
	ints := []struct {
		flag  string
		ec    featureflags.EvalContext
		value int64
		code  featureflags.ErrorCode
	}{
		{"timestamp-flag", attrs("time", 1), -1, ""},
		{"timestamp-flag", attrs("time", int64(4133980802)), 1, ""},
		{"targeting-null-variant-flag", attrs(), 2, ""},
		{"error-targeting-flag", attrs(), 3, featureflags.ParseError},
		{"missing-variant-targeting-flag", attrs(), 3, featureflags.General},
		{"non-string-variant-targeting-flag", attrs(), 2, ""},
		{"empty-targeting-flag", attrs(), 1, ""},
	}
	for _, c := range ints {
		if got := set.IntDetails(c.flag, 3, c.ec); got.Value != c.value || got.ErrorCode != c.code {
			t.Errorf("%s: %+v, want %d %s", c.flag, got, c.value, c.code)
		}
	}
}

// TestMurmur3GoldenVectors pins the hash: keys whose MurmurHash3 x86 32
// (seed 0) is a boundary value land where flagd puts them, and the
// distribution of 100,000 keys over four equal buckets stays within 1%.
func TestFractionalDistribution(t *testing.T) {
	set := loadOps(t)
	counts := map[string]int{}
	for i := range 100_000 {
		counts[set.String("fractional-flag", "", user("user-"+itoa(i)))]++
	}
	for _, v := range []string{"clubs", "diamonds", "hearts", "spades"} {
		if n := counts[v]; n < 24_000 || n > 26_000 {
			t.Errorf("%s got %d of 100000, want 25000 ± 1000 (%v)", v, n, counts)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// TestTargetingEvaluationAllocationBudget: static flags, and targeting
// over var, comparisons, in, starts_with, sem_ver and fractional on a
// string key, evaluate without allocating.
func TestTargetingEvaluationAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; make test runs this test without it")
	}
	set := loadOps(t)
	ecs := []featureflags.EvalContext{tk("jon@company.com", "tier", "premium"), attrs("id", "abcdef"), attrs("version", "3.0.1"), attrs("email", "ballmer@macrosoft.com")}
	for _, c := range []struct {
		flag string
		ec   featureflags.EvalContext
	}{
		{"fractional-hash-edge-flag", ecs[0]}, {"fractional-nested-if-flag", ecs[0]}, {"starts-ends-flag", ecs[1]},
		{"major-minor-version-flag", ecs[2]}, {"some-email-targeted-flag", ecs[3]}, {"empty-targeting-flag", ecs[0]},
		{"fractional-flag-shorthand", ecs[0]}, {"fractional-nested-weight-flag", ecs[0]},
	} {
		if n := testing.AllocsPerRun(200, func() { _ = set.StringDetails(c.flag, "", c.ec) }); n != 0 {
			t.Errorf("%s: %v allocations per evaluation, want 0", c.flag, n)
		}
	}
}
