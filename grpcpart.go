package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/grpcclient"
	"github.com/operable-go/operable/grpcserver"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
	"github.com/operable-go/operable/shutdown"
)

// grpcPart owns the gRPC listener when GRPC_ADDR is set: the grpc.Server
// with the per-call instrumentation of package grpcserver, grpc.health.v1
// from the service's checks, reflection when asked, and the worker that
// serves it and stops it within the stopping phase.
type grpcPart struct {
	server *grpc.Server // nil: no gRPC listener
	ln     net.Listener
	inst   *grpcserver.Instrumentation
	health *grpcserver.Health
}

// GRPC returns the gRPC server the service's gRPC services are registered
// on, in setup (pb.RegisterItemsServer(s.GRPC(), impl)), or nil when
// GRPC_ADDR is not set. Every call is traced, measured
// (rpc.server.call.duration), logged and recovered from a panic by package
// grpcserver; grpc.health.v1 is registered already, "" and each registered
// service following readiness. The server is served by Run; do not call
// its Serve or Stop.
func (s *Service) GRPC() *grpc.Server { return s.grpc.server }

// GRPCAddr returns the bound address of the gRPC listener (useful with
// GRPC_ADDR=127.0.0.1:0), or nil without one.
func (s *Service) GRPCAddr() net.Addr {
	if s.grpc.ln == nil {
		return nil
	}
	return s.grpc.ln.Addr()
}

// grpcClientCloseTimeout is the budget of a GRPCClient connection's stop
// hook: closing a connection does not wait for its calls.
const grpcClientCloseTimeout = time.Second

// GRPCClient returns a connection to target (grpc.NewClient's syntax,
// "dns:///inventory:50051") whose calls carry the client side of the
// telemetry (package grpcclient): a client span continuing the caller's
// trace, its W3C context and the caller's request id in the metadata,
// rpc.client.call.duration, and a 30 s timeout for a call whose context
// has no deadline (a deadline travels to the server). When b is not nil
// (from [Service.Breaker]) it guards the unary calls and the streams, a
// stream counted by its final status when it ends: UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and INTERNAL are failures, the
// caller's cancellation is neutral, other codes are successes, and a
// rejected call or stream fails at once with UNAVAILABLE naming the
// breaker.
//
// opts follow the SDK's and must give the transport credentials, as
// grpc.NewClient requires (insecure.NewCredentials() for plaintext). The
// connection is closed by a stop hook, after the servers have stopped, or
// by Close if the service never runs; closing it sooner is allowed. Call
// it in setup, before Run.
func (s *Service) GRPCClient(target string, b *breaker.Breaker, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	inst, err := grpcclient.New(grpcclient.Options{TracerProvider: s.tel.TracerProvider(),
		MeterProvider: s.tel.MeterProvider(), Propagator: s.tel.Propagator(), Breaker: b})
	if err != nil {
		return nil, fmt.Errorf("operable: grpc client: %w", err)
	}
	conn, err := grpc.NewClient(target, append(inst.DialOptions(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("operable: grpc client %s: %w", target, err)
	}
	closeConn := func(context.Context) error {
		if err := conn.Close(); err != nil && status.Code(err) != codes.Canceled { // closed already
			return fmt.Errorf("operable: grpc client %s: %w", target, err)
		}
		return nil
	}
	name := "grpc client " + target
	s.mu.Lock()
	s.release.push(name, closeConn)
	s.mu.Unlock()
	s.life.OnStop(shutdown.Hook{Name: name, Timeout: grpcClientCloseTimeout, Func: closeConn})
	return conn, nil
}

// grpcPoll is how often the worker looks for the drain's first instant,
// to tell the health watchers at once.
const grpcPoll = 10 * time.Millisecond

// startGRPC builds the gRPC server and binds its listener.
func (s *Service) startGRPC(ctx context.Context, _ Options) error {
	c := s.cfg.GRPC
	if c.Addr == "" {
		return nil
	}
	inst, err := grpcserver.New(grpcserver.Options{Logger: s.logger, TracerProvider: s.tel.TracerProvider(),
		MeterProvider: s.tel.MeterProvider(), Propagator: s.tel.Propagator()})
	if err != nil {
		return fmt.Errorf("operable: grpc: %w", err)
	}
	maxAgeGrace := c.MaxConnectionAgeGrace
	if maxAgeGrace == 0 {
		maxAgeGrace = time.Duration(math.MaxInt64)
	}
	never := func(d time.Duration) time.Duration {
		if d == 0 {
			return time.Duration(math.MaxInt64)
		}
		return d
	}
	opts := append(inst.ServerOptions(),
		grpc.MaxRecvMsgSize(c.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(c.MaxSendMsgSize),
		grpc.MaxHeaderListSize(uint32(c.MaxHeaderListSize)),       //nolint:gosec // validated in 1..MaxUint32
		grpc.MaxConcurrentStreams(uint32(c.MaxConcurrentStreams)), //nolint:gosec // validated in 1..MaxUint32
		grpc.ConnectionTimeout(c.ConnectionTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: c.KeepaliveMinTime, PermitWithoutStream: c.KeepalivePermitWithoutStream}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: never(c.MaxConnectionIdle), MaxConnectionAge: never(c.MaxConnectionAge),
			MaxConnectionAgeGrace: maxAgeGrace, Time: c.KeepaliveTime, Timeout: c.KeepaliveTimeout,
		}),
	)
	if s.tls.app != nil {
		tc := s.tls.app.config()
		tc.NextProtos = []string{"h2"}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	hs := grpcserver.NewHealth(s.checks, grpchealth.Options{PollInterval: 250 * time.Millisecond})
	healthpb.RegisterHealthServer(srv, hs)
	if c.Reflection {
		reflection.Register(srv)
	}
	ln, err := listen(ctx, "grpc", c.Addr)
	if err != nil {
		return err
	}
	if c.MaxConnections > 0 {
		ln = newLimitListener(ln, c.MaxConnections, "grpc", s.logger)
	}
	s.grpc = grpcPart{server: srv, ln: ln, inst: inst, health: hs}
	s.release.push("grpc listener", func(context.Context) error {
		srv.Stop()
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	s.life.Go("grpc", s.serveGRPC)
	return nil
}

// serveGRPC is the gRPC server's worker. It serves until the stopping
// phase (the drain included: new calls are still served), telling the
// health watchers NOT_SERVING from the first instant of the drain; then it
// ends the Watch streams, stops gracefully within the stopping phase's
// budget and stops what is left, logging the calls cut.
func (s *Service) serveGRPC(ctx context.Context) error {
	p := s.grpc
	p.inst.LearnMethods(p.server)
	p.health.LearnServices(p.server)
	served := make(chan error, 1)
	go func() { served <- p.server.Serve(p.ln) }()
	s.logger.Info("listening", slog.String("listener", "grpc"), slog.String("addr", p.ln.Addr().String()),
		slog.String("scheme", map[bool]string{true: "grpcs", false: "grpc"}[s.tls.app != nil]))

	tick := time.NewTicker(grpcPoll)
	defer tick.Stop()
	drained := false
	for stop := false; !stop; {
		select {
		case err := <-served: // before the stop: the listener failed
			return fmt.Errorf("operable: grpc listener: %w", err)
		case <-ctx.Done():
			stop = true
		case <-s.life.Stopping():
			stop = true
		case <-tick.C:
			if !drained && s.life.Phase() >= shutdown.Draining {
				drained = true
				// Run the readiness checks now: the lifecycle check's
				// change wakes every Watch stream at once.
				s.checks.Evaluate(context.WithoutCancel(ctx), health.Readiness)
			}
		}
	}
	tick.Stop()
	p.health.Shutdown() // Watch streams get NOT_SERVING and end
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.grpcStopBudget())
	defer cancel()
	// The stopping phase ends (Hooks) when its budget runs out: stop then
	// at the latest, not to outlive it.
	phaseCtx, cancelPhase := context.WithCancel(stopCtx)
	defer cancelPhase()
	go func() {
		t := time.NewTicker(grpcPoll)
		defer t.Stop()
		for {
			select {
			case <-phaseCtx.Done():
				return
			case <-t.C:
				if s.life.Phase() >= shutdown.Hooks {
					cancelPhase()
					return
				}
			}
		}
	}()
	start := time.Now()
	cut := p.inst.GracefulStop(phaseCtx, p.server)
	cancelPhase()
	<-served
	if cut > 0 {
		s.logger.Error("grpc server did not drain in time; calls cut", slog.Int64("calls_cut", cut),
			slog.Float64("duration", time.Since(start).Seconds()))
		return nil
	}
	s.logger.Info("grpc server stopped", slog.Int64("calls_cut", 0), slog.Float64("duration", time.Since(start).Seconds()))
	return nil
}

// grpcStopBudget is what the graceful stop may take: the stopping phase's
// budget as the lifecycle computes it from what the root knows (the stop
// timeout less the drain delay and the telemetry flush), less the cut-off
// grace the lifecycle keeps, at least 1 s. Hooks the service registers
// shorten the real phase; the worker then stops when the phase ends.
func (s *Service) grpcStopBudget() time.Duration {
	d := s.cfg.ShutdownTimeout - s.cfg.DrainDelay() - telemetryFlushTimeout - 250*time.Millisecond
	return max(d, time.Second)
}
