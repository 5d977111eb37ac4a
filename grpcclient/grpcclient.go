// Package grpcclient gives a service's outbound gRPC calls what its HTTP
// client gets from the telemetry transport, in one set of dial options: a
// client span that carries the caller's trace context to the server in
// W3C metadata, rpc.client.call.duration (semantic conventions v1.40.0,
// the version package telemetry pins), the caller's x-request-id passed
// on, a timeout for a call whose context has none (the context's deadline
// travels to the server as grpc-timeout), and optionally a circuit
// breaker (package breaker) in front of the unary calls and the streams,
// a stream counted by its final status.
//
// It is a package of its own, beside grpcserver, because the two have one
// purpose each and no code in common but the status codes' names: a
// program that only calls gRPC services links no server instrumentation,
// and one that only serves links no breaker.
//
// The root package wires it to the service's providers (Service.GRPCClient);
// a program may use it on its own:
//
//	inst, err := grpcclient.New(grpcclient.Options{Breaker: b})
//	conn, err := grpc.NewClient(target, append(inst.DialOptions(),
//		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/internal/grpccodes"
	"github.com/operable-go/operable/logging"
)

// scope is the instrumentation scope of the meter and the tracer.
const scope = "github.com/operable-go/operable/grpcclient"

// RequestIDKey is the metadata key that carries the caller's request id
// to the server, as grpcserver reads it.
const RequestIDKey = "x-request-id"

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 30 * time.Second

// Options configure an [Instrumentation]. The zero value records into
// no-op providers (the trace context is still passed on), applies
// DefaultTimeout and has no breaker.
type Options struct {
	// TracerProvider makes the client spans. Default: a no-op provider.
	TracerProvider trace.TracerProvider
	// MeterProvider records rpc.client.call.duration. Default: a no-op
	// provider.
	MeterProvider metric.MeterProvider
	// Propagator writes the trace context into the outgoing metadata.
	// Default: W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
	// Timeout bounds a call whose context has no deadline; a call whose
	// context has one keeps it. Negative: no bound. Default:
	// DefaultTimeout (30s).
	Timeout time.Duration
	// Breaker, when not nil, guards the unary calls and the streams.
	// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and INTERNAL
	// count as failures; an error after the caller cancelled its
	// context is neutral; every other code is a success (the server
	// answered). A call the breaker rejects fails at once with UNAVAILABLE
	// and a message naming the breaker and why. A stream is one call of
	// the breaker ([breaker.Breaker.Allow]): let through (or rejected) at
	// its opening, and counted by its final status when it ends: RecvMsg's
	// error, OK at io.EOF, or the caller's cancellation. The breaker's
	// CallTimeout bounds a unary call, not a stream's life: a stream holds
	// one of the breaker's MaxConcurrent slots and, while it is half open,
	// one of its probes, until it ends or for CallTimeout at most; one
	// still open then counts as neutral, and its end, whenever it comes, as
	// a call of that moment. Default: none.
	Breaker *breaker.Breaker
}

// Instrumentation is the client side of one or more gRPC connections. It
// is safe for concurrent use. Make one with [New] and give
// [Instrumentation.DialOptions] to grpc.NewClient.
type Instrumentation struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	duration   metric.Float64Histogram
	timeout    time.Duration
	breaker    *breaker.Breaker

	methods  sync.Map // full method name → *method
	nMethods atomic.Int64
}

// New returns the instrumentation. It fails only when an instrument cannot
// be created.
func New(opts Options) (*Instrumentation, error) {
	if opts.TracerProvider == nil {
		opts.TracerProvider = tracenoop.NewTracerProvider()
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = noop.NewMeterProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	i := &Instrumentation{
		tracer:     opts.TracerProvider.Tracer(scope),
		propagator: opts.Propagator,
		timeout:    opts.Timeout,
		breaker:    opts.Breaker,
	}
	var err error
	i.duration, err = opts.MeterProvider.Meter(scope).Float64Histogram("rpc.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the RPCs the client sent, streams for their whole life."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return nil, fmt.Errorf("grpcclient: rpc.client.call.duration: %w", err)
	}
	return i, nil
}

// DialOptions returns the options that install the instrumentation: its
// stats handler (span, trace context, duration) and its interceptors
// (request id, timeout, breaker), outermost, before any the caller
// chains after them. The transport credentials are the caller's to add.
func (i *Instrumentation) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStatsHandler(i),
		grpc.WithChainUnaryInterceptor(i.unary),
		grpc.WithChainStreamInterceptor(i.stream),
	}
}

// withRequestID passes the caller's request id on, unless the metadata has
// one already.
func withRequestID(ctx context.Context) context.Context {
	if id := logging.RequestID(ctx); id != "" {
		if md, _ := metadata.FromOutgoingContext(ctx); len(md.Get(RequestIDKey)) == 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, RequestIDKey, id)
		}
	}
	return ctx
}

// outgoing passes the caller's request id on and bounds a context without
// a deadline.
func (i *Instrumentation) outgoing(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = withRequestID(ctx)
	if _, ok := ctx.Deadline(); !ok && i.timeout > 0 {
		return context.WithTimeout(ctx, i.timeout)
	}
	return ctx, func() {}
}

// unary passes the request id on, bounds the call and runs it through the
// breaker.
func (i *Instrumentation) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx, cancel := i.outgoing(ctx)
	defer cancel()
	if i.breaker == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	var callErr error
	_, err := breaker.Do(ctx, i.breaker, func(ctx context.Context) (struct{}, error) {
		callErr = invoker(ctx, method, req, reply, cc, opts...)
		return struct{}{}, outcome(ctx, callErr)
	})
	if errors.Is(err, breaker.ErrRejected) {
		return i.rejected(ctx, method, err)
	}
	return callErr
}

// outcome is what the breaker is told of a call's error: nil for a code
// that is the server's answer, the error itself for a failure code or
// after the caller's context ended (which the breaker counts as neutral
// for a cancellation).
func outcome(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal:
		return err
	}
	return nil
}

// rejected answers a call the breaker did not let through: UNAVAILABLE,
// with a client span and a duration like any call's, so that rejections
// show where the calls do.
func (i *Instrumentation) rejected(ctx context.Context, method string, err error) error {
	start := time.Now()
	name := trimSlash(method)
	st := status.New(codes.Unavailable, "grpcclient: "+err.Error())
	_, span := i.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start),
		trace.WithAttributes(semconv.RPCSystemNameGRPC, semconv.RPCMethod(name), semconv.RPCResponseStatusCode("UNAVAILABLE")))
	span.SetStatus(otelcodes.Error, st.Message())
	span.End()
	i.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(semconv.RPCSystemNameGRPC,
		semconv.RPCMethod(name), semconv.RPCResponseStatusCode("UNAVAILABLE")))
	return st.Err()
}

// stream passes the request id on and runs the stream through the
// breaker as one call: let through (or rejected) at its opening, its
// outcome counted at its end (see Options.Breaker). A stream's own context
// bounds it for its life: it gets no default timeout.
func (i *Instrumentation) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx = withRequestID(ctx)
	if i.breaker == nil {
		return streamer(ctx, desc, cc, method, opts...)
	}
	t, err := i.breaker.Allow(ctx)
	if err != nil {
		return nil, i.rejected(ctx, method, err)
	}
	// grpc-go calls OnFinish once, with the stream's final status, however
	// it ends: RecvMsg's end, the caller's context, the connection closed,
	// or its opening failed. Only the first Done counts.
	opts = append(opts[:len(opts):len(opts)], grpc.OnFinish(func(err error) { t.Done(outcome(ctx, err)) }))
	returned := false
	defer func() {
		if !returned { // a panic in an interceptor chained after this one: a failure, and it goes on up
			t.Done(errPanicked)
		}
	}()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	returned = true
	if err != nil {
		// An interceptor chained after this one may fail before grpc-go
		// runs the stream, and its OnFinish with it.
		t.Done(outcome(ctx, err))
		return nil, err
	}
	return cs, nil
}

// errPanicked is the outcome of a stream whose opening panicked.
var errPanicked = status.Error(codes.Internal, "grpcclient: the stream's opening panicked")

// maxMethods bounds the methods whose span options and metric series are
// kept: a program that invokes made-up method names gets them computed per
// call beyond it, never an unbounded cache.
const maxMethods = 1000

// method is what the calls of one method share, built once: the span's
// start options and, per status code, the metric series.
type method struct {
	name   string // "pkg.Service/Method"
	start  []trace.SpanStartOption
	series [17]atomic.Pointer[metric.RecordOption] // by code, those of the specification
}

// methodOf returns the shared record of full ("/pkg.Service/Method").
func (i *Instrumentation) methodOf(full string) *method {
	if m, ok := i.methods.Load(full); ok {
		return m.(*method)
	}
	name := trimSlash(full)
	m := &method{name: name, start: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.RPCSystemNameGRPC, semconv.RPCMethod(name))}}
	if i.nMethods.Add(1) > maxMethods {
		i.nMethods.Add(-1)
		return m
	}
	actual, loaded := i.methods.LoadOrStore(full, m)
	if loaded {
		i.nMethods.Add(-1)
	}
	return actual.(*method)
}

// seriesOf returns the metric series of m and code.
func (m *method) seriesOf(code codes.Code) metric.RecordOption {
	if int(code) < len(m.series) {
		if o := m.series[code].Load(); o != nil {
			return *o
		}
	}
	var o metric.RecordOption = metric.WithAttributeSet(attribute.NewSet(semconv.RPCSystemNameGRPC, semconv.RPCMethod(m.name),
		semconv.RPCResponseStatusCode(grpccodes.Name(code))))
	if int(code) < len(m.series) {
		m.series[code].Store(&o)
	}
	return o
}

// call is the record of one RPC, from TagRPC to End.
type call struct {
	method *method
	span   trace.Span
}

type callKey struct{}

// TagRPC begins a call: its client span, and the trace context written
// into the outgoing metadata. It implements stats.Handler.
func (i *Instrumentation) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	c := &call{method: i.methodOf(info.FullMethodName)}
	ctx, c.span = i.tracer.Start(ctx, c.method.name, c.method.start...)
	i.propagator.Inject(ctx, outgoingCarrier{&ctx})
	return context.WithValue(ctx, callKey{}, c)
}

// HandleRPC ends a call at its stats.End: the span and the duration. It
// implements stats.Handler.
func (i *Instrumentation) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || !s.IsClient() {
		return
	}
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		return
	}
	code := status.Code(end.Error)
	if c.span.IsRecording() {
		name := grpccodes.Name(code)
		c.span.SetAttributes(semconv.RPCResponseStatusCode(name))
		if end.Error != nil {
			c.span.SetStatus(otelcodes.Error, name)
		}
	}
	c.span.End() // now is the call's end: HandleRPC runs at it
	i.duration.Record(ctx, end.EndTime.Sub(end.BeginTime).Seconds(), c.method.seriesOf(code))
}

// TagConn implements stats.Handler; connections are not instrumented.
func (i *Instrumentation) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler; connections are not instrumented.
func (i *Instrumentation) HandleConn(context.Context, stats.ConnStats) {}

// trimSlash is "pkg.Service/Method" of "/pkg.Service/Method", as semconv
// writes rpc.method.
func trimSlash(full string) string {
	if len(full) > 0 && full[0] == '/' {
		return full[1:]
	}
	return full
}

// outgoingCarrier writes the trace context into the outgoing metadata of
// the context it points to.
type outgoingCarrier struct{ ctx *context.Context }

func (c outgoingCarrier) Get(key string) string {
	md, _ := metadata.FromOutgoingContext(*c.ctx)
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c outgoingCarrier) Set(key, value string) {
	*c.ctx = metadata.AppendToOutgoingContext(*c.ctx, key, value)
}

func (c outgoingCarrier) Keys() []string {
	md, _ := metadata.FromOutgoingContext(*c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}
