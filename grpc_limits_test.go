package operable_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
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
// call's metadata. A grpc-go client refuses to send a call over the bound
// the server advertises, which proves only the setting; so the call over it
// is also sent by a raw HTTP/2 client that ignores the setting, and the
// server must not serve it. Calls within the bound are served before and
// after.
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
	if got := rawCallWithMetadata(t, g.s.GRPCAddr().String(), 64<<10); got == "served" {
		t.Error("a raw HTTP/2 call with 64 KiB of metadata over an 8 KiB bound was served")
	}
	if err := callWith(1024); err != nil {
		t.Errorf("a call within the bound after the refused ones = %v, want served", err)
	}
}

// rawCallWithMetadata sends a health Check whose headers carry n bytes of
// padding over a bare HTTP/2 connection, ignoring the server's
// SETTINGS_MAX_HEADER_LIST_SIZE, and says how the server answered: "served"
// (grpc-status 0), "refused" (a reset, a GOAWAY, a non-zero status) or
// "closed".
func rawCallWithMetadata(t *testing.T, addr string, n int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.health.v1.Health/Check"},
		{":authority", addr}, {"content-type", "application/grpc"}, {"te", "trailers"}, {"x-padding", strings.Repeat("p", n)}} {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			t.Fatal(err)
		}
	}
	const chunk = 16 << 10 // the default SETTINGS_MAX_FRAME_SIZE
	b := block.Bytes()
	first := b[:min(chunk, len(b))]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndHeaders: len(b) <= chunk}); err != nil {
		return "closed"
	}
	for rest := b[len(first):]; len(rest) > 0; {
		part := rest[:min(chunk, len(rest))]
		rest = rest[len(part):]
		if err := fr.WriteContinuation(1, len(rest) == 0, part); err != nil {
			return "closed"
		}
	}
	// An empty request message: the five bytes of a gRPC frame's prefix.
	if err := fr.WriteData(1, true, []byte{0, 0, 0, 0, 0}); err != nil {
		return "closed"
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "closed"
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "refused"
		case *http2.MetaHeadersFrame:
			if st := f.PseudoValue("status"); st != "" && st != "200" {
				return "refused"
			}
			for _, h := range f.RegularFields() {
				if h.Name == "grpc-status" {
					if h.Value == "0" {
						return "served"
					}
					return "refused"
				}
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
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
