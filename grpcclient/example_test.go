package grpcclient_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/grpcclient"
)

// Example calls a gRPC dependency on loopback through a breaker: served
// while it is closed, rejected with UNAVAILABLE once an operator holds it
// open.
func Example() {
	// The dependency: grpc-go's own health server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	b, err := breaker.New("upstream", breaker.Settings{}, breaker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	inst, err := grpcclient.New(grpcclient.Options{Breaker: b, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := grpc.NewClient(ln.Addr().String(),
		append(inst.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	r, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(r.GetStatus(), err)
	_ = b.Force(breaker.HoldOpen)
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// SERVING <nil>
	// Unavailable grpcclient: breaker: upstream rejected the call: forced_open
}
