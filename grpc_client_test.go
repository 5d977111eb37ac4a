package operable_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/internal/syncbuf"
)

// peer is a plain gRPC server on loopback serving testService: the
// dependency a service calls.
func peer(t *testing.T) (addr string, svc *testService) {
	t.Helper()
	svc = &testService{handled: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, svc)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	return ln.Addr().String(), svc
}

// TestGRPCClientCarriesTheRequestIsMeasuredAndClosedAtTheStop: a call made
// through Service.GRPCClient from an HTTP handler's context reaches the
// dependency with the request's id, is on /metrics as
// rpc.client.call.duration, a held-open breaker rejects the next with
// UNAVAILABLE, and the connection is closed when the service stops.
func TestGRPCClientCarriesTheRequestIsMeasuredAndClosedAtTheStop(t *testing.T) {
	addr, svc := peer(t)
	out := &syncbuf.Buffer{}
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Environ: loopbackEnv(), Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Breaker("peer", breaker.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.GRPCClient(addr, b, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client := testgrpc.NewTestServiceClient(conn)
	s.HandleFunc("GET /relay", func(w http.ResponseWriter, r *http.Request) {
		_, err := client.UnaryCall(r.Context(), &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("relayed")}})
		_, _ = io.WriteString(w, status.Code(err).String()+" "+status.Convert(err).Message())
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
			<-done
		}
	}()
	var app, admin string
	re := regexp.MustCompile(`"listener":"(app|admin)","addr":"([^"]+)"`)
	for deadline := time.Now().Add(5 * time.Second); app == "" || admin == ""; time.Sleep(5 * time.Millisecond) {
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			if m[1] == "app" {
				app = m[2]
			} else {
				admin = m[2]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening lines: %s", out.String())
		}
	}
	relay := func() string {
		req, err := http.NewRequest(http.MethodGet, "http://"+app+"/relay", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-ID", "relay-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if got := relay(); got != "OK " {
		t.Fatalf("relay = %q, want OK", got)
	}
	svc.mu.Lock()
	saw := svc.handled["relay-1"]
	svc.mu.Unlock()
	if !saw {
		t.Errorf("the dependency did not see the request's id relay-1")
	}
	m := metrics(t, admin)
	if !regexp.MustCompile(`rpc_client_call_duration_seconds_count\{[^}]*rpc_method="grpc.testing.TestService/UnaryCall"[^}]*rpc_response_status_code="OK"[^}]*\} 1`).MatchString(m) {
		t.Errorf("no rpc_client_call_duration_seconds series for the call in /metrics:\n%s", grep(m, "rpc_client"))
	}
	if err := b.Force(breaker.HoldOpen); err != nil {
		t.Fatal(err)
	}
	if got := relay(); !strings.HasPrefix(got, codes.Unavailable.String()+" ") || !strings.Contains(got, "peer") {
		t.Errorf("relay through the held-open breaker = %q, want Unavailable naming the breaker", got)
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	stopped = true
	if st := conn.GetState(); st != connectivity.Shutdown {
		t.Errorf("the connection is %v after the stop, want Shutdown", st)
	}
	if !strings.Contains(out.String(), `"hook":"grpc client `+addr+`"`) {
		t.Errorf("no stop hook line for the connection in:\n%s", out.String())
	}
}

// TestGRPCClientOfAServiceNeverRunIsClosedByClose: Close releases the
// connections GRPCClient made, one its caller closed already included.
func TestGRPCClientOfAServiceNeverRunIsClosedByClose(t *testing.T) {
	addr, _ := peer(t)
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Environ: loopbackEnv(), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.GRPCClient(addr, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := s.GRPCClient(addr, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := conn.GetState(); st != connectivity.Shutdown {
		t.Errorf("the connection is %v after Close, want Shutdown", st)
	}
}

func grep(text, sub string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// relayService's UnaryCall calls the peer with its own call's context.
type relayService struct {
	testgrpc.UnimplementedTestServiceServer
	peer testgrpc.TestServiceClient
}

func (r *relayService) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return r.peer.UnaryCall(ctx, req)
}

// TestGRPCClientCarriesAnIncomingCallsDeadlineTraceAndRequestID: a gRPC
// handler that calls a dependency with its call's context passes on the
// caller's deadline, trace and request id: the dependency sees the same.
func TestGRPCClientCarriesAnIncomingCallsDeadlineTraceAndRequestID(t *testing.T) {
	addr, svc := peer(t)
	deadlines := make(chan time.Duration, 1)
	svc.onCall = func(ctx context.Context) {
		if d, ok := ctx.Deadline(); ok {
			deadlines <- time.Until(d)
		}
	}
	out := &syncbuf.Buffer{}
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Stdout: out,
		Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.GRPCClient(addr, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	testgrpc.RegisterTestServiceServer(s.GRPC(), &relayService{peer: testgrpc.NewTestServiceClient(conn)})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	defer func() { s.Stop(); <-done }()
	caller, err := grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(),
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01", "x-request-id", "chain-1"), 3*time.Second)
	defer cancel()
	if _, err := testgrpc.NewTestServiceClient(caller).UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	saw, parent := svc.handled["chain-1"], svc.traceparent
	svc.mu.Unlock()
	if !saw {
		t.Errorf("the dependency did not see the caller's request id chain-1")
	}
	if !strings.Contains(parent, traceID) {
		t.Errorf("the dependency saw traceparent %q, want the caller's trace %s", parent, traceID)
	}
	select {
	case d := <-deadlines:
		if d <= 0 || d > 3*time.Second {
			t.Errorf("the dependency saw a deadline %v away, want within the caller's 3s", d)
		}
	default:
		t.Errorf("the dependency saw no deadline, want the caller's")
	}
}
