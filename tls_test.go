package operable_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
)

// TestTLSCertificatesRotateWithoutARestart: both listeners serve TLS from
// their files; after the files are rotated to a certificate from another
// CA, Go's TLS client and curl get the new one, with no restart; a rotation
// to a broken pair keeps the last good certificate and warns.
func TestTLSCertificatesRotateWithoutARestart(t *testing.T) {
	dir, adminDir := t.TempDir(), t.TempDir()
	caA, caB := testserver.NewCA(t, "ca-a"), testserver.NewCA(t, "ca-b")
	caA.Issue(t, dir, 100)
	caA.Issue(t, adminDir, 200)
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Stdout: &out, Environ: loopbackEnv(
		"TLS_CERT_FILE", filepath.Join(dir, "tls.crt"), "TLS_KEY_FILE", filepath.Join(dir, "tls.key"),
		"ADMIN_TLS_CERT_FILE", filepath.Join(adminDir, "tls.crt"), "ADMIN_TLS_KEY_FILE", filepath.Join(adminDir, "tls.key"))})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /hi", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) })
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	addrs := map[string]string{}
	re := regexp.MustCompile(`"listener":"(\w+)","addr":"([^"]+)","scheme":"https"`)
	for deadline := time.Now().Add(5 * time.Second); len(addrs) < 2; time.Sleep(5 * time.Millisecond) {
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			addrs[m[1]] = m[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no https listening lines:\n%s", out.String())
		}
	}
	// serial makes a new connection to addr and returns the certificate's
	// serial, verified against ca.
	serial := func(addr string, ca *testserver.CA) (int64, error) {
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert)
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
	}
	if n, err := serial(addrs["app"], caA); n != 100 || err != nil {
		t.Fatalf("app certificate %d, %v; want serial 100", n, err)
	}
	if n, err := serial(addrs["admin"], caA); n != 200 || err != nil {
		t.Fatalf("admin certificate %d, %v; want serial 200", n, err)
	}
	if _, err := tls.Dial("tcp", addrs["app"], &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}

	caB.Issue(t, dir, 101)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, err := serial(addrs["app"], caB); n == 101 && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated certificate is not served:\n%s", out.String())
		}
	}
	caFile := caB.WriteCA(t, t.TempDir())
	if curl, err := exec.LookPath("curl"); err == nil {
		got, err := exec.Command(curl, "-sS", "--cacert", caFile, "https://"+addrs["app"]+"/hi").CombinedOutput()
		if err != nil || string(got) != "HTTP/2.0" {
			t.Errorf("curl with the new CA: %v %s, want HTTP/2.0", err, got)
		}
	} else {
		t.Log("no curl here: Go's client checked the rotation alone")
	}

	// A broken pair (a certificate of CA B, the key of another) keeps 101.
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "TLS certificate not reloaded"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning for the broken pair:\n%s", out.String())
		}
	}
	if n, err := serial(addrs["app"], caB); n != 101 || err != nil {
		t.Errorf("after a broken rotation: %d, %v; want the last good certificate, 101", n, err)
	}
	if r, ok := s.Health().Lookup(context.Background(), "tls-app"); !ok || r.Err == nil {
		t.Errorf("tls-app check = %+v, want it warning", r)
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestBadTLSFilesAreConfigurationProblems: a missing or unreadable pair,
// half a pair, or a file over the 1 MiB bound (an endless one included),
// stops start-up with exit code 78 naming the variable.
func TestBadTLSFilesAreConfigurationProblems(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	for _, env := range [][]string{
		{"TLS_CERT_FILE", filepath.Join(dir, "missing.crt"), "TLS_KEY_FILE", filepath.Join(dir, "missing.key")},
		{"ADMIN_TLS_CERT_FILE", garbage, "ADMIN_TLS_KEY_FILE", garbage},
		{"TLS_CERT_FILE", garbage},
		{"TLS_CERT_FILE", "/dev/zero", "TLS_KEY_FILE", "/dev/zero"},
	} {
		_, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv(env...)})
		if operable.ExitCode(err) != 78 || !strings.Contains(err.Error(), env[0]) && !strings.Contains(err.Error(), "TLS_KEY_FILE") {
			t.Errorf("%v: %v, want a configuration problem naming the variable", env, err)
		}
	}
}

// TestTLSKeyInAnotherDirectoryIsWatchedToo: with the key kept apart from
// its certificate, a rotation that puts the certificate in place first
// (the pair broken for a moment) and the key second is served once the
// key lands: the key's directory is watched as well.
func TestTLSKeyInAnotherDirectoryIsWatchedToo(t *testing.T) {
	certDir, keyDir, staging := t.TempDir(), t.TempDir(), t.TempDir()
	ca := testserver.NewCA(t, "ca")
	place := func(file, dst string) {
		t.Helper()
		if err := os.Rename(filepath.Join(staging, file), filepath.Join(dst, file)); err != nil {
			t.Fatal(err)
		}
	}
	ca.Issue(t, staging, 100)
	place("tls.crt", certDir)
	place("tls.key", keyDir)
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Stdout: &out, Environ: loopbackEnv(
		"TLS_CERT_FILE", filepath.Join(certDir, "tls.crt"), "TLS_KEY_FILE", filepath.Join(keyDir, "tls.key"))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	re := regexp.MustCompile(`"listener":"app","addr":"([^"]+)","scheme":"https"`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no https listening line:\n%s", out.String())
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			return 0
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	time.Sleep(300 * time.Millisecond) // the watch is set up
	ca.Issue(t, staging, 101)
	place("tls.crt", certDir)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "TLS certificate not reloaded"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the half-rotated pair was not seen:\n%s", out.String())
		}
	}
	place("tls.key", keyDir)
	for deadline := time.Now().Add(5 * time.Second); serial() != 101; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the key renamed into its own directory was not seen:\n%s", out.String())
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
