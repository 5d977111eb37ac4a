package grpcserver_test

import (
	"context"
	"io"
	"log/slog"
	"math"
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
// recording and the access line written as JSON: the span (the SDK's own:
// 5), the call's record, which is its context and carries the request id
// (1), the id made (1, its string), and the line (1, slog's JSON float);
// the method's span options, series and code attributes are built once,
// the peer's address once per connection. Run without -race (make test's
// Alloc pass).
func TestStatsHandlerAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 8
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
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	ctx := inst.TagConn(peer.NewContext(context.Background(), &peer.Peer{Addr: addr}), &stats.ConnTagInfo{RemoteAddr: addr})
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

// TestServedCallAllocationBudget holds what the instrumentation adds to a
// unary call over loopback, both sides of it in this process: grpc-go's own
// cost of any stats handler (its events, the copied metadata; 18 with
// grpc-go 1.85), the interceptor's (2), the echoed x-request-id (8: set,
// copied for the stats handler, read by the client), the SDK's span (5),
// the call's record with its request id's context (1), the id made (1)
// and the access line (1). Each side is measured as the least of a
// few runs, so that the transport's own occasional allocations (window
// updates, pings) do not count. Run without -race (make test's Alloc pass).
func TestServedCallAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const budget = 36
	bare := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(bare, &service{})
	floor := callAllocs(t, serve(t, bare, nil))

	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	inst, err := grpcserver.New(grpcserver.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	got := callAllocs(t, serve(t, srv, inst)) - floor
	t.Logf("%v allocations per call over the bare server's %v", got, floor)
	if got > budget {
		t.Errorf("the instrumentation adds %v allocations per call, want at most %d", got, budget)
	}
}

// callAllocs returns the least, over five runs, of the allocations of a
// unary call on conn, once the connection is warm.
func callAllocs(t *testing.T, conn *grpc.ClientConn) float64 {
	t.Helper()
	c := testgrpc.NewTestServiceClient(conn)
	req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}}
	ctx := context.Background()
	var callErr error
	call := func() {
		if _, err := c.UnaryCall(ctx, req); err != nil && callErr == nil {
			callErr = err
		}
	}
	for range 100 {
		call()
	}
	least := math.Inf(1)
	for range 5 {
		least = math.Min(least, testing.AllocsPerRun(200, call))
	}
	if callErr != nil {
		t.Fatal(callErr)
	}
	return least
}
