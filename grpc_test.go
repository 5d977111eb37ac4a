package operable_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/internal/syncbuf"
)

// testService is grpc's interop TestService with a UnaryCall that
// answers its payload, panics on "panic", and takes 50 ms on "slow".
type testService struct {
	testgrpc.UnimplementedTestServiceServer
	mu          sync.Mutex
	handled     map[string]bool // the request ids the handler saw
	traceparent string          // the last call's
	onCall      func(context.Context)
}

func (t *testService) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	body := string(req.GetPayload().GetBody())
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		t.mu.Lock()
		if len(md.Get("x-request-id")) > 0 {
			t.handled[md.Get("x-request-id")[0]] = true
		}
		if len(md.Get("traceparent")) > 0 {
			t.traceparent = md.Get("traceparent")[0]
		}
		t.mu.Unlock()
	}
	if t.onCall != nil {
		t.onCall(ctx)
	}
	switch {
	case body == "panic":
		panic("the handler panicked")
	case strings.HasPrefix(body, "slow"):
		time.Sleep(50 * time.Millisecond)
	}
	return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: req.GetPayload().GetBody()}}, nil
}

// grpcService is a running service with a gRPC listener serving
// testService, and a client connection to it.
type grpcService struct {
	s     *operable.Service
	svc   *testService
	out   *syncbuf.Buffer
	conn  *grpc.ClientConn
	admin string
	done  chan error
}

func startGRPC(t *testing.T, kv ...string) *grpcService {
	t.Helper()
	g := &grpcService{svc: &testService{handled: map[string]bool{}}, out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	env := loopbackEnv(append([]string{"GRPC_ADDR", "127.0.0.1:0"}, kv...)...)
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Environ: env, Stdout: g.out})
	if err != nil {
		t.Fatal(err)
	}
	g.s = s
	testgrpc.RegisterTestServiceServer(s.GRPC(), g.svc)
	go func() { g.done <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		s.Stop()
		select {
		case <-g.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	re := regexp.MustCompile(`"listener":"admin","addr":"([^"]+)"`)
	for deadline := time.Now().Add(5 * time.Second); g.admin == ""; time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(g.out.String()); m != nil {
			g.admin = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line: %s", g.out.String())
		}
	}
	g.conn, err = grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.conn.Close() })
	// Serving once the lifecycle is ready.
	hc := healthpb.NewHealthClient(g.conn)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never SERVING: %v %v", r, err)
		}
	}
	return g
}

func (g *grpcService) unary(ctx context.Context, body, requestID string) (*testgrpc.SimpleResponse, error) {
	if requestID != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", requestID)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return testgrpc.NewTestServiceClient(g.conn).UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte(body)}})
}

// TestGRPCHealthFollowsReadinessAndTheStop: "" and each registered service
// are SERVING while ready, NOT_SERVING from the first instant of the stop
// (for Check, still answered during the drain, and for an open Watch), and
// the Watch stream is ended by the server so that the stop finishes within
// the drain delay and a second.
func TestGRPCHealthFollowsReadinessAndTheStop(t *testing.T) {
	const drain = time.Second
	g := startGRPC(t, "SHUTDOWN_DRAIN_DELAY", drain.String())
	hc := healthpb.NewHealthClient(g.conn)
	check := func(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		return r.GetStatus(), err
	}
	for _, name := range []string{"", "grpc.testing.TestService"} {
		if st, err := check(name); err != nil || st != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v %v, want SERVING", name, st, err)
		}
	}
	watchCtx, cancelWatch := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWatch()
	watch, err := hc.Watch(watchCtx, &healthpb.HealthCheckRequest{Service: "grpc.testing.TestService"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch first = %v %v", r, err)
	}

	stopAt := time.Now()
	g.s.Stop()
	r, err := watch.Recv()
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch after the stop = %v %v, want NOT_SERVING", r, err)
	}
	if d := time.Since(stopAt); d > 200*time.Millisecond {
		t.Errorf("Watch saw NOT_SERVING %v after the stop, want at its first instant", d)
	}
	if st, err := check(""); err != nil || st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Check during the drain = %v %v, want NOT_SERVING (and answered)", st, err)
	}
	if _, err := g.unary(context.Background(), "during the drain", ""); err != nil {
		t.Errorf("a call during the drain failed: %v", err)
	}
	for {
		if _, err = watch.Recv(); err != nil {
			break
		}
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("the Watch stream ended with %v, want its end (io.EOF) from the server", err)
	}
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(drain + time.Second):
		t.Fatalf("the stop took more than the drain delay and a second:\n%s", g.out.String())
	}
	if d := time.Since(stopAt); d > drain+time.Second {
		t.Errorf("the stop took %v", d)
	}
	if !regexp.MustCompile(`"msg":"grpc server stopped".*"calls_cut":0`).MatchString(g.out.String()) {
		t.Errorf("no clean gRPC stop line in:\n%s", g.out.String())
	}
}

// TestGRPCUnaryCallsThroughTheStopLoseNone: clients keep sending unary
// calls, some slow, while the service stops; every call a handler saw
// succeeds at its client.
func TestGRPCUnaryCallsThroughTheStopLoseNone(t *testing.T) {
	g := startGRPC(t, "SHUTDOWN_DRAIN_DELAY", "300ms")
	var sent, ok atomic.Int64
	var mu sync.Mutex
	failed := map[string]error{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-%d", c, i)
				sent.Add(1)
				body := "fast"
				if i%3 == 0 {
					body = "slow"
				}
				if _, err := g.unary(context.Background(), body, id); err != nil {
					mu.Lock()
					failed[id] = err
					mu.Unlock()
					if status.Code(err) == codes.Unavailable {
						return // the server is gone
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	g.s.Stop()
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	close(stop)
	wg.Wait()
	g.svc.mu.Lock()
	defer g.svc.mu.Unlock()
	for id, err := range failed {
		if g.svc.handled[id] {
			t.Errorf("call %s was accepted and failed: %v", id, err)
		}
	}
	if ok.Load() < 20 {
		t.Errorf("only %d calls succeeded of %d", ok.Load(), sent.Load())
	}
	t.Logf("%d sent, %d succeeded, %d refused after the stop", sent.Load(), ok.Load(), len(failed))
}

// TestGRPCPanicIsInternalAndTheServiceKeepsServing: a panicking handler
// gives codes.Internal (not its message), a logged stack and a count; the
// next call is served.
func TestGRPCPanicIsInternalAndTheServiceKeepsServing(t *testing.T) {
	g := startGRPC(t)
	_, err := g.unary(context.Background(), "panic", "")
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "the handler panicked") {
		t.Errorf("panicking call = %v, want Internal without the panic's text", err)
	}
	if r, err := g.unary(context.Background(), "after", ""); err != nil || string(r.GetPayload().GetBody()) != "after" {
		t.Errorf("call after the panic = %v %v", r, err)
	}
	log := g.out.String()
	if !strings.Contains(log, `"msg":"rpc handler panicked"`) || !strings.Contains(log, `grpc_test.go`) {
		t.Errorf("no panic line with its stack in:\n%s", log)
	}
	if m := metrics(t, g.admin); !strings.Contains(m, `rpc_server_panics_total{`) {
		t.Errorf("no panic count in /metrics")
	}
}

func metrics(t *testing.T, admin string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestGRPCMetricsHaveMethodLabelsAndBoundedSeries: 100 calls with different
// payloads make one series; 100 made-up methods one more (_OTHER).
func TestGRPCMetricsHaveMethodLabelsAndBoundedSeries(t *testing.T) {
	g := startGRPC(t)
	for i := range 100 {
		if _, err := g.unary(context.Background(), fmt.Sprintf("payload %d", i), ""); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := g.conn.Invoke(ctx, fmt.Sprintf("/made.Up%d/Method%d", i, i), &testgrpc.Empty{}, &testgrpc.Empty{})
		cancel()
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("unknown method = %v", err)
		}
	}
	// The server records a call at its stats.End, which may come after the
	// client has its answer: read until every call is counted.
	var series []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		series = series[:0]
		for line := range strings.SplitSeq(metrics(t, g.admin), "\n") {
			if strings.HasPrefix(line, "rpc_server_call_duration_seconds_count{") && !strings.Contains(line, "grpc.health.v1") {
				series = append(series, line)
			}
		}
		if strings.Count(strings.Join(series, "\n"), "} 100") == len(series) && len(series) > 0 || time.Now().After(deadline) {
			break
		}
	}
	want := []string{
		`rpc_method="grpc.testing.TestService/UnaryCall"`,
		`rpc_method="_OTHER"`,
	}
	if len(series) != 2 {
		t.Fatalf("series of rpc.server.call.duration = %d, want 2:\n%s", len(series), strings.Join(series, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(series[0]+series[1], w) {
			t.Errorf("no series with %s", w)
		}
	}
	joined := strings.Join(series, "\n")
	for _, w := range []string{`rpc_system_name="grpc"`, `rpc_response_status_code="OK"`, `rpc_response_status_code="UNIMPLEMENTED"`, `} 100`} {
		if !strings.Contains(joined, w) {
			t.Errorf("no %s in:\n%s", w, joined)
		}
	}
}

// TestGRPCAccessLineCarriesTheCallersTraceAndRequestIDs: one line per call
// with service, method, code, duration and peer, the caller's trace id and
// the x-request-id it sent (or one made).
func TestGRPCAccessLineCarriesTheCallersTraceAndRequestIDs(t *testing.T) {
	g := startGRPC(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	var header metadata.MD
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := testgrpc.NewTestServiceClient(g.conn).UnaryCall(metadata.AppendToOutgoingContext(cctx, "x-request-id", "req-42"),
		&testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("x")}}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if got := header.Get("x-request-id"); len(got) != 1 || got[0] != "req-42" {
		t.Errorf("x-request-id echoed = %v", got)
	}
	if _, err := g.unary(context.Background(), "no id", ""); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for deadline := time.Now().Add(2 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		lines = lines[:0]
		for l := range strings.SplitSeq(g.out.String(), "\n") {
			if strings.Contains(l, `"msg":"rpc"`) && strings.Contains(l, `"rpc_service":"grpc.testing.TestService"`) {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) != 2 {
		t.Fatalf("access lines = %q", lines)
	}
	// A call's line is written after its answer is sent: the two may come
	// in either order.
	if !strings.Contains(lines[0], `"request_id":"req-42"`) {
		lines[0], lines[1] = lines[1], lines[0]
	}
	for _, w := range []string{`"request_id":"req-42"`, `"trace_id":"` + traceID + `"`, `"rpc_method":"UnaryCall"`, `"code":"OK"`, `"duration":`, `"peer":"127.0.0.1:`} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("no %s in %s", w, lines[0])
		}
	}
	if !regexp.MustCompile(`"request_id":"[0-9a-f]{24}"`).MatchString(lines[1]) {
		t.Errorf("no made request id in %s", lines[1])
	}
}

// TestGRPCAddrMustDifferFromTheOtherListeners: GRPC_ADDR is checked as
// HTTP_ADDR and ADMIN_ADDR are, and may not share their port.
func TestGRPCAddrMustDifferFromTheOtherListeners(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{":8080", "must differ from HTTP_ADDR"},
		{"0.0.0.0:9090", "must differ from ADMIN_ADDR"},
		{"localhost", "not an address"},
	} {
		_, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
			Environ: map[string]string{"HTTP_ADDR": ":8080", "ADMIN_ADDR": ":9090", "GRPC_ADDR": c.addr}})
		var cerr *config.Error
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "GRPC_ADDR") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GRPC_ADDR=%s: New = %v, want a config problem %q", c.addr, err, c.want)
		}
	}
	_, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
		Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0", "GRPC_MAX_RECV_MSG_SIZE", "0")})
	if err == nil || !strings.Contains(err.Error(), "GRPC_MAX_RECV_MSG_SIZE") {
		t.Errorf("GRPC_MAX_RECV_MSG_SIZE=0: New = %v", err)
	}
}

// TestGRPCIsNilWithoutGRPCAddr: no GRPC_ADDR, no gRPC listener.
func TestGRPCIsNilWithoutGRPCAddr(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if s.GRPC() != nil || s.GRPCAddr() != nil {
		t.Error("a gRPC server without GRPC_ADDR")
	}
}

// TestGRPCClosedUnrunReleasesTheListener: Close frees the port bound by New.
func TestGRPCClosedUnrunReleasesTheListener(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.GRPCAddr().String()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv("GRPC_ADDR", addr)})
	if err != nil {
		t.Fatalf("the port is still held after Close: %v", err)
	}
	_ = s2.Close(context.Background())
}
