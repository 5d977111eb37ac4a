package operable_test

import (
	"context"
	"log"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/breaker"
)

// ExampleService_GRPC registers a gRPC service on the server GRPC_ADDR
// serves; grpc.health.v1 is there already.
func ExampleService_GRPC() {
	s, err := operable.New(context.Background(), operable.Options{
		Name:    "items",
		Environ: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "GRPC_ADDR": "127.0.0.1:0"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Your generated RegisterXServer here; grpc's test service stands in.
	testgrpc.RegisterTestServiceServer(s.GRPC(), testgrpc.UnimplementedTestServiceServer{})
	_ = s.Run(context.Background()) // serves until SIGTERM, then stops gracefully
}

// ExampleService_GRPCClient calls a gRPC dependency through a breaker:
// each call gets a client span, rpc.client.call.duration, the request id
// and deadline of the context it is made from, and is rejected with
// UNAVAILABLE while the breaker is open. The service closes the
// connection when it stops.
func ExampleService_GRPCClient() {
	s, err := operable.New(context.Background(), operable.Options{
		Name:    "orders",
		Environ: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"},
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := s.Breaker("inventory", breaker.Settings{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := s.GRPCClient("dns:///inventory.internal:50051", b, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	// Your generated NewXClient here; grpc's test service stands in.
	inventory := testgrpc.NewTestServiceClient(conn)
	s.HandleFunc("GET /stock", func(w http.ResponseWriter, r *http.Request) {
		// r.Context() carries the request id, the trace and the deadline.
		if _, err := inventory.EmptyCall(r.Context(), &testgrpc.Empty{}); err != nil {
			http.Error(w, "inventory unavailable", http.StatusBadGateway)
		}
	})
	_ = s.Run(context.Background())
}
