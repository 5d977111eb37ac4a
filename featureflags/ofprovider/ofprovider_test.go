package ofprovider_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/flagtest"
	"github.com/operable-go/operable/featureflags/ofprovider"
)

func TestMain(m *testing.M) {
	// The OpenFeature SDK runs its event executor for the life of the API.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startEventListener.func1.1"),
		goleak.IgnoreTopFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startEventListener.func1"))
}

func client(t *testing.T, src ofprovider.Source) *of.Client {
	t.Helper()
	api := isolated.NewAPI()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.SetProviderAndWait(ctx, ofprovider.New(src)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return api.NewClient()
}

// TestOpenFeatureCallsGetTheSameAnswers: through the OpenFeature client,
// the kit's flags resolve with the same values, variants, reasons and
// error codes as the native API.
func TestOpenFeatureCallsGetTheSameAnswers(t *testing.T) {
	set, err := featureflags.Parse([]byte(flagtest.Doc))
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, set)
	ctx := context.Background()
	b, _ := c.BooleanValueDetails(ctx, "static-bool", false, of.NewTargetlessEvaluationContext(nil))
	if !b.Value || b.Variant != "on" || b.Reason != of.StaticReason {
		t.Errorf("static-bool: %+v", b)
	}
	s, _ := c.StringValueDetails(ctx, "targeted", "x", of.NewEvaluationContext("user-1", map[string]any{"email": "ada@example.com"}))
	if s.Value != "yes" || s.Reason != of.TargetingMatchReason {
		t.Errorf("targeted: %+v", s)
	}
	i, _ := c.IntValueDetails(ctx, "static-int", 0, of.NewTargetlessEvaluationContext(nil))
	if i.Value != 2 || i.Variant != "two" {
		t.Errorf("static-int: %+v", i)
	}
	m, err := c.BooleanValueDetails(ctx, "no-such-flag", true, of.NewTargetlessEvaluationContext(nil))
	if m.Value != true || m.ErrorCode != of.FlagNotFoundCode || err == nil {
		t.Errorf("no-such-flag: %+v, %v", m, err)
	}
	tm, _ := c.BooleanValueDetails(ctx, "static-string", true, of.NewTargetlessEvaluationContext(nil))
	if tm.Value != true || tm.ErrorCode != of.TypeMismatchCode {
		t.Errorf("type mismatch: %+v", tm)
	}
	d, _ := c.BooleanValueDetails(ctx, "disabled", false, of.NewTargetlessEvaluationContext(nil))
	if d.Value || d.Reason != of.DisabledReason {
		t.Errorf("disabled: %+v", d)
	}
}

// TestTheProviderFollowsAWatchedFile: the provider reads the file's
// current flags at each call.
func TestTheProviderFollowsAWatchedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.yaml")
	write := func(variant string) {
		doc := "flags:\n  greeting:\n    state: ENABLED\n    variants: {hello: Hello, hi: Hi}\n    defaultVariant: " + variant + "\n"
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hello")
	f, err := featureflags.OpenFile(path, featureflags.FileOptions{Settle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := client(t, f)
	if v, _ := c.StringValue(context.Background(), "greeting", "", of.NewTargetlessEvaluationContext(nil)); v != "Hello" {
		t.Fatalf("greeting = %q", v)
	}
	time.Sleep(50 * time.Millisecond)
	write("hi")
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ := c.StringValue(context.Background(), "greeting", "", of.NewTargetlessEvaluationContext(nil))
		if v == "Hi" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("greeting still %q after the file changed", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
