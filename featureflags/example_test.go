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
