package breaker_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/operable-go/operable/breaker"
)

// TestCallAllocationBudget holds the closed-state allocations of a call
// with its metrics on. Without a call timeout the call runs in gobreaker's
// one-step Execute and allocates nothing; with one, gobreaker's two-step
// Allow makes one (its done function) and the call its context, whose
// deadline the breaker's watch keeps (context.WithTimeout makes four).
// The counts themselves cost none: they are atomic counts observed at
// collection. Allow and Done cost what Do costs, and without a call
// timeout one more: the ticket. The counts are deterministic, so the
// budgets have no margin.
// Run without -race (make test's Alloc pass).
func TestCallAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, c := range []struct {
		name   string
		s      breaker.Settings
		budget float64
	}{
		{"no call timeout", breaker.Settings{CallTimeout: -1}, 0},
		{"the default call timeout", breaker.Settings{}, 2},
	} {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b, err := breaker.New("dep", c.s, breaker.Options{Meter: mp.Meter("test")})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		work := func(context.Context) (int, error) { return 1, nil }
		got := testing.AllocsPerRun(1000, func() { _, _ = breaker.Do(ctx, b, work) })
		if got > c.budget {
			t.Errorf("%s: %v allocations per call, want at most %v", c.name, got, c.budget)
		}
		// A ticket is the call's record, as Do's; without a call timeout it
		// is the only allocation (Done runs in Execute).
		ticket := c.budget
		if ticket == 0 {
			ticket = 1
		}
		got = testing.AllocsPerRun(1000, func() {
			tk, _ := b.Allow(ctx)
			tk.Done(nil)
		})
		if got > ticket {
			t.Errorf("%s: %v allocations per ticket, want at most %v", c.name, got, ticket)
		}
		_ = mp.Shutdown(ctx)
	}
}

// BenchmarkTicket is a closed breaker's Allow and Done beside Do, with
// and without a call timeout: `go test -run '^$' -bench Ticket
// -benchmem ./breaker/`.
func BenchmarkTicket(b *testing.B) {
	for _, c := range []struct {
		name string
		s    breaker.Settings
	}{{"timeout", breaker.Settings{}}, {"no-timeout", breaker.Settings{CallTimeout: -1}}} {
		br, err := breaker.New("bench", c.s, breaker.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(c.name+"/Do", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = breaker.Do(ctx, br, func(context.Context) (int, error) { return 1, nil })
			}
		})
		b.Run(c.name+"/Allow", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tk, _ := br.Allow(ctx)
				tk.Done(nil)
			}
		})
	}
}
