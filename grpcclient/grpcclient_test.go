package grpcclient_test

import (
	"context"
	"errors"
	"io"
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
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/grpcclient"
	"github.com/operable-go/operable/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seen is what the server saw of one call.
type seen struct {
	requestID, traceparent string
	deadline               time.Duration // left when the handler began; 0: none
}

// server is grpc's interop TestService: UnaryCall answers the status its
// request asks for, waits for its context on "hang", and records what it
// saw of each call.
type server struct {
	testgrpc.UnimplementedTestServiceServer
	mu    sync.Mutex
	calls []seen
}

func (s *server) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	var c seen
	if v := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(v) > 0 {
		c.requestID = v[0]
	}
	if v := metadata.ValueFromIncomingContext(ctx, "traceparent"); len(v) > 0 {
		c.traceparent = v[0]
	}
	if d, ok := ctx.Deadline(); ok {
		c.deadline = time.Until(d)
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if string(req.GetPayload().GetBody()) == "hang" {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage()) //nolint:gosec // a test's own codes
	}
	return &testgrpc.SimpleResponse{}, nil
}

// StreamingOutputCall sends one empty message per response parameter,
// then waits for its context on "hang", and ends with the status its
// request asks for.
func (s *server) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	s.mu.Lock()
	s.calls = append(s.calls, seen{})
	s.mu.Unlock()
	for range req.GetResponseParameters() {
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	if string(req.GetPayload().GetBody()) == "hang" {
		<-stream.Context().Done()
		return status.FromContextError(stream.Context().Err()).Err()
	}
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		return status.Error(codes.Code(st.GetCode()), st.GetMessage()) //nolint:gosec // a test's own codes
	}
	return nil
}

func (s *server) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.calls...)
}

// client is a real gRPC server on loopback and a connection to it through
// the instrumentation, with a span recorder and a metric reader.
type client struct {
	srv    *server
	conn   *grpc.ClientConn
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
}

func newClient(t *testing.T, opts grpcclient.Options) *client {
	t.Helper()
	c := &client{srv: &server{}, spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	c.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(c.spans))
	opts.TracerProvider = c.tp
	opts.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(c.reader))
	inst, err := grpcclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, c.srv)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	c.conn, err = grpc.NewClient(ln.Addr().String(), append(inst.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	return c
}

func (c *client) call(ctx context.Context, body string, code codes.Code) error {
	_, err := testgrpc.NewTestServiceClient(c.conn).UnaryCall(ctx, &testgrpc.SimpleRequest{
		Payload:        &testgrpc.Payload{Body: []byte(body)},
		ResponseStatus: &testgrpc.EchoStatus{Code: int32(code)}, //nolint:gosec // gRPC's codes fit
	})
	return err
}

// durations returns the count of rpc.client.call.duration per status code.
func (c *client) durations(t *testing.T) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := c.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "rpc.client.call.duration" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				method, _ := dp.Attributes.Value("rpc.method")
				system, _ := dp.Attributes.Value("rpc.system.name")
				code, _ := dp.Attributes.Value("rpc.response.status_code")
				if method.AsString() != "grpc.testing.TestService/UnaryCall" || system.AsString() != "grpc" {
					t.Errorf("a series with attributes %v", dp.Attributes.ToSlice())
				}
				out[code.AsString()] += dp.Count
			}
		}
	}
	return out
}

// TestCallCarriesTheSpanTraceContextRequestIDAndDeadline: a call made from
// a request's context has a client span, child of the caller's, whose
// trace context reaches the server in W3C metadata with the caller's
// request id and deadline; its duration is recorded under the method and
// code.
func TestCallCarriesTheSpanTraceContextRequestIDAndDeadline(t *testing.T) {
	c := newClient(t, grpcclient.Options{})
	ctx, parent := c.tp.Tracer("test").Start(logging.ContextWithRequestID(context.Background(), "req-7"), "handler")
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.call(ctx, "", codes.OK); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, "", codes.NotFound); status.Code(err) != codes.NotFound {
		t.Fatalf("call = %v, want NotFound", err)
	}
	parent.End()
	calls := c.srv.seen()
	if len(calls) != 2 {
		t.Fatalf("server saw %d calls, want 2", len(calls))
	}
	got := calls[0]
	if got.requestID != "req-7" {
		t.Errorf("server saw x-request-id %q, want req-7", got.requestID)
	}
	if got.deadline <= 0 || got.deadline > 3*time.Second {
		t.Errorf("server saw a deadline %v away, want the caller's (at most 3s)", got.deadline)
	}
	tid := parent.SpanContext().TraceID().String()
	if !strings.Contains(got.traceparent, tid) {
		t.Errorf("server saw traceparent %q, want the caller's trace %s", got.traceparent, tid)
	}
	var clientSpans []sdktrace.ReadOnlySpan
	for _, s := range c.spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			clientSpans = append(clientSpans, s)
		}
	}
	if len(clientSpans) != 2 {
		t.Fatalf("%d client spans, want 2", len(clientSpans))
	}
	s := clientSpans[0]
	if s.Name() != "grpc.testing.TestService/UnaryCall" || s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span %q, parent %v; want the method, child of the handler's span", s.Name(), s.Parent().SpanID())
	}
	if !strings.Contains(got.traceparent, s.SpanContext().SpanID().String()) {
		t.Errorf("traceparent %q does not name the client span %s", got.traceparent, s.SpanContext().SpanID())
	}
	if !hasAttr(s.Attributes(), "rpc.response.status_code", "OK") || !hasAttr(clientSpans[1].Attributes(), "rpc.response.status_code", "NOT_FOUND") {
		t.Errorf("client spans' codes: %v, %v", s.Attributes(), clientSpans[1].Attributes())
	}
	if d := c.durations(t); d["OK"] != 1 || d["NOT_FOUND"] != 1 || len(d) != 2 {
		t.Errorf("rpc.client.call.duration counts = %v, want OK 1 and NOT_FOUND 1", d)
	}
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.AsString() == value {
			return true
		}
	}
	return false
}

// TestTimeoutBoundsACallWithoutDeadline: a context with no deadline gets
// Options.Timeout, which the server sees; one with a deadline keeps it.
func TestTimeoutBoundsACallWithoutDeadline(t *testing.T) {
	c := newClient(t, grpcclient.Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	err := c.call(context.Background(), "hang", codes.OK)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a hanging call = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("the call took %v, want about the 200ms timeout", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.call(ctx, "", codes.OK); err != nil {
		t.Fatal(err)
	}
	calls := c.srv.seen()
	if calls[0].deadline <= 0 || calls[0].deadline > 200*time.Millisecond {
		t.Errorf("server saw a deadline %v away, want at most the 200ms timeout", calls[0].deadline)
	}
	if calls[1].deadline <= time.Second {
		t.Errorf("server saw a deadline %v away, want the caller's 5s", calls[1].deadline)
	}
}

// TestBreakerCountsTheFailureCodesOnly: UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED and INTERNAL are failures, the caller's cancellation
// is neutral, every other code is a success.
func TestBreakerCountsTheFailureCodesOnly(t *testing.T) {
	tests := []struct {
		name string
		code codes.Code
		hang bool // cancelled by the caller, or timed out, while it hangs
		want breaker.Counts
	}{
		{name: "ok", code: codes.OK, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "not found", code: codes.NotFound, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "invalid argument", code: codes.InvalidArgument, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "permission denied", code: codes.PermissionDenied, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "unknown", code: codes.Unknown, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "server's cancelled", code: codes.Canceled, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "unavailable", code: codes.Unavailable, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "deadline exceeded", code: codes.DeadlineExceeded, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "resource exhausted", code: codes.ResourceExhausted, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "internal", code: codes.Internal, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "caller cancelled", hang: true, code: codes.Canceled, want: breaker.Counts{Calls: 1, Neutral: 1}},
		{name: "caller's deadline", hang: true, code: codes.DeadlineExceeded, want: breaker.Counts{Calls: 1, Failures: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := breaker.New("upstream", breaker.Settings{}, breaker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, grpcclient.Options{Breaker: b})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			body := ""
			if tt.hang {
				body = "hang"
				if tt.code == codes.Canceled {
					time.AfterFunc(100*time.Millisecond, cancel)
				} else {
					ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
					defer cancel()
				}
			}
			if err := c.call(ctx, body, tt.code); status.Code(err) != tt.code {
				t.Fatalf("call = %v, want %v", err, tt.code)
			}
			if got := b.Info().Counts; got != tt.want {
				t.Errorf("breaker counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestARejectedCallIsUnavailableWithAClearMessage: a call the breaker
// rejects never reaches the server, fails with UNAVAILABLE naming the
// breaker and why, and is recorded as a call (span and duration).
func TestARejectedCallIsUnavailableWithAClearMessage(t *testing.T) {
	b, err := breaker.New("inventory", breaker.Settings{}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	if err := b.Force(breaker.HoldOpen); err != nil {
		t.Fatal(err)
	}
	err = c.call(context.Background(), "", codes.OK)
	st, _ := status.FromError(err)
	if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "inventory") || !strings.Contains(st.Message(), "forced_open") {
		t.Errorf("rejected call = %v, want Unavailable naming the breaker and forced_open", err)
	}
	if n := len(c.srv.seen()); n != 0 {
		t.Errorf("server saw %d calls, want none", n)
	}
	if d := c.durations(t); d["UNAVAILABLE"] != 1 {
		t.Errorf("rpc.client.call.duration counts = %v, want UNAVAILABLE 1", d)
	}
	if spans := c.spans.Ended(); len(spans) != 1 || spans[0].SpanKind() != trace.SpanKindClient || spans[0].Status().Description == "" {
		t.Errorf("spans = %v, want one client span with an error status", spans)
	}
	// Let through again, the call is served and the breaker counts it.
	if err := b.Force(breaker.Auto); err != nil {
		t.Fatal(err)
	}
	if err := c.call(context.Background(), "", codes.OK); err != nil {
		t.Errorf("call after the breaker closed = %v", err)
	}
	if got := b.Info().Counts; got.Successes != 1 {
		t.Errorf("breaker counts = %+v, want one success", got)
	}
}

// TestBreakerGuardsTheOpeningOfStreams: a stream opened through the
// breaker works for its whole life (the breaker's context does not end
// it), past the breaker's CallTimeout, and its end counts as a success;
// one the breaker rejects fails with
// UNAVAILABLE and never reaches the server; one that cannot reach the
// server counts as a failure.
func TestBreakerGuardsTheOpeningOfStreams(t *testing.T) {
	b, err := breaker.New("streams", breaker.Settings{CallTimeout: 50 * time.Millisecond}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open := func() (grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse], error) {
		return testgrpc.NewTestServiceClient(c.conn).StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
			ResponseParameters: make([]*testgrpc.ResponseParameters, 3),
		})
	}
	stream, err := open()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the breaker's CallTimeout
	n := 0
	for ; ; n++ {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	if !errors.Is(err, io.EOF) || n != 3 {
		t.Errorf("the stream gave %d messages and %v, want 3 and its end", n, err)
	}
	// Its admission, neutral at its CallTimeout, and its end, a success,
	// counted as a call of that moment.
	if got := b.Info().Counts; got != (breaker.Counts{Calls: 2, Successes: 1, Neutral: 1}) {
		t.Errorf("breaker counts after a stream that outlived CallTimeout = %+v, want its admission neutral and its end one success", got)
	}

	if err := b.Force(breaker.HoldOpen); err != nil {
		t.Fatal(err)
	}
	_, err = open()
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "streams") {
		t.Errorf("a stream through the held-open breaker = %v, want Unavailable naming the breaker", err)
	}
	if n := len(c.srv.seen()); n != 1 {
		t.Errorf("server saw %d streams, want the first only", n)
	}
	if err := b.Force(breaker.Auto); err != nil {
		t.Fatal(err)
	}

	// A server that is gone: the opening fails, and counts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	_ = ln.Close()
	inst, err := grpcclient.New(grpcclient.Options{Breaker: b})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(gone, append(inst.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = testgrpc.NewTestServiceClient(conn).StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("a stream to a closed port = %v, want Unavailable", err)
	}
	if got := b.Info().Counts; got.Failures != 1 {
		t.Errorf("breaker counts after a failed opening = %+v, want one failure", got)
	}
}

// stream opens a server stream of n messages that ends with code, or
// waits for its context to end when hang is true.
func (c *client) stream(ctx context.Context, n int, code codes.Code, hang bool) (grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse], error) {
	body := ""
	if hang {
		body = "hang"
	}
	return testgrpc.NewTestServiceClient(c.conn).StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
		ResponseParameters: make([]*testgrpc.ResponseParameters, n),
		Payload:            &testgrpc.Payload{Body: []byte(body)},
		ResponseStatus:     &testgrpc.EchoStatus{Code: int32(code)}, //nolint:gosec // gRPC's codes fit
	})
}

// drain reads a stream to its end and returns the messages and the final
// status (nil for io.EOF).
func drain(s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]) (int, error) {
	for n := 0; ; n++ {
		if _, err := s.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}

// countsSettle returns b's counts once they have not changed for 50ms, or
// after 2s.
func countsSettle(b *breaker.Breaker) breaker.Counts {
	last, since := b.Info().Counts, time.Now()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c := b.Info().Counts; c != last {
			last, since = c, time.Now()
		} else if time.Since(since) >= 50*time.Millisecond {
			break
		}
	}
	return last
}

// TestBreakerCountsAStreamByItsFinalStatus: a stream is one call of the
// breaker, let through at its opening, whose outcome is its final status,
// read by RecvMsg, counted once at its end: the failure codes fail, the
// caller's cancellation is neutral, every other code is a success.
func TestBreakerCountsAStreamByItsFinalStatus(t *testing.T) {
	tests := []struct {
		name string
		code codes.Code
		hang bool // cancelled by the caller, or timed out, while it hangs
		want breaker.Counts
	}{
		{name: "ok", code: codes.OK, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "not found", code: codes.NotFound, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "unknown", code: codes.Unknown, want: breaker.Counts{Calls: 1, Successes: 1}},
		{name: "unavailable", code: codes.Unavailable, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "deadline exceeded", code: codes.DeadlineExceeded, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "resource exhausted", code: codes.ResourceExhausted, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "internal", code: codes.Internal, want: breaker.Counts{Calls: 1, Failures: 1}},
		{name: "caller cancelled", hang: true, code: codes.Canceled, want: breaker.Counts{Calls: 1, Neutral: 1}},
		{name: "caller's deadline", hang: true, code: codes.DeadlineExceeded, want: breaker.Counts{Calls: 1, Failures: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := breaker.New("upstream", breaker.Settings{}, breaker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, grpcclient.Options{Breaker: b})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tt.hang {
				if tt.code == codes.Canceled {
					time.AfterFunc(100*time.Millisecond, cancel)
				} else {
					ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
					defer cancel()
				}
			}
			s, err := c.stream(ctx, 2, tt.code, tt.hang)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Info().Counts; got != (breaker.Counts{Calls: 1}) {
				t.Errorf("breaker counts of the open stream = %+v, want one call, its outcome to come", got)
			}
			n, err := drain(s)
			if n != 2 || status.Code(err) != tt.code {
				t.Fatalf("the stream gave %d messages and %v, want 2 and %v", n, err, tt.code)
			}
			// A stream its context ends is finished by grpc-go's own
			// goroutine, whose OnFinish may run just after Recv returns.
			if got := countsSettle(b); got != tt.want {
				t.Errorf("breaker counts = %+v, want %+v", got, tt.want)
			}
			// Read again after its end: nothing more is counted.
			if _, err := s.Recv(); err == nil {
				t.Error("a Recv after the end succeeded")
			}
			if got := b.Info().Counts; got != tt.want {
				t.Errorf("breaker counts after another Recv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestStreamsFailingWithUnavailableOpenTheBreaker: streams that end with
// UNAVAILABLE open the breaker, after which a stream is refused at its
// opening with UNAVAILABLE, a message naming the breaker and why, and
// never reaches the server.
func TestStreamsFailingWithUnavailableOpenTheBreaker(t *testing.T) {
	b, err := breaker.New("inventory", breaker.Settings{MinCalls: 3, FailureRatio: 1}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if got := b.State(); got != breaker.Closed {
			t.Fatalf("breaker %v before stream %d, want closed", got, i)
		}
		s, err := c.stream(ctx, 1, codes.Unavailable, false)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if _, err := drain(s); status.Code(err) != codes.Unavailable {
			t.Fatalf("stream %d ended with %v, want Unavailable", i, err)
		}
	}
	if got := b.State(); got != breaker.Open {
		t.Fatalf("breaker %v after 3 streams ended UNAVAILABLE, want open", got)
	}
	_, err = c.stream(ctx, 1, codes.OK, false)
	st, _ := status.FromError(err)
	if st.Code() != codes.Unavailable || st.Message() != "grpcclient: breaker: inventory rejected the call: open" {
		t.Errorf("a stream through the open breaker = %v, want Unavailable naming the breaker and open", err)
	}
	if n := len(c.srv.seen()); n != 3 {
		t.Errorf("server saw %d streams, want the 3 before the breaker opened", n)
	}
}

// TestAnAbandonedStreamGivesItsProbeBackAtItsCallTimeout: a stream
// opened while the breaker is half open holds its one probe, and one left
// unread, its context alive, gives it back at the breaker's CallTimeout:
// the next call is let through then, not before, and closes the breaker.
// The stream's end, when its caller gives up, counts then, neutral.
func TestAnAbandonedStreamGivesItsProbeBackAtItsCallTimeout(t *testing.T) {
	const callTimeout = 300 * time.Millisecond
	b, err := breaker.New("inventory", breaker.Settings{MinCalls: 1, FailureRatio: 1, HalfOpenCalls: 1,
		OpenTimeout: 100 * time.Millisecond, CallTimeout: callTimeout}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.call(ctx, "", codes.Unavailable); status.Code(err) != codes.Unavailable {
		t.Fatalf("call = %v, want Unavailable", err)
	}
	if got := b.State(); got != breaker.Open {
		t.Fatalf("breaker %v after a failure, want open", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for b.State() != breaker.HalfOpen {
		if time.Now().After(deadline) {
			t.Fatalf("breaker %v 3s after opening, want half open", b.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	streamCtx, abandon := context.WithCancel(ctx)
	defer abandon()
	opened := time.Now()
	if _, err := c.stream(streamCtx, 1, codes.OK, true); err != nil {
		t.Fatal(err)
	}
	// The stream is open and unread: it holds the one probe.
	err = c.call(ctx, "", codes.OK)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.HasSuffix(st.Message(), "half_open") {
		t.Fatalf("a call while the stream holds the probe = %v, want Unavailable, half_open", err)
	}
	for {
		err := c.call(ctx, "", codes.OK)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a call %v after the stream opened = %v, want it let through after CallTimeout", time.Since(opened), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(opened); d < callTimeout {
		t.Errorf("a call let through %v after the stream opened, before its %v CallTimeout", d, callTimeout)
	}
	if got := b.State(); got != breaker.Closed {
		t.Errorf("breaker %v after a successful probe, want closed", got)
	}
	abandon() // its end, the caller's cancellation, is neutral
	for b.Info().Counts.Neutral == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("breaker counts %+v after the stream was cancelled, want its end neutral", b.Info().Counts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.Info().Counts; got != (breaker.Counts{Calls: 1, Neutral: 1}) {
		t.Errorf("breaker counts %+v once closed, want the stream's end only, neutral", got)
	}
}

// TestAStreamFailingAfterItsCallTimeoutCountsThen: a stream that outlives
// the breaker's CallTimeout and then fails (its caller's deadline) counts
// as a failure when it ends, and opens the breaker.
func TestAStreamFailingAfterItsCallTimeoutCountsThen(t *testing.T) {
	b, err := breaker.New("inventory", breaker.Settings{MinCalls: 1, FailureRatio: 1, CallTimeout: 50 * time.Millisecond}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s, err := c.stream(ctx, 1, codes.OK, true)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := drain(s); n != 1 || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("the stream gave %d messages and %v, want 1 and DeadlineExceeded", n, err)
	}
	countsSettle(b)
	if got := b.State(); got != breaker.Open {
		t.Errorf("breaker %v after a stream failed past its CallTimeout, want open", got)
	}
}

// TestAStreamHoldsAConcurrencySlotUntilItEnds: an open stream is a call in
// flight: with MaxConcurrent 1 a call made meanwhile is rejected, and let
// through once the stream has ended.
func TestAStreamHoldsAConcurrencySlotUntilItEnds(t *testing.T) {
	b, err := breaker.New("inventory", breaker.Settings{MaxConcurrent: 1}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{Breaker: b})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.stream(ctx, 1, codes.OK, false)
	if err != nil {
		t.Fatal(err)
	}
	err = c.call(ctx, "", codes.OK)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.HasSuffix(st.Message(), "concurrency") {
		t.Errorf("a call while the stream is open = %v, want Unavailable, concurrency", err)
	}
	if _, err := drain(s); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, "", codes.OK); err != nil {
		t.Errorf("a call after the stream ended = %v, want it let through", err)
	}
}

// TestAPanickingOpeningIsAFailure: a stream interceptor chained after the
// instrumentation that panics counts as a failure, at once, and the panic
// goes on up.
func TestAPanickingOpeningIsAFailure(t *testing.T) {
	b, err := breaker.New("inventory", breaker.Settings{}, breaker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, grpcclient.Options{})
	inst, err := grpcclient.New(grpcclient.Options{Breaker: b})
	if err != nil {
		t.Fatal(err)
	}
	panicking := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
		panic("interceptor bug")
	}
	conn, err := grpc.NewClient(c.conn.Target(), append(inst.DialOptions(), grpc.WithChainStreamInterceptor(panicking),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on up")
			}
		}()
		_, _ = testgrpc.NewTestServiceClient(conn).StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	}()
	if got := b.Info().Counts; got != (breaker.Counts{Calls: 1, Failures: 1}) {
		t.Errorf("breaker counts %+v after a panicking opening, want one failure", got)
	}
}
