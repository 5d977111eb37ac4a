package grpcserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/grpcserver"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/grpchealth"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type service struct {
	testgrpc.UnimplementedTestServiceServer
	block chan struct{}
}

// longJWT is a JWT of over 1 KB, as identity providers issue: longer than
// an access line's error text.
var longJWT = "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-123","email":"ann@example.com","groups":"`+
	strings.Repeat("g", 900)+`"}`)) + ".c2lnbmF0dXJlc2lnbmF0dXJl"

func (s *service) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if string(req.GetPayload().GetBody()) == "jwt" {
		return nil, status.Errorf(codes.Unauthenticated, "invalid token %s", longJWT)
	}
	if string(req.GetPayload().GetBody()) == "block" {
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &testgrpc.SimpleResponse{}, nil
}

// StreamingOutputCall sends one empty message per response parameter.
func (s *service) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// serve runs srv on loopback, with the methods learnt by inst when not nil,
// and returns a client connection.
func serve(t *testing.T, srv *grpc.Server, inst *grpcserver.Instrumentation) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if inst != nil {
		inst.LearnMethods(srv)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestUnknownMethodsAreOneSeries: made-up methods are recorded under
// _OTHER with UNIMPLEMENTED, and every call ends (Active back to 0).
func TestUnknownMethodsAreOneSeries(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inst, err := grpcserver.New(grpcserver.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	conn := serve(t, srv, inst)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 20 {
		err := conn.Invoke(ctx, fmt.Sprintf("/scan.S%d/M", i), &testgrpc.Empty{}, &testgrpc.Empty{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("unknown method = %v", err)
		}
		if _, err := testgrpc.NewTestServiceClient(conn).UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// The server records a call at its stats.End, which may come after the
	// client has its answer: collect until the last call is in.
	want := map[string]uint64{"_OTHER UNIMPLEMENTED": 20, "grpc.testing.TestService/UnaryCall OK": 20}
	var got map[string]uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		got = map[string]uint64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != "rpc.server.call.duration" {
					continue
				}
				for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					meth, _ := p.Attributes.Value(attribute.Key("rpc.method"))
					code, _ := p.Attributes.Value(attribute.Key("rpc.response.status_code"))
					got[meth.AsString()+" "+code.AsString()] = p.Count
				}
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for deadline := time.Now().Add(time.Second); inst.Active() != 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	if n := inst.Active(); n != 0 {
		t.Errorf("Active = %d after every call ended", n)
	}
}

// TestGracefulStopCutsWhatOutlivesItsContext: a call that does not end
// is cut when the context is done, and counted.
func TestGracefulStopCutsWhatOutlivesItsContext(t *testing.T) {
	inst, err := grpcserver.New(grpcserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	svc := &service{block: make(chan struct{})}
	defer close(svc.block)
	testgrpc.RegisterTestServiceServer(srv, svc)
	conn := serve(t, srv, inst)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := testgrpc.NewTestServiceClient(conn).UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("block")}})
		errc <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); inst.Active() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the call never began")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if cut := inst.GracefulStop(ctx, srv); cut != 1 {
		t.Errorf("cut = %d, want 1", cut)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("GracefulStop took %v with a 100ms context", d)
	}
	if err := <-errc; status.Code(err) != codes.Unavailable {
		t.Errorf("the cut call = %v, want Unavailable", err)
	}
}

// TestHealthAnswersForRegisteredServicesAsReadiness: a registered service
// is SERVING while readiness passes, NOT_SERVING once it fails; any other
// name, a check's included, is NotFound, and List names only "" and the
// registered services.
func TestHealthAnswersForRegisteredServicesAsReadiness(t *testing.T) {
	ready := true
	c := &health.Checker{}
	if err := c.Add(health.Check{Name: "db", Groups: health.Readiness, Func: func(context.Context) error {
		if !ready {
			return fmt.Errorf("down")
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	inst, err := grpcserver.New(grpcserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	h := grpcserver.NewHealth(c, grpchealth.Options{})
	healthpb.RegisterHealthServer(srv, h)
	h.LearnServices(srv)
	hc := healthpb.NewHealthClient(serve(t, srv, inst))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := func(name string) string {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil {
			return status.Code(err).String()
		}
		return r.GetStatus().String()
	}
	if got := st("grpc.testing.TestService") + " " + st("") + " " + st("db") + " " + st("nope"); got != "SERVING SERVING NotFound NotFound" {
		t.Errorf("statuses = %s", got)
	}
	ready = false
	if got := st("grpc.testing.TestService"); got != "NOT_SERVING" {
		t.Errorf("registered service with readiness failing = %s", got)
	}
	l, err := hc.List(ctx, &healthpb.HealthListRequest{})
	if err != nil || l.GetStatuses()["grpc.testing.TestService"].GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING ||
		l.GetStatuses()[""].GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING || len(l.GetStatuses()) != 2 {
		t.Errorf("List = %v %v, want \"\" and the registered service, NOT_SERVING", l, err)
	}
	ready = true
	h.Shutdown()
	if got := st("grpc.testing.TestService") + " " + st(""); got != "NOT_SERVING NOT_SERVING" {
		t.Errorf("after Shutdown, with readiness passing: %s", got)
	}
}

// TestEachCallGetsItsOwnRequestIDEchoed: concurrent unary calls and
// streams each get back, in their header, the x-request-id they sent, or
// one made for them alone: the metadata the echo reuses is never shared
// between calls.
func TestEachCallGetsItsOwnRequestIDEchoed(t *testing.T) {
	inst, err := grpcserver.New(grpcserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	conn := serve(t, srv, inst)
	client := testgrpc.NewTestServiceClient(conn)
	const n = 64
	var (
		mu   sync.Mutex
		made = map[string]bool{}
		wg   sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sent := ""
			if i%2 == 0 {
				sent = fmt.Sprintf("req-%d", i)
				ctx = metadata.AppendToOutgoingContext(ctx, grpcserver.RequestIDKey, sent)
			}
			var header metadata.MD
			if i%4 < 2 {
				if _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Header(&header)); err != nil {
					t.Errorf("call %d: %v", i, err)
					return
				}
			} else {
				stream, err := client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
					ResponseParameters: make([]*testgrpc.ResponseParameters, 2)})
				if err != nil {
					t.Errorf("stream %d: %v", i, err)
					return
				}
				if header, err = stream.Header(); err != nil {
					t.Errorf("stream %d header: %v", i, err)
					return
				}
			}
			got := header.Get(grpcserver.RequestIDKey)
			switch {
			case len(got) != 1:
				t.Errorf("call %d: x-request-id echoed %v, want one", i, got)
			case sent != "" && got[0] != sent:
				t.Errorf("call %d: x-request-id echoed %q, want the %q it sent", i, got[0], sent)
			case sent == "":
				mu.Lock()
				if made[got[0]] {
					t.Errorf("call %d: x-request-id %q made twice", i, got[0])
				}
				made[got[0]] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestACallRefusedBeforeItsHandlerIsMeasuredAndLogged: a request over the
// server's message size limit is refused by grpc-go before any handler or
// interceptor runs; the stats handler still records it, with its code,
// and writes its access line. This is why the instrumentation is a stats
// handler, whose events grpc-go pays for, and not interceptors alone.
func TestACallRefusedBeforeItsHandlerIsMeasuredAndLogged(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	var logs syncbuf.Buffer
	inst, err := grpcserver.New(grpcserver.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(inst.ServerOptions(), grpc.MaxRecvMsgSize(1024))...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	conn := serve(t, srv, inst)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = testgrpc.NewTestServiceClient(conn).UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: make([]byte, 4096)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("an oversized request = %v, want ResourceExhausted", err)
	}
	// The server ends the call at its stats.End, which may come after the
	// client has its answer: wait for the line, written last.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"msg":"rpc"`) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	var count uint64
	{
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != "rpc.server.call.duration" {
					continue
				}
				for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					code, _ := p.Attributes.Value(attribute.Key("rpc.response.status_code"))
					if code.AsString() == "RESOURCE_EXHAUSTED" {
						count += p.Count
					}
				}
			}
		}
	}
	if count != 1 {
		t.Errorf("rpc.server.call.duration has %d calls with RESOURCE_EXHAUSTED, want the refused one", count)
	}
	if line := logs.String(); !strings.Contains(line, `"msg":"rpc"`) || !strings.Contains(line, `"code":"RESOURCE_EXHAUSTED"`) ||
		!strings.Contains(line, `"rpc_method":"UnaryCall"`) {
		t.Errorf("access log %q, want the refused call's line", line)
	}
}

// TestAccessLinesSayWhyACallFailed: a failed call's access line carries the
// status message as error, bounded without cutting a secret in two (the
// redactor knows a JWT by its three parts), and a call to a method the
// caller made up is a warning (the caller's error, however long the name),
// whose span keeps a bounded rpc.method_original; a call that succeeded
// has no error.
func TestAccessLinesSayWhyACallFailed(t *testing.T) {
	var logs syncbuf.Buffer
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	logger, err := logging.New(logging.Options{Writer: &logs}) // the service's, which redacts
	if err != nil {
		t.Fatal(err)
	}
	inst, err := grpcserver.New(grpcserver.Options{TracerProvider: tp, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(inst.ServerOptions(), grpc.MaxRecvMsgSize(1024))...)
	testgrpc.RegisterTestServiceServer(srv, &service{})
	conn := serve(t, srv, inst)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := testgrpc.NewTestServiceClient(conn)
	madeUp := "/scan.S/" + strings.Repeat("M", 10_000)
	tests := []struct {
		name      string
		call      func() error
		code      codes.Code
		level     string
		errorText string // in the line's error; "" for none
	}{
		{"succeeded", func() error { _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}); return err },
			codes.OK, "INFO", ""},
		{"refused by grpc-go", func() error {
			_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: make([]byte, 4096)}})
			return err
		}, codes.ResourceExhausted, "WARN", "larger than max"},
		{"a made-up method", func() error { return conn.Invoke(ctx, madeUp, &testgrpc.Empty{}, &testgrpc.Empty{}) },
			codes.Unimplemented, "WARN", "unknown method"},
		{"a long secret in the error", func() error {
			_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("jwt")}})
			return err
		}, codes.Unauthenticated, "WARN", "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rpcLines(logs.String()))
			if err := tt.call(); status.Code(err) != tt.code {
				t.Fatalf("call = %v, want %v", err, tt.code)
			}
			// The server writes the line at the call's stats.End, which may
			// come after the client has its answer.
			var lines []map[string]any
			for deadline := time.Now().Add(5 * time.Second); len(lines) <= before && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				lines = rpcLines(logs.String())
			}
			if len(lines) <= before {
				t.Fatalf("no access line in %q", logs.String())
			}
			line := lines[before]
			if line["level"] != tt.level || line["code"] != grpccodesName(tt.code) {
				t.Errorf("line %v, want level %s and code %v", line, tt.level, tt.code)
			}
			text, has := line["error"].(string)
			switch {
			case tt.errorText == "" && has:
				t.Errorf("a call that succeeded logs error %q", text)
			case tt.errorText != "" && !strings.Contains(text, tt.errorText):
				t.Errorf("error = %q, want it to say %q", text, tt.errorText)
			case len(text) > grpcserver.MaxErrorText+len("…"):
				t.Errorf("error has %d bytes, want at most %d and the mark", len(text), grpcserver.MaxErrorText)
			}
		})
	}
	if log := logs.String(); strings.Contains(log, longJWT[:30]) || strings.Contains(log, "eyJzdWIi") {
		t.Errorf("a part of the JWT reached the log:\n%s", log)
	}
	var original string
	for _, s := range spans.Ended() {
		for _, a := range s.Attributes() {
			if a.Key == "rpc.method_original" {
				original = a.Value.AsString()
			}
		}
	}
	if original != "…" { // the name is one token over the bound: none of it
		t.Errorf("rpc.method_original has %d bytes (%.20q...), want the made-up name over %d bytes dropped", len(original), original, grpcserver.MaxMethodOriginal)
	}
}

// rpcLines returns the access lines of a JSON log.
func rpcLines(log string) []map[string]any {
	var lines []map[string]any
	for l := range strings.SplitSeq(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "rpc" {
			lines = append(lines, m)
		}
	}
	return lines
}

// grpccodesName is a code as the access line writes it.
func grpccodesName(c codes.Code) string {
	return map[codes.Code]string{codes.OK: "OK", codes.ResourceExhausted: "RESOURCE_EXHAUSTED", codes.Unimplemented: "UNIMPLEMENTED",
		codes.Unauthenticated: "UNAUTHENTICATED"}[c]
}

// TestHealthWatchEndsAsTheProtocolSays: a Watch of an unknown name (a
// check's) gets SERVICE_UNKNOWN and stays open until Shutdown ends it; a
// Watch its client leaves ends CANCELLED, or DEADLINE_EXCEEDED when its
// deadline passes, not OK, and its access line is a debug one (a watcher
// leaving is not news).
func TestHealthWatchEndsAsTheProtocolSays(t *testing.T) {
	c := &health.Checker{}
	if err := c.Add(health.Check{Name: "db", Groups: health.Readiness, Func: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	inst, err := grpcserver.New(grpcserver.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(inst.ServerOptions()...)
	h := grpcserver.NewHealth(c, grpchealth.Options{PollInterval: 50 * time.Millisecond})
	healthpb.RegisterHealthServer(srv, h)
	h.LearnServices(srv)
	hc := healthpb.NewHealthClient(serve(t, srv, inst))

	leaving, leave := context.WithCancel(context.Background())
	watched, err := hc.Watch(leaving, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watched.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch(\"\") first = %v %v, want SERVING", r, err)
	}
	leave()
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range rpcLines(logs.String()) {
			if l["rpc_method"] == "Watch" {
				line = l
			}
		}
	}
	if line == nil || line["code"] != "CANCELLED" || line["level"] != "DEBUG" {
		t.Errorf("the left Watch's access line = %v, want CANCELLED at DEBUG", line)
	}
	expiring, expire := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer expire()
	if watched, err = hc.Watch(expiring, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := watched.Recv(); err != nil {
			break
		}
	}
	// The server's deadline and the client's reset race: either code.
	var watches []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(watches) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		watches = watches[:0]
		for _, l := range rpcLines(logs.String()) {
			if l["rpc_method"] == "Watch" {
				watches = append(watches, l)
			}
		}
	}
	if len(watches) < 2 || (watches[1]["code"] != "DEADLINE_EXCEEDED" && watches[1]["code"] != "CANCELLED") || watches[1]["level"] != "DEBUG" {
		t.Errorf("the Watch whose deadline passed: access lines %v, want the second DEADLINE_EXCEEDED or CANCELLED at DEBUG", watches)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unknown, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := unknown.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("Watch(db) first = %v %v, want SERVICE_UNKNOWN", r, err)
	}
	ended := make(chan error, 1)
	go func() { _, err := unknown.Recv(); ended <- err }()
	select {
	case err := <-ended:
		t.Fatalf("the unknown name's Watch ended before Shutdown: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	h.Shutdown()
	select {
	case err := <-ended:
		if !errors.Is(err, io.EOF) {
			t.Errorf("the unknown name's Watch after Shutdown = %v, want its end (EOF)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not end the unknown name's Watch")
	}
}
