package grpcserver

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
)

// Health serves grpc.health.v1 from a health.Checker through
// health/grpchealth, and answers for every service registered on the
// server as for "" (the readiness probe as a whole): a client that checks
// "items.v1.Items" sees what /readyz says. The other names are the
// checks', as grpchealth serves them. It is safe for concurrent use.
type Health struct {
	healthpb.UnimplementedHealthServer
	inner    *grpchealth.Server
	services atomic.Pointer[map[string]bool]
}

// NewHealth returns the health service over c; opts are grpchealth's.
func NewHealth(c *health.Checker, opts grpchealth.Options) *Health {
	return &Health{inner: grpchealth.New(c, opts)}
}

// LearnServices records the services srv serves (grpc.health.v1 itself
// excepted). Call it after they are registered, before Serve.
func (h *Health) LearnServices(srv *grpc.Server) {
	m := map[string]bool{}
	for name := range srv.GetServiceInfo() {
		if name != healthpb.Health_ServiceDesc.ServiceName {
			m[name] = true
		}
	}
	h.services.Store(&m)
}

// Shutdown reports NOT_SERVING for every service from now on and ends the
// Watch streams (see grpchealth.Server.Shutdown), so that they do not hold
// up grpc.Server.GracefulStop.
func (h *Health) Shutdown() { h.inner.Shutdown() }

// name maps a registered service onto the readiness probe.
func (h *Health) name(service string) string {
	if m := h.services.Load(); m != nil && (*m)[service] {
		return ""
	}
	return service
}

func (h *Health) req(r *healthpb.HealthCheckRequest) *healthpb.HealthCheckRequest {
	if n := h.name(r.GetService()); n != r.GetService() {
		return &healthpb.HealthCheckRequest{Service: n}
	}
	return r
}

// Check implements healthpb.HealthServer.
func (h *Health) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return h.inner.Check(ctx, h.req(r))
}

// Watch implements healthpb.HealthServer.
func (h *Health) Watch(r *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	return h.inner.Watch(h.req(r), stream)
}

// List implements healthpb.HealthServer: grpchealth's list and each
// registered service with the status of "".
func (h *Health) List(ctx context.Context, r *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out, err := h.inner.List(ctx, r)
	if err != nil {
		return nil, err
	}
	if m := h.services.Load(); m != nil {
		for name := range *m {
			out.Statuses[name] = out.Statuses[""]
		}
	}
	return out, nil
}
