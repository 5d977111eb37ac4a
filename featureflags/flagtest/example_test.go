package flagtest_test

import (
	"fmt"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/flagtest"
)

// Static flags for a test of code that reads flags.
func ExampleStatic() {
	flags, _ := flagtest.Static(map[string]any{"new-checkout": true, "greeting": "hi"})
	fmt.Println(flags.Bool("new-checkout", false, featureflags.EvalContext{}), flags.String("greeting", "", featureflags.EvalContext{}))
	// Output: true hi
}

// A new flag source proves itself against the kit.
func ExampleTestSource() {
	err := flagtest.TestSource(func(doc []byte) (flagtest.Source, error) { return featureflags.Parse(doc) })
	fmt.Println(err)
	// Output: <nil>
}
