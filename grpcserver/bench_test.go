package grpcserver_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/operable-go/operable/grpcserver"
)

// BenchmarkUnary is the per-call cost over loopback, bare and with the
// instrumentation (real SDK providers, a JSON logger to io.Discard).
func BenchmarkUnary(b *testing.B) {
	for _, bc := range []struct {
		name string
		inst bool
	}{{"bare", false}, {"instrumented", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []grpc.ServerOption
			if bc.inst {
				inst, err := grpcserver.New(grpcserver.Options{
					Logger:         slog.New(slog.NewJSONHandler(discard{}, nil)),
					TracerProvider: sdktrace.NewTracerProvider(),
					MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())),
				})
				if err != nil {
					b.Fatal(err)
				}
				opts = inst.ServerOptions()
				srv := grpc.NewServer(opts...)
				testgrpc.RegisterTestServiceServer(srv, &service{})
				inst.LearnMethods(srv)
				run(b, srv)
				return
			}
			srv := grpc.NewServer()
			testgrpc.RegisterTestServiceServer(srv, &service{})
			run(b, srv)
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func run(b *testing.B, srv *grpc.Server) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := testgrpc.NewTestServiceClient(conn)
	req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
