package healthtest_test

import (
	"context"
	"fmt"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/healthtest"
)

func ExampleTestCheck() {
	myCheck := func(ctx context.Context) error {
		<-ctx.Done() // waits on its context, as every check must
		return ctx.Err()
	}
	fmt.Println(healthtest.TestCheck(myCheck))
	// Output: <nil>
}

func ExampleTestProbe() {
	var checks health.Checker
	_ = checks.Add(health.Check{Name: "db", Func: func(context.Context) error { return nil }})
	err := healthtest.TestProbe(healthtest.Probe{
		Handler: checks.Handler(health.Readiness, health.HandlerOptions{}),
		Path:    "/readyz",
	})
	fmt.Println(err)
	// Output: <nil>
}
