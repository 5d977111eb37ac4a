package grpcserver_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/operable-go/operable/grpcserver"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
)

// Example serves a grpc.Server with the instrumentation and the health
// service, then stops it within 5 s. The root package does the same for
// GRPC_ADDR.
func Example() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	inst, err := grpcserver.New(grpcserver.Options{Logger: logger})
	if err != nil {
		logger.Error("instrumentation", slog.Any("error", err))
		return
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	h := grpcserver.NewHealth(&health.Checker{}, grpchealth.Options{})
	healthpb.RegisterHealthServer(srv, h)
	// Register the service's own services here, then:
	inst.LearnMethods(srv)
	h.LearnServices(srv)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		logger.Error("listen", slog.Any("error", err))
		return
	}
	go func() { _ = srv.Serve(ln) }()

	// At the stop: health watchers first, then the calls in flight.
	h.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cut := inst.GracefulStop(ctx, srv); cut > 0 {
		logger.Error("calls cut", slog.Int64("calls_cut", cut))
	}
}
