package operable

import (
	"errors"
	"io"
	"net"
	"testing"

	"go.uber.org/goleak"
)

// TestGRPCStartupFailureReleasesTheListener: with GRPC_ADDR, New failing
// after the grpc step or any later one leaves no goroutine and frees the
// port (startup_test's every-step test runs without GRPC_ADDR).
func TestGRPCStartupFailureReleasesTheListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "GRPC_ADDR": addr}
	after := false
	for _, st := range steps {
		after = after || st.name == "grpc"
		if !after {
			continue
		}
		t.Run("after "+st.name, func(t *testing.T) {
			baseline := goleak.IgnoreCurrent()
			s, err := build(t.Context(), Options{Environ: env, Stdout: io.Discard}, st.name)
			if !errors.Is(err, errInjected) || s != nil {
				t.Fatalf("build = %v, %v", s, err)
			}
			if err := goleak.Find(baseline); err != nil {
				t.Errorf("goroutines left behind: %v", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the gRPC port is still held: %v", err)
			}
			_ = ln.Close()
		})
	}
}
