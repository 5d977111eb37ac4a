// Package grpchealth serves the gRPC health checking protocol
// (grpc.health.v1: Check, Watch, List) from the checks of a health.Checker,
// so that gRPC clients, load balancers and Kubernetes' gRPC probes see the
// same state as /readyz.
//
// Service names map onto the checks: "" is the readiness probe as a whole
// (SERVING when it passes or warns), and each check's name is that check.
// [Server.Shutdown] turns every status to NOT_SERVING and ends the Watch
// streams, so that grpc.Server.GracefulStop, which waits for every open
// stream, is not held up by health watchers.
package grpchealth

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/clip"
)

// DefaultPollInterval is how often a Watch stream re-reads its status when
// Options leave PollInterval zero.
const DefaultPollInterval = time.Second

// Options configure a [Server]. The zero value serves the readiness group
// and re-reads watched statuses every second.
type Options struct {
	// Group is the probe the empty service name reports. Default:
	// health.Readiness.
	Group health.Group
	// PollInterval is how often a Watch stream re-reads its status, besides
	// reacting at once to the checker's events (checks run at probe time
	// produce events only when something runs them). Default:
	// DefaultPollInterval.
	PollInterval time.Duration
}

// Server implements grpc_health_v1.HealthServer. It is safe for concurrent
// use. Register it with healthpb.RegisterHealthServer.
type Server struct {
	healthpb.UnimplementedHealthServer
	checker *health.Checker
	opts    Options

	mu       sync.Mutex
	shutdown bool
	done     chan struct{} // closed by Shutdown
}

// New returns a Server reporting c's checks.
func New(c *health.Checker, opts Options) *Server {
	if opts.Group == 0 {
		opts.Group = health.Readiness
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	return &Server{checker: c, opts: opts, done: make(chan struct{})}
}

// Shutdown reports NOT_SERVING for every service from now on and ends every
// Watch stream after sending it. Call it when the service starts to stop.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.shutdown {
		s.shutdown = true
		close(s.done)
	}
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// status returns the serving status of service, and false when no such
// service exists.
func (s *Server) status(ctx context.Context, service string) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	var st health.Status
	if service == "" {
		st = s.checker.Evaluate(ctx, s.opts.Group).Status
	} else {
		r, ok := s.checker.Lookup(ctx, service)
		if !ok {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
		}
		st = r.Status
	}
	if s.isShutdown() || st == health.Fail {
		return healthpb.HealthCheckResponse_NOT_SERVING, true
	}
	return healthpb.HealthCheckResponse_SERVING, true
}

// maxServiceName bounds, in bytes, the unknown name a NotFound repeats:
// the caller chose it.
const maxServiceName = 128

// Check reports the service's status, or NotFound for an unknown service.
func (s *Server) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, ok := s.status(ctx, req.GetService())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "grpchealth: unknown service %q", clip.String(req.GetService(), maxServiceName))
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// List reports every service: "" and each check.
func (s *Server) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	names := []string{""}
	for _, r := range s.checker.Results() {
		names = append(names, r.Name)
	}
	for _, name := range names {
		if st, ok := s.status(ctx, name); ok {
			out.Statuses[name] = &healthpb.HealthCheckResponse{Status: st}
		}
	}
	return out, nil
}

// Watch sends the service's status, then every change of it, until the
// client leaves or Shutdown is called (then it sends NOT_SERVING and ends
// the stream). An unknown service is reported as SERVICE_UNKNOWN, as the
// protocol asks, and watched in case it appears.
func (s *Server) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx := stream.Context()
	changed := make(chan struct{}, 1)
	cancel := s.checker.Subscribe(func(health.Event) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer cancel()
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()

	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	send := func() error {
		st, _ := s.status(ctx, req.GetService())
		if st == last {
			return nil
		}
		last = st
		return stream.Send(&healthpb.HealthCheckResponse{Status: st})
	}
	for {
		if err := send(); err != nil {
			return err
		}
		select {
		case <-ctx.Done(): // the client left: its cancellation or deadline, not OK
			return status.FromContextError(ctx.Err()).Err()
		case <-s.done:
			return send()
		case <-changed:
		case <-tick.C:
		}
	}
}
