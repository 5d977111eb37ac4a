package bench

// The closed-state cost of a breaker around a call that succeeds: raw
// gobreaker v2 beside ours, in one run.

import (
	"context"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/operable-go/operable/breaker"
)

func work(context.Context) (int, error) { return 1, nil }

// BenchmarkBreakerGobreaker is gobreaker's Execute, default settings.
func BenchmarkBreakerGobreaker(b *testing.B) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "dep"})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cb.Execute(func() (int, error) { return work(ctx) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerGobreakerRolling is gobreaker's Execute with the
// settings ours gives it by default: a 60 s window rolled in ten buckets
// (Interval and BucketPeriod), which costs gobreaker an age computation
// per step that its default fixed window does not.
func BenchmarkBreakerGobreakerRolling(b *testing.B) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "dep", MaxRequests: 3,
		Interval: 60 * time.Second, BucketPeriod: 6 * time.Second, Timeout: 30 * time.Second})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cb.Execute(func() (int, error) { return work(ctx) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerGobreakerTimeout is gobreaker's Execute with the
// per-call timeout a user adds by hand: context.WithTimeout around the
// call (gobreaker counts a hung call only when it returns).
func BenchmarkBreakerGobreakerTimeout(b *testing.B) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{Name: "dep"})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cb.Execute(func() (int, error) {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				return work(cctx)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerGobreakerTwoStep is the two-step form ours is built on.
func BenchmarkBreakerGobreakerTwoStep(b *testing.B) {
	cb := gobreaker.NewTwoStepCircuitBreaker[int](gobreaker.Settings{Name: "dep"})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			done, err := cb.Allow()
			if err != nil {
				b.Fatal(err)
			}
			_, err = work(ctx)
			done(err)
		}
	})
}

func benchOperable(b *testing.B, s breaker.Settings) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	br, err := breaker.New("dep", s, breaker.Options{Meter: mp.Meter("bench")})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := breaker.Do(ctx, br, work); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBreakerOperable is ours with its defaults: a 10 s call timeout
// (a context with a deadline per call and the timer that counts a hung call
// on time), the concurrency bound, and the calls counter.
func BenchmarkBreakerOperable(b *testing.B) { benchOperable(b, breaker.Settings{}) }

// BenchmarkBreakerOperableNoTimeout is ours without the per-call timeout.
func BenchmarkBreakerOperableNoTimeout(b *testing.B) {
	benchOperable(b, breaker.Settings{CallTimeout: -1})
}
