package ofprovider_test

import (
	"context"
	"fmt"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/ofprovider"
)

// Call sites written against the OpenFeature API get the in-process
// evaluator; swapping in the flagd provider later changes no call site.
func ExampleNew() {
	flags, _ := featureflags.Parse([]byte(`{"flags": {"new-checkout": {"state": "ENABLED",
		"variants": {"on": true, "off": false}, "defaultVariant": "on"}}}`))
	api := isolated.NewAPI()
	defer api.Shutdown(context.Background())
	_ = api.SetProviderAndWait(context.Background(), ofprovider.New(flags))
	client := api.NewClient()
	d, _ := client.BooleanValueDetails(context.Background(), "new-checkout", false, of.NewEvaluationContext("user-1", nil))
	fmt.Println(d.Value, d.Variant, d.Reason)
	// Output: true on STATIC
}

// Over a watched file, the provider tells the OpenFeature API what each
// reload changed, and when the file stops parsing (STALE: the last good
// flags still answer) and parses again (READY).
func ExampleNew_events() {
	file, err := featureflags.OpenFile("flags.yaml", featureflags.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = file.Run(ctx) }()

	api := isolated.NewAPI()
	defer api.Shutdown(context.Background())
	changed := func(d of.EventDetails) { fmt.Println("flags changed:", d.FlagChanges) }
	api.AddHandler(of.ProviderConfigChange, &changed)
	stale := func(d of.EventDetails) { fmt.Println("flags file bad, serving the last good flags:", d.Message) }
	api.AddHandler(of.ProviderStale, &stale)
	_ = api.SetProviderAndWait(context.Background(), ofprovider.New(file))
}
