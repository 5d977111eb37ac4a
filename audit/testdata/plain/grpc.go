package main

// The gRPC listener of plain, when GRPC_ADDR is set: grpc.health.v1 that
// follows the drain and ends its Watch streams at the stop, an RPC
// duration histogram with unknown methods folded into _OTHER, and one
// access line per call. BROKEN=grpc-<defect> breaks one rule:
// grpc-no-health, grpc-raw-methods, grpc-watch-holds, grpc-reflection,
// grpc-no-access, grpc-no-drain (SERVING through the stop), grpc-no-metrics,
// grpc-service-lags (List names a service NOT_SERVING while "" serves),
// grpc-unannounced (no gRPC listener, GRPC_ADDR or not), grpc-leak (the
// caller's authorization metadata in the access line of a served method,
// as a logging interceptor would).

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// grpcListener serves gRPC until stop.
type grpcListener struct {
	srv     *grpc.Server
	stopped chan struct{} // closed when the Watch streams must end
}

// startGRPC starts the gRPC listener when GRPC_ADDR is set; nil without.
func startGRPC(log *slog.Logger, m *metrics) *grpcListener {
	addr := os.Getenv("GRPC_ADDR")
	if addr == "" || broken == "grpc-unannounced" {
		return nil
	}
	g := &grpcListener{stopped: make(chan struct{})}
	rec := &rpcRecorder{m: m, log: log}
	g.srv = grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			start := time.Now()
			resp, err := h(ctx, req)
			rec.record(ctx, info.FullMethod, err, start)
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			start := time.Now()
			err := h(srv, ss)
			rec.record(ss.Context(), info.FullMethod, err, start)
			return err
		}),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.Unimplemented, "no such method")
		}),
	)
	if broken != "grpc-no-health" {
		healthpb.RegisterHealthServer(g.srv, &healthServer{stopped: g.stopped})
	}
	if broken == "grpc-reflection" {
		reflection.Register(g.srv)
	}
	rec.known = map[string]bool{}
	for name := range g.srv.GetServiceInfo() {
		rec.known[name] = true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen", "error", err)
		os.Exit(1)
	}
	go func() { _ = g.srv.Serve(ln) }()
	log.Info("listening", "listener", "grpc", "addr", ln.Addr().String(), "scheme", "grpc")
	return g
}

// stop ends the Watch streams, then stops gracefully within 5s (without
// a bound when BROKEN=grpc-watch-holds, as grpc-go's GracefulStop is).
func (g *grpcListener) stop() {
	if g == nil {
		return
	}
	close(g.stopped)
	if broken == "grpc-watch-holds" {
		g.srv.GracefulStop()
		return
	}
	done := make(chan struct{})
	go func() { g.srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.srv.Stop()
		<-done
	}
}

// healthServer answers SERVING until the drain, NOT_SERVING from it.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	stopped chan struct{}
}

func servingStatus() healthpb.HealthCheckResponse_ServingStatus {
	if draining.Load() && broken != "grpc-no-drain" {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

// lagging is the service that BROKEN=grpc-service-lags reports apart.
const lagging = "plain.v1.Lagging"

func (h *healthServer) Check(_ context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if r.GetService() == lagging && broken == "grpc-service-lags" {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	if r.GetService() != "" {
		return nil, status.Error(codes.NotFound, "unknown service")
	}
	return &healthpb.HealthCheckResponse{Status: servingStatus()}, nil
}

func (h *healthServer) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{"": {Status: servingStatus()}}}
	if broken == "grpc-service-lags" {
		out.Statuses[lagging] = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}
	}
	return out, nil
}

func (h *healthServer) Watch(r *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if r.GetService() != "" {
		return status.Error(codes.NotFound, "unknown service")
	}
	stopped := h.stopped
	if broken == "grpc-watch-holds" {
		stopped = nil // never ends the stream
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := healthpb.HealthCheckResponse_UNKNOWN
	for {
		if st := servingStatus(); st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-stopped:
			return nil
		case <-tick.C:
		}
	}
}

// rpcRecorder measures and logs each call.
type rpcRecorder struct {
	m     *metrics
	log   *slog.Logger
	known map[string]bool // the services registered
}

func (r *rpcRecorder) record(ctx context.Context, fullMethod string, err error, start time.Time) {
	method := strings.TrimPrefix(fullMethod, "/")
	if service, _, _ := strings.Cut(method, "/"); !r.known[service] && broken != "grpc-raw-methods" {
		method = "_OTHER"
	}
	code := codeName(status.Code(err))
	r.m.mu.Lock()
	if broken != "grpc-no-metrics" {
		r.m.rpc[fmt.Sprintf(`rpc_method=%q,rpc_response_status_code=%q,rpc_system_name="grpc"`, method, code)]++
	}
	r.m.mu.Unlock()
	if broken == "grpc-no-access" {
		return
	}
	var id string
	if v := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(v) > 0 {
		id = v[0]
	}
	attrs := []any{"request_id", id, "rpc_method", method, "code", code, "duration", time.Since(start).Seconds()}
	// The leak an interceptor makes: of the served methods only, as
	// interceptors see no call to a method the server does not have.
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 && broken == "grpc-leak" && method != "_OTHER" {
		attrs = append(attrs, "auth", v[0])
	}
	r.log.Info("rpc", attrs...)
}

// codeName is a code as the semantic conventions write it:
// DEADLINE_EXCEEDED.
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
