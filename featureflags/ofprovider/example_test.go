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
