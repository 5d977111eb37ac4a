//go:build race

package operabletest_test

import (
	"testing"

	"github.com/operable-go/operable/operabletest"
)

// TestARaceInTheServiceFailsTheTest: under go test -race, Build builds the
// service with the race detector, and a race it reports fails the test.
func TestARaceInTheServiceFailsTheTest(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, service)
	r := record(t, func(t testing.TB) { operabletest.Start(t, bin, "RACE=1") })
	r.wantFailure(t, "the race detector found a data race", "WARNING: DATA RACE")
}
