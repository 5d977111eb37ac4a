package grpcserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"

	"github.com/operable-go/operable/grpcserver"
)

// TestStatsHandlerAllocationBudget holds what the stats handler adds to a
// served call, from TagRPC to its stats.End, with the SDK's providers
// recording and the access line written as JSON: the request id made, the
// span (the SDK's own allocations), the call's record in the context and
// the line; the method's span options and series are built once. Run
// without -race (make test's Alloc pass).
func TestStatsHandlerAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 17
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
	inst, err := grpcserver.New(grpcserver.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	inst.LearnMethods(srv)
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}})
	info := &stats.RPCTagInfo{FullMethodName: "/grpc.testing.TestService/UnaryCall"}
	now := time.Now()
	begin := &stats.Begin{BeginTime: now}
	end := &stats.End{BeginTime: now, EndTime: now.Add(time.Millisecond)}
	got := testing.AllocsPerRun(1000, func() {
		c := inst.TagRPC(ctx, info)
		inst.HandleRPC(c, begin)
		inst.HandleRPC(c, end)
	})
	t.Logf("%v allocations per call", got)
	if got > budget {
		t.Errorf("%v allocations per call, want at most %d", got, budget)
	}
}
