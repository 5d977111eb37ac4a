package grpchealth_test

import (
	"context"
	"log"
	"net"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
)

func ExampleNew() {
	var checks health.Checker // the same checks /readyz serves
	_ = checks.Add(health.Check{Name: "db", Func: func(context.Context) error { return nil }})

	hs := grpchealth.New(&checks, grpchealth.Options{})
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:50051")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()

	// When the service starts to stop: watchers hear NOT_SERVING and their
	// streams end, so GracefulStop does not wait on them.
	hs.Shutdown()
	srv.GracefulStop()
}
