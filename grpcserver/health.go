package grpcserver

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
	"github.com/operable-go/operable/internal/clip"
)

// Health serves grpc.health.v1 from a health.Checker through
// health/grpchealth, for the names a client of the server has business
// with: "" (the readiness probe as a whole) and every service registered
// on the server, which answers as "" does: a client that checks
// "items.v1.Items" sees what /readyz says. Any other name is unknown
// (NotFound from Check, SERVICE_UNKNOWN from Watch), the checks' own names
// included: the state of each dependency stays on the admin listener, off
// the port the service's callers reach. It is safe for concurrent use.
type Health struct {
	healthpb.UnimplementedHealthServer
	inner    *grpchealth.Server
	services atomic.Pointer[map[string]bool]
	stop     sync.Once
	done     chan struct{} // closed by Shutdown
}

// NewHealth returns the health service over c; opts are grpchealth's.
func NewHealth(c *health.Checker, opts grpchealth.Options) *Health {
	return &Health{inner: grpchealth.New(c, opts), done: make(chan struct{})}
}

// LearnServices records the services srv serves (grpc.health.v1 itself
// excepted). Call it after they are registered, before Serve; until then
// only "" is known.
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
func (h *Health) Shutdown() {
	h.stop.Do(func() { close(h.done) })
	h.inner.Shutdown()
}

// known reports whether service is "" or a registered service.
func (h *Health) known(service string) bool {
	if service == "" {
		return true
	}
	m := h.services.Load()
	return m != nil && (*m)[service]
}

// readiness is the request for "", which every known name answers as.
var readiness = &healthpb.HealthCheckRequest{}

// Check implements healthpb.HealthServer.
func (h *Health) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if !h.known(r.GetService()) {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", clip.String(r.GetService(), maxServiceName))
	}
	return h.inner.Check(ctx, readiness)
}

// maxServiceName bounds, in bytes, the unknown name a NotFound repeats.
const maxServiceName = 128

// Watch implements healthpb.HealthServer. An unknown name gets
// SERVICE_UNKNOWN and the stream stays open, as the protocol asks, until
// the client leaves or Shutdown ends it.
func (h *Health) Watch(r *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if h.known(r.GetService()) {
		return h.inner.Watch(readiness, stream)
	}
	if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVICE_UNKNOWN}); err != nil {
		return err
	}
	select {
	case <-stream.Context().Done():
		return status.FromContextError(stream.Context().Err()).Err()
	case <-h.done:
		return nil
	}
}

// List implements healthpb.HealthServer: "" and each registered service,
// all with the status of "".
func (h *Health) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	st, err := h.inner.Check(ctx, readiness)
	if err != nil {
		return nil, err
	}
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{"": st}}
	if m := h.services.Load(); m != nil {
		for name := range *m {
			out.Statuses[name] = &healthpb.HealthCheckResponse{Status: st.GetStatus()}
		}
	}
	return out, nil
}
