package bench

// Feature flag evaluation: ours beside OpenFeature's in-memory provider, in
// one run; directly on the provider (what an in-process evaluator costs)
// and through the OpenFeature client (what a call site pays).

import (
	"context"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/ofprovider"
)

const flagDoc = `{"flags": {
  "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "greeting-style": {"state": "ENABLED", "variants": {"classic": "classic", "warm": "warm"}, "defaultVariant": "classic",
    "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "warm",
      {"fractional": [["classic", 80], ["warm", 20]]}]}}
}}`

func flagSet(b *testing.B) *featureflags.Set {
	set, err := featureflags.Parse([]byte(flagDoc))
	if err != nil {
		b.Fatal(err)
	}
	return set
}

var (
	userCtx  = featureflags.EvalContext{TargetingKey: "user-42", Attributes: map[string]any{"email": "ada@elsewhere.org"}}
	userFlat = of.FlattenedContext{"targetingKey": "user-42", "email": "ada@elsewhere.org"}
)

func memProvider() *memprovider.InMemoryProvider {
	return memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		"new-checkout": {Key: "new-checkout", State: memprovider.Enabled, DefaultVariant: "on",
			Variants: map[string]any{"on": true, "off": false}},
	})
}

func BenchmarkFlagStaticOperable(b *testing.B) {
	set := flagSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if !set.Bool("new-checkout", false, userCtx) {
			b.Fatal("off")
		}
	}
}

func BenchmarkFlagStaticOpenFeatureMemory(b *testing.B) {
	p := memProvider()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if !p.BooleanEvaluation(ctx, "new-checkout", false, userFlat).Value {
			b.Fatal("off")
		}
	}
}

// BenchmarkFlagTargetingOperable: ends_with on an attribute, then a
// fractional split on the targeting key.
func BenchmarkFlagTargetingOperable(b *testing.B) {
	set := flagSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if set.String("greeting-style", "", userCtx) == "" {
			b.Fatal("empty")
		}
	}
}

// The JSONLogic list operations: some over the ten groups of the context
// (a list read in place), and reduce summing a field over a list of
// objects, each beside BenchmarkFlagTargetingOperable.
const listFlagDoc = `{"flags": {
  "beta-groups": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
    "targeting": {"if": [{"some": [{"var": "groups"}, {"in": [{"var": ""}, ["beta", "staff"]]}]}, "on", "off"]}},
  "spend-tier": {"state": "ENABLED", "variants": {"gold": "gold", "basic": "basic"}, "defaultVariant": "basic",
    "targeting": {"if": [{">=": [{"reduce": [{"var": "orders"}, {"+": [{"var": "accumulator"}, {"var": "current.total"}]}, 0]}, 100]}, "gold", "basic"]}}
}}`

var listCtx = featureflags.EvalContext{TargetingKey: "user-42", Attributes: map[string]any{
	// The match is the last group, so that some visits all ten.
	"groups": []any{"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "beta"},
	"orders": []any{map[string]any{"total": 30.0}, map[string]any{"total": 50.5}, map[string]any{"total": 25.0}},
}}

func listFlagSet(b *testing.B) *featureflags.Set {
	set, err := featureflags.Parse([]byte(listFlagDoc))
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkFlagSomeOperable: some over a list of ten groups, each tested
// with in against a literal list of two.
func BenchmarkFlagSomeOperable(b *testing.B) {
	set := listFlagSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if !set.Bool("beta-groups", false, listCtx) {
			b.Fatal("off")
		}
	}
}

// BenchmarkFlagReduceOperable: reduce summing current.total over three
// orders, then a comparison.
func BenchmarkFlagReduceOperable(b *testing.B) {
	set := listFlagSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if set.String("spend-tier", "", listCtx) != "gold" {
			b.Fatal("not gold")
		}
	}
}

func client(b *testing.B, p of.FeatureProvider) *of.Client {
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return api.NewClient()
}

func BenchmarkFlagClientOperable(b *testing.B) {
	c := client(b, ofprovider.New(flagSet(b)))
	ec := of.NewEvaluationContext("user-42", map[string]any{"email": "ada@elsewhere.org"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if v, _ := c.BooleanValue(ctx, "new-checkout", false, ec); !v {
			b.Fatal("off")
		}
	}
}

func BenchmarkFlagClientOpenFeatureMemory(b *testing.B) {
	c := client(b, memProvider())
	ec := of.NewEvaluationContext("user-42", map[string]any{"email": "ada@elsewhere.org"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if v, _ := c.BooleanValue(ctx, "new-checkout", false, ec); !v {
			b.Fatal("off")
		}
	}
}
