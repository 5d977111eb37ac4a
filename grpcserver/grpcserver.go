// Package grpcserver makes a grpc.Server operable by the rules of the
// service's HTTP routes, in one place per call: a stats handler that
// continues the caller's W3C trace context in a server span, records
// rpc.server.call.duration (semantic conventions v1.40.0, the version
// package telemetry pins) and writes one access-log line per call with its
// request id; and interceptors that turn a panic into codes.Internal, logged
// with its stack and counted. [Health] serves grpc.health.v1 from a
// health.Checker, with every registered gRPC service name following the
// readiness probe.
//
// The root package wires it to GRPC_ADDR; a program may use it on its own
// with any grpc.Server:
//
//	inst, err := grpcserver.New(grpcserver.Options{Logger: logger})
//	srv := grpc.NewServer(inst.ServerOptions()...)
//	// register the services, then:
//	inst.LearnMethods(srv)
//	err = srv.Serve(ln)
package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

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
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable/internal/clip"
	"github.com/operable-go/operable/internal/grpccodes"
	"github.com/operable-go/operable/logging"
)

// scope is the instrumentation scope of the meter and the tracer.
const scope = "github.com/operable-go/operable/grpcserver"

// RequestIDKey is the metadata key that carries a call's request id in
// and out, the gRPC spelling of logging.RequestIDHeader.
const RequestIDKey = "x-request-id"

// Other is the rpc.method value of every method the server does not
// serve, so that a scan of made-up names adds one series, not one per name.
const Other = "_OTHER"

// MaxMethodOriginal bounds, in bytes, the name of a method the server does
// not serve as it goes into the span's rpc.method_original attribute: the
// caller makes it up, and only GRPC_MAX_HEADER_LIST_SIZE bounds it on the
// wire. A longer name is cut back to a separator ('/' is none), so that no
// part of a token is kept: mostly, the attribute is then only the mark.
const MaxMethodOriginal = 256

// MaxErrorText bounds, in bytes, the status message a failed call's access
// line carries as error. A longer one is cut back to the last separator
// before the bound, so that a secret the bound falls in (a long JWT) is
// dropped whole, not kept in part where the redactor, which knows it by
// its whole shape, would miss it.
const MaxErrorText = 512

// healthService is grpc.health.v1's service name.
const healthService = "grpc.health.v1.Health"

// Options configure an [Instrumentation]. The zero value logs nothing and
// records into no-op providers.
type Options struct {
	// Logger receives the access-log lines and the panics. The root passes
	// the service's logger, which masks secrets. Default: a logger that
	// discards.
	Logger *slog.Logger
	// TracerProvider makes the server spans. Default: a no-op provider
	// (the trace context is still continued, so log lines carry the
	// caller's trace id).
	TracerProvider trace.TracerProvider
	// MeterProvider records the RPC metrics. Default: a no-op provider.
	MeterProvider metric.MeterProvider
	// Propagator reads the caller's trace context from the incoming
	// metadata. Default: W3C trace context and baggage.
	Propagator propagation.TextMapPropagator
}

// Instrumentation is the per-call instrumentation of one grpc.Server. It
// is safe for concurrent use. Make one with [New], give
// [Instrumentation.ServerOptions] to grpc.NewServer and call
// [Instrumentation.LearnMethods] once the services are registered.
type Instrumentation struct {
	logger     *slog.Logger
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	duration   metric.Float64Histogram
	panics     metric.Int64Counter

	methods atomic.Pointer[map[string]*method] // the served methods, once learned
	other   *method                            // every other method
	active  atomic.Int64                       // calls begun and not ended
}

// New returns the instrumentation. It fails only when an instrument cannot
// be created.
func New(opts Options) (*Instrumentation, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = tracenoop.NewTracerProvider()
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = noop.NewMeterProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	i := &Instrumentation{
		logger:     opts.Logger,
		tracer:     opts.TracerProvider.Tracer(scope),
		propagator: opts.Propagator,
		other:      &method{name: Other, service: Other, short: Other},
	}
	meter := opts.MeterProvider.Meter(scope)
	var err error
	i.duration, err = meter.Float64Histogram("rpc.server.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the RPCs the server received, streams for their whole life."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return nil, fmt.Errorf("grpcserver: rpc.server.call.duration: %w", err)
	}
	i.panics, err = meter.Int64Counter("rpc.server.panics",
		metric.WithDescription("Panics of RPC handlers, each answered with codes.Internal."))
	if err != nil {
		return nil, fmt.Errorf("grpcserver: rpc.server.panics: %w", err)
	}
	return i, nil
}

// ServerOptions returns the options that install the instrumentation: its
// stats handler and the panic-recovery interceptors (outermost, before any
// the caller chains after them).
func (i *Instrumentation) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StatsHandler(i),
		grpc.ChainUnaryInterceptor(i.unary),
		grpc.ChainStreamInterceptor(i.stream),
		// grpc-go answers an unknown method without ending its stats (no
		// stats.End after TagRPC); answering it here, as grpc-go would,
		// gives it a span, a duration and a log line like any call.
		grpc.UnknownServiceHandler(unknown),
	}
}

// unknown answers a method the server does not serve, as grpc-go does.
func unknown(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	return status.Errorf(codes.Unimplemented, "unknown method %s", method)
}

// LearnMethods records the methods srv serves, read from
// srv.GetServiceInfo: from then on a call to any other method is recorded
// as [Other]. Call it after the services are registered, before Serve.
// Until it is called, every method is recorded as Other.
func (i *Instrumentation) LearnMethods(srv *grpc.Server) {
	m := map[string]*method{}
	for svc, info := range srv.GetServiceInfo() {
		for _, meth := range info.Methods {
			name := svc + "/" + meth.Name // as semconv writes rpc.method
			m["/"+name] = &method{name: name, service: svc, short: meth.Name, start: []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.RPCSystemNameGRPC, semconv.RPCMethod(name)),
			}}
		}
	}
	i.methods.Store(&m)
}

// method is what the calls of one served method share, built once by
// LearnMethods: the span's start options and, per status code, the metric
// series. The calls of every other method share Instrumentation.other.
type method struct {
	name, service, short string // "pkg.Service/Method", "pkg.Service", "Method"; Other, Other, Other
	start                []trace.SpanStartOption
	series               [17]atomic.Pointer[[]metric.RecordOption] // by code, those of the specification
}

// seriesOf returns the metric series of m and code, built once per series,
// as the options of Record: a slice passed on as it is, not one made per
// call.
func (m *method) seriesOf(code codes.Code) []metric.RecordOption {
	if int(code) < len(m.series) {
		if o := m.series[code].Load(); o != nil {
			return *o
		}
	}
	o := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(semconv.RPCSystemNameGRPC, semconv.RPCMethod(m.name),
		semconv.RPCResponseStatusCode(codeName(code))))}
	if int(code) < len(m.series) {
		m.series[code].Store(&o)
	}
	return o
}

// codeAttrs holds, per code of the specification, the span's
// rpc.response.status_code attribute as SetAttributes' arguments.
var codeAttrs = func() (a [17][]attribute.KeyValue) {
	for c := range a {
		a[c] = []attribute.KeyValue{semconv.RPCResponseStatusCode(codeName(codes.Code(c)))} //nolint:gosec // 0-16
	}
	return a
}()

// Active returns the number of calls begun and not yet ended: what a Stop
// would cut.
func (i *Instrumentation) Active() int64 { return i.active.Load() }

// call is the record of one RPC, from TagRPC to End, and the context
// TagRPC returns, which answers callKey with it; the context that carries
// its request id, under the span's, lives in it too: the record and its
// contexts are one allocation.
type call struct {
	context.Context                          // the span's, over the trace context's, over id
	id              logging.RequestIDContext // over the incoming context
	method          *method
	span            trace.Span
	carrier         incomingCarrier // read by the propagator through a pointer, not boxed
}

type callKey struct{}

// Value returns the call for callKey, and asks the parent for any other key.
func (c *call) Value(key any) any {
	if key == (callKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// peerKey is the context key of a connection's peer address, formatted
// once by TagConn for all its calls.
type peerKey struct{}

// lookup returns the served method full, or nil.
func (i *Instrumentation) lookup(full string) *method {
	if m := i.methods.Load(); m != nil {
		return (*m)[full]
	}
	return nil
}

// TagRPC begins a call: its request id (from x-request-id, or made) and
// its server span, continuing the trace context of the metadata. It
// implements stats.Handler.
func (i *Instrumentation) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	c := &call{method: i.lookup(info.FullMethodName), carrier: incomingCarrier{ctx}}
	// One key at a time: metadata.FromIncomingContext copies the whole map.
	incoming := ""
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDKey); len(v) > 0 {
		incoming = v[0]
	}
	c.id.Begin(ctx, incoming)
	ctx = i.propagator.Extract(&c.id, &c.carrier)
	if c.method != nil {
		ctx, c.span = i.tracer.Start(ctx, c.method.name, c.method.start...)
	} else {
		c.method = i.other
		ctx, c.span = i.tracer.Start(ctx, Other, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			semconv.RPCSystemNameGRPC, semconv.RPCMethod(Other), semconv.RPCMethodOriginal(clip.String(info.FullMethodName, MaxMethodOriginal))))
	}
	c.carrier = incomingCarrier{}
	c.Context = ctx
	return c
}

// HandleRPC ends a call at its stats.End: the span, the duration and the
// access-log line. It implements stats.Handler.
func (i *Instrumentation) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if s.IsClient() {
		return
	}
	end, ok := s.(*stats.End)
	if !ok {
		if _, ok := s.(*stats.Begin); ok {
			i.active.Add(1)
		}
		return
	}
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		return
	}
	i.active.Add(-1)
	code := status.Code(end.Error)
	d := end.EndTime.Sub(end.BeginTime)
	i.duration.Record(ctx, d.Seconds(), c.method.seriesOf(code)...)
	if c.span.IsRecording() {
		if int(code) < len(codeAttrs) {
			c.span.SetAttributes(codeAttrs[code]...)
		} else {
			c.span.SetAttributes(semconv.RPCResponseStatusCode(codeName(code)))
		}
		if serverError(code) {
			c.span.SetStatus(otelcodes.Error, codeName(code))
		}
	}
	c.span.End() // now is the call's end: HandleRPC runs at it

	level := slog.LevelInfo
	switch {
	case c.method.service == healthService && (code == codes.OK || code == codes.Canceled ||
		code == codes.DeadlineExceeded && c.method.short == "Watch"):
		// A probe every few seconds, a caller leaving, a watcher's deadline:
		// not news. A Check past its deadline is: the checks are slow.
		level = slog.LevelDebug
	case c.method == i.other:
		level = slog.LevelWarn // a method the caller made up is the caller's error
	case serverError(code):
		level = slog.LevelError
	case code != codes.OK:
		level = slog.LevelWarn
	}
	if !i.logger.Enabled(ctx, level) {
		return
	}
	peerAddr, ok := ctx.Value(peerKey{}).(string)
	if !ok {
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			peerAddr = p.Addr.String()
		}
	}
	attrs := [...]slog.Attr{
		slog.String("rpc_service", c.method.service),
		slog.String("rpc_method", c.method.short),
		slog.String("code", codeName(code)),
		slog.Float64("duration", d.Seconds()),
		slog.String("peer", peerAddr),
		{}, // error, for a failed call
	}
	n := len(attrs) - 1
	if code != codes.OK {
		attrs[n] = slog.String("error", clip.String(status.Convert(end.Error).Message(), MaxErrorText))
		n++
	}
	i.logger.LogAttrs(ctx, level, "rpc", attrs[:n]...)
}

// TagConn formats the connection's peer address once, for the access
// lines of its calls. It implements stats.Handler.
func (i *Instrumentation) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	if info.RemoteAddr == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, info.RemoteAddr.String())
}

// HandleConn implements stats.Handler; connections are not measured.
func (i *Instrumentation) HandleConn(context.Context, stats.ConnStats) {}

// codeName is c's name in the specification, the rpc.response.status_code
// value.
func codeName(c codes.Code) string { return grpccodes.Name(c) }

// serverError reports the codes that the semantic conventions count as
// the server's errors.
func serverError(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// echo sets the x-request-id header of the call of ctx to its request id,
// through set (grpc.SetHeader or a stream's SetHeader). The metadata it
// passes is pooled: grpc-go merges it into the stream's own header
// (metadata.Join) and keeps none of it; a test checks that concurrent
// calls each get their own id back.
func echo(ctx context.Context, set func(metadata.MD) error) {
	md := headers.Get().(metadata.MD)
	md[RequestIDKey][0] = logging.RequestID(ctx)
	_ = set(md)
	md[RequestIDKey][0] = ""
	headers.Put(md)
}

// headers pools the one-key metadata of echo.
var headers = sync.Pool{New: func() any { return metadata.MD{RequestIDKey: make([]string, 1)} }}

// unary recovers a handler's panic and echoes the request id.
func (i *Instrumentation) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	echo(ctx, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) })
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, i.recovered(ctx, info.FullMethod, r)
		}
	}()
	return handler(ctx, req)
}

// stream recovers a stream handler's panic and echoes the request id.
func (i *Instrumentation) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	echo(ss.Context(), ss.SetHeader)
	defer func() {
		if r := recover(); r != nil {
			err = i.recovered(ss.Context(), info.FullMethod, r)
		}
	}()
	return handler(srv, ss)
}

// recovered logs and counts a panic and returns the Internal status the
// client gets; the panic's value is logged (through the redacting logger),
// never sent.
func (i *Instrumentation) recovered(ctx context.Context, full string, r any) error {
	m := i.lookup(full)
	if m == nil {
		m = i.other
	}
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		c.span.RecordError(fmt.Errorf("panic: %v", r), trace.WithStackTrace(false))
	}
	i.panics.Add(ctx, 1, metric.WithAttributes(semconv.RPCSystemNameGRPC, semconv.RPCMethod(m.name)))
	i.logger.LogAttrs(ctx, slog.LevelError, "rpc handler panicked",
		slog.String("rpc_service", m.service),
		slog.String("rpc_method", m.short),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())),
	)
	return status.Error(codes.Internal, "internal error")
}

// incomingCarrier reads the trace context from the incoming metadata of
// its context, one key at a time.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set does nothing: the carrier is only read.
func (c incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	return keys
}
