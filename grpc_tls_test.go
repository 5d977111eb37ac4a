package operable_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/testserver"
)

// TestGRPCServesTLSWithTheAppCertificate: with TLS_CERT_FILE, the gRPC
// listener serves TLS with the app listener's certificate; a plaintext
// client is refused.
func TestGRPCServesTLSWithTheAppCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testserver.NewCA(t, "ca")
	ca.Issue(t, dir, 100)
	s, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0",
		"TLS_CERT_FILE", filepath.Join(dir, "tls.crt"), "TLS_KEY_FILE", filepath.Join(dir, "tls.key"))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	defer func() { s.Stop(); <-done }()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	check := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	var tlsErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if tlsErr = check(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})); tlsErr == nil {
			break
		}
	}
	if tlsErr != nil {
		t.Fatalf("Check over TLS = %v", tlsErr)
	}
	if err := check(insecure.NewCredentials()); err == nil {
		t.Error("a plaintext client was served by the TLS listener")
	}
}
