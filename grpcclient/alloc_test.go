package grpcclient_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/stats"

	"github.com/operable-go/operable/grpcclient"
)

// TestStatsHandlerAllocationBudget holds what the stats handler adds to a
// call, from TagRPC to its stats.End, with the SDK's providers recording:
// the span (the SDK's own allocations), the trace context in the outgoing
// metadata, the call's record in the context; the method's span options and
// series are built once. Run without -race (make test's Alloc pass).
func TestStatsHandlerAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 15
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
	inst, err := grpcclient.New(grpcclient.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/UnaryCall"}
	now := time.Now()
	end := &stats.End{Client: true, BeginTime: now, EndTime: now.Add(time.Millisecond)}
	got := testing.AllocsPerRun(1000, func() { inst.HandleRPC(inst.TagRPC(ctx, info), end) })
	t.Logf("%v allocations per call", got)
	if got > budget {
		t.Errorf("%v allocations per call, want at most %d", got, budget)
	}
}
