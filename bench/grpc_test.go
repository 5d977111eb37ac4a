package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/grpcclient"
	"github.com/operable-go/operable/grpcserver"
)

type echoService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (echoService) UnaryCall(_ context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// BenchmarkGRPCUnary is one unary call over loopback, the same work for
// each: a server span from the SDK's tracer provider (no exporter), the
// RPC duration histogram, one JSON access line to io.Discard, panic
// recovery. "operable" is package grpcserver; "peers" is otelgrpc's stats
// handler with go-grpc-middleware v2's logging and recovery interceptors,
// and "peers+request-id" the same with the request id ours makes and echoes
// (requestIDInterceptor and the logger's field), which the peers do
// not: the same work as ours; "bare+empty-stats-handler" is what grpc-go itself spends on a server with
// any stats handler, both instrumentations' included.
func BenchmarkGRPCUnary(b *testing.B) {
	newProviders := func() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
		return sdktrace.NewTracerProvider(), sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	b.Run("bare", func(b *testing.B) {
		srv := grpc.NewServer()
		testgrpc.RegisterTestServiceServer(srv, echoService{})
		benchUnary(b, srv)
	})
	b.Run("bare+empty-stats-handler", func(b *testing.B) {
		srv := grpc.NewServer(grpc.StatsHandler(emptyStatsHandler{}))
		testgrpc.RegisterTestServiceServer(srv, echoService{})
		benchUnary(b, srv)
	})
	b.Run("operable", func(b *testing.B) {
		tp, mp := newProviders()
		inst, err := grpcserver.New(grpcserver.Options{Logger: logger, TracerProvider: tp, MeterProvider: mp})
		if err != nil {
			b.Fatal(err)
		}
		srv := grpc.NewServer(inst.ServerOptions()...)
		testgrpc.RegisterTestServiceServer(srv, echoService{})
		inst.LearnMethods(srv)
		benchUnary(b, srv)
	})
	peers := func(b *testing.B, withRequestID bool) {
		tp, mp := newProviders()
		l := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
			logger.Log(ctx, slog.Level(lvl), msg, fields...)
		})
		logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
		var chain []grpc.UnaryServerInterceptor
		if withRequestID {
			logOpts = append(logOpts, logging.WithFieldsFromContext(func(ctx context.Context) logging.Fields {
				return logging.Fields{"request_id", requestIDOf(ctx)}
			}))
			chain = append(chain, requestIDInterceptor)
		}
		chain = append(chain, logging.UnaryServerInterceptor(l, logOpts...), recovery.UnaryServerInterceptor())
		srv := grpc.NewServer(
			grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp))),
			grpc.ChainUnaryInterceptor(chain...),
		)
		testgrpc.RegisterTestServiceServer(srv, echoService{})
		benchUnary(b, srv)
	}
	b.Run("peers", func(b *testing.B) { peers(b, false) })
	b.Run("peers+request-id", func(b *testing.B) { peers(b, true) })
}

// requestIDInterceptor is the request id a hand-wired service adds to
// the peers to do what grpcserver does: the caller's x-request-id kept (read
// by key, not by copying the metadata) or 24 hex digits made, put in the
// context for the access line, and echoed in the response header.
func requestIDInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	id := ""
	if v := metadata.ValueFromIncomingContext(ctx, "x-request-id"); len(v) > 0 {
		id = v[0]
	}
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
	return handler(context.WithValue(ctx, requestIDKey{}, id), req)
}

type requestIDKey struct{}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// emptyStatsHandler does nothing: what grpc-go itself spends on a server
// with any stats handler (the events it builds, the metadata it copies).
type emptyStatsHandler struct{}

func (emptyStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (emptyStatsHandler) HandleRPC(context.Context, stats.RPCStats)                       {}
func (emptyStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (emptyStatsHandler) HandleConn(context.Context, stats.ConnStats) {}

func benchUnary(b *testing.B, srv *grpc.Server) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := testgrpc.NewTestServiceClient(conn)
	req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGRPCClientUnary is one unary call over loopback to a bare
// server, the client's side instrumented, the same work for each: a client
// span from the SDK's tracer provider (no exporter) whose W3C context goes
// out in the metadata, and the client RPC duration histogram. "operable"
// is package grpcclient with no default timeout (the same work);
// "+timeout" adds its default timeout (a context.WithTimeout per call),
// "+breaker" its breaker; "peers" is otelgrpc's client stats handler.
func BenchmarkGRPCClientUnary(b *testing.B) {
	newProviders := func() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
		return sdktrace.NewTracerProvider(), sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	}
	operable := func(b *testing.B, withTimeout, withBreaker bool) []grpc.DialOption {
		tp, mp := newProviders()
		opts := grpcclient.Options{TracerProvider: tp, MeterProvider: mp, Timeout: -1}
		if withTimeout {
			opts.Timeout = grpcclient.DefaultTimeout
		}
		if withBreaker {
			br, err := breaker.New("bench", breaker.Settings{}, breaker.Options{})
			if err != nil {
				b.Fatal(err)
			}
			opts.Breaker = br
		}
		inst, err := grpcclient.New(opts)
		if err != nil {
			b.Fatal(err)
		}
		return inst.DialOptions()
	}
	b.Run("bare", func(b *testing.B) { benchClientUnary(b) })
	b.Run("operable", func(b *testing.B) { benchClientUnary(b, operable(b, false, false)...) })
	b.Run("operable+timeout", func(b *testing.B) { benchClientUnary(b, operable(b, true, false)...) })
	b.Run("operable+timeout+breaker", func(b *testing.B) { benchClientUnary(b, operable(b, true, true)...) })
	b.Run("peers", func(b *testing.B) {
		tp, mp := newProviders()
		benchClientUnary(b, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp))))
	})
}

func benchClientUnary(b *testing.B, opts ...grpc.DialOption) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, echoService{})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()
	conn, err := grpc.NewClient(ln.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := testgrpc.NewTestServiceClient(conn)
	req := &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// streamService sends one message per response parameter.
type streamService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (streamService) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	for range req.GetResponseParameters() {
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkGRPCClientStream is one server stream of two messages over
// loopback, read to its end, from a bare client, one with package
// grpcclient (no default timeout: streams get none), and one with its
// breaker too, which lets the stream in at its opening and counts its
// final status at its end.
func BenchmarkGRPCClientStream(b *testing.B) {
	operable := func(b *testing.B, withBreaker bool) []grpc.DialOption {
		opts := grpcclient.Options{TracerProvider: sdktrace.NewTracerProvider(),
			MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))}
		if withBreaker {
			br, err := breaker.New("bench", breaker.Settings{}, breaker.Options{})
			if err != nil {
				b.Fatal(err)
			}
			opts.Breaker = br
		}
		inst, err := grpcclient.New(opts)
		if err != nil {
			b.Fatal(err)
		}
		return inst.DialOptions()
	}
	b.Run("bare", func(b *testing.B) { benchClientStream(b) })
	b.Run("operable", func(b *testing.B) { benchClientStream(b, operable(b, false)...) })
	b.Run("operable+breaker", func(b *testing.B) { benchClientStream(b, operable(b, true)...) })
}

func benchClientStream(b *testing.B, opts ...grpc.DialOption) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, streamService{})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()
	conn, err := grpc.NewClient(ln.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := testgrpc.NewTestServiceClient(conn)
	req := &testgrpc.StreamingOutputCallRequest{ResponseParameters: make([]*testgrpc.ResponseParameters, 2)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.StreamingOutputCall(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := s.Recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
