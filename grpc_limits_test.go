package operable_test

import (
	"context"
	"errors"
	"io"
	"strings"
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
)

// TestGRPCMaxConnectionsHoldsTheNextUntilOneCloses: with
// GRPC_MAX_CONNECTIONS=2, two connections are served and a third is not
// until one of the two closes, then it is; reaching the bound is logged.
func TestGRPCMaxConnectionsHoldsTheNextUntilOneCloses(t *testing.T) {
	g := startGRPC(t, "GRPC_MAX_CONNECTIONS", "2") // g.conn is the first
	check := func(conn *grpc.ClientConn, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		return err
	}
	dialed := func() *grpc.ClientConn {
		conn, err := grpc.NewClient(g.s.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	second, third := dialed(), dialed()
	if err := check(second, 5*time.Second); err != nil {
		t.Fatalf("the second connection = %v, want served", err)
	}
	if err := check(third, 500*time.Millisecond); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("the third connection = %v, want held (DeadlineExceeded)", err)
	}
	// The held caller sees nothing but a wait: the log says why, once.
	if log := g.out.String(); strings.Count(log, `"msg":"connection limit reached: new connections wait until one closes"`) != 1 ||
		!strings.Contains(log, `"listener":"grpc","open":2,"limit":2`) {
		t.Errorf("the log has no single line saying the limit is reached:\n%s", log)
	}
	if err := g.conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := check(third, 10*time.Second); err != nil {
		t.Errorf("the third connection once the first closed = %v, want served", err)
	}
	if err := check(second, 5*time.Second); err != nil {
		t.Errorf("the second connection = %v, want still served", err)
	}
}

// TestGRPCMaxConnectionsMayNotBeNegative: a negative bound is a config
// problem naming the variable; 0 (no bound) is allowed.
func TestGRPCMaxConnectionsMayNotBeNegative(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{{"-1", false}, {"0", true}, {"1", true}} {
		s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
			Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0", "GRPC_MAX_CONNECTIONS", tt.value)})
		var cerr *config.Error
		switch {
		case tt.ok && err != nil:
			t.Errorf("GRPC_MAX_CONNECTIONS=%s: New = %v, want a service", tt.value, err)
		case !tt.ok && (!errors.As(err, &cerr) || !strings.Contains(err.Error(), "GRPC_MAX_CONNECTIONS")):
			t.Errorf("GRPC_MAX_CONNECTIONS=%s: New = %v, want a config problem naming it", tt.value, err)
		}
		if s != nil {
			if err := s.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestGRPCMetadataOverItsBoundIsRefused: GRPC_MAX_HEADER_LIST_SIZE bounds a
// call's metadata: a call within it is served, one over it is refused
// (the server advertises the bound in its HTTP/2 settings, and drops a
// header list over it unread), and the server goes on serving.
func TestGRPCMetadataOverItsBoundIsRefused(t *testing.T) {
	g := startGRPC(t, "GRPC_MAX_HEADER_LIST_SIZE", "8192")
	client := testgrpc.NewTestServiceClient(g.conn)
	callWith := func(n int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "x-padding", strings.Repeat("p", n))
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true))
		return err
	}
	if err := callWith(1024); err != nil {
		t.Fatalf("1 KiB of metadata under an 8 KiB bound = %v, want served", err)
	}
	if err := callWith(64 << 10); status.Code(err) == codes.OK {
		t.Fatal("64 KiB of metadata over an 8 KiB bound was served")
	}
	if err := callWith(1024); err != nil {
		t.Errorf("a call within the bound after the refused one = %v, want served", err)
	}
}

// TestGRPCMetadataBoundMustFitHTTP2: GRPC_MAX_HEADER_LIST_SIZE must be
// positive and fit HTTP/2's 32-bit setting; the problem names the
// variable.
func TestGRPCMetadataBoundMustFitHTTP2(t *testing.T) {
	for _, value := range []string{"0", "-1", "4294967296"} {
		s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
			Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0", "GRPC_MAX_HEADER_LIST_SIZE", value)})
		var cerr *config.Error
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "GRPC_MAX_HEADER_LIST_SIZE") {
			t.Errorf("GRPC_MAX_HEADER_LIST_SIZE=%s: New = %v, want a config problem naming it", value, err)
		}
		if s != nil {
			_ = s.Close(context.Background())
		}
	}
}
