package operable_test

import (
	"context"
	"log"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/operable-go/operable"
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
