package grpchealth_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs a real gRPC server on loopback with the health service and
// returns a client; both stop when the test ends.
func serve(t *testing.T, hs *grpchealth.Server) (healthpb.HealthClient, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return healthpb.NewHealthClient(conn), srv
}

func checker(dbDown *atomic.Bool) *health.Checker {
	var c health.Checker
	_ = c.Add(health.Check{Name: "db", Func: func(context.Context) error {
		if dbDown.Load() {
			return errors.New("down")
		}
		return nil
	}})
	_ = c.Add(health.Check{Name: "cache", NonCritical: true, Func: func(context.Context) error { return errors.New("cold") }})
	return &c
}

func TestCheckAndList(t *testing.T) {
	var down atomic.Bool
	client, _ := serve(t, grpchealth.New(checker(&down), grpchealth.Options{}))
	ctx := t.Context()
	cases := []struct {
		service string
		down    bool
		want    healthpb.HealthCheckResponse_ServingStatus
	}{
		{"", false, healthpb.HealthCheckResponse_SERVING},
		{"cache", false, healthpb.HealthCheckResponse_SERVING}, // non-critical: warn still serves
		{"db", true, healthpb.HealthCheckResponse_NOT_SERVING},
		{"", true, healthpb.HealthCheckResponse_NOT_SERVING},
	}
	for _, c := range cases {
		down.Store(c.down)
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: c.service})
		if err != nil || resp.GetStatus() != c.want {
			t.Errorf("Check(%q) with db down=%v = %v, %v; want %v", c.service, c.down, resp.GetStatus(), err, c.want)
		}
	}
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(unknown) = %v, want NotFound", err)
	}
	list, err := client.List(ctx, &healthpb.HealthListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetStatuses()) != 3 || list.GetStatuses()["db"].GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("List = %v, want \"\", db (NOT_SERVING) and cache", list.GetStatuses())
	}
}

func TestWatchFollowsChangesAndEndsOnShutdown(t *testing.T) {
	var down atomic.Bool
	hs := grpchealth.New(checker(&down), grpchealth.Options{PollInterval: 10 * time.Millisecond})
	client, srv := serve(t, hs)
	stream, err := client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "db"})
	if err != nil {
		t.Fatal(err)
	}
	recv := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil || resp.GetStatus() != want {
			t.Fatalf("Watch sent %v, %v; want %v", resp.GetStatus(), err, want)
		}
	}
	recv(healthpb.HealthCheckResponse_SERVING)
	down.Store(true)
	recv(healthpb.HealthCheckResponse_NOT_SERVING)
	down.Store(false)
	recv(healthpb.HealthCheckResponse_SERVING)

	// Shutdown: the watcher hears NOT_SERVING, then the stream ends, and a
	// graceful stop is not held up by it.
	hs.Shutdown()
	recv(healthpb.HealthCheckResponse_NOT_SERVING)
	if _, err := stream.Recv(); err == nil {
		t.Error("the Watch stream did not end after Shutdown")
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		t.Error("GracefulStop still waiting 2s after Shutdown")
	}
	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Check after Shutdown = %v", resp.GetStatus())
	}
}

func TestWatchOfAnUnknownService(t *testing.T) {
	var down atomic.Bool
	client, _ := serve(t, grpchealth.New(checker(&down), grpchealth.Options{}))
	stream, err := client.Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Errorf("Watch(unknown) = %v, %v; want SERVICE_UNKNOWN", resp.GetStatus(), err)
	}
}
