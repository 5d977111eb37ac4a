package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/testserver"
)

// TestTLSRotationReachesCurlWithNoRestart: the example serves its app
// listener over TLS from TLS_CERT_FILE and TLS_KEY_FILE; after the files
// are rotated to a certificate from another CA, curl trusting only the
// new CA gets an answer from the same process.
func TestTLSRotationReachesCurlWithNoRestart(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl here") // Debian's curl; the root package checks the rotation with Go's client too
	}
	certs := t.TempDir()
	caA, caB := testserver.NewCA(t, "ca-a"), testserver.NewCA(t, "ca-b")
	caA.Issue(t, certs, 1)
	p := start(t, "TLS_CERT_FILE="+filepath.Join(certs, "tls.crt"), "TLS_KEY_FILE="+filepath.Join(certs, "tls.key"))
	url := strings.Replace(p.AppURL, "http://", "https://", 1) + "/hello"
	fetch := func(ca string) (string, error) {
		out, err := exec.Command(curl, "-sS", "--max-time", "5", "--cacert", ca, url).CombinedOutput()
		return string(out), err
	}
	caAFile, caBFile := caA.WriteCA(t, t.TempDir()), caB.WriteCA(t, t.TempDir())
	if out, err := fetch(caAFile); err != nil || !strings.Contains(out, `"message"`) {
		t.Fatalf("curl before the rotation: %v %s", err, out)
	}
	pid := p.PID()
	caB.Issue(t, certs, 2)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out, err := fetch(caBFile); err == nil && strings.Contains(out, `"message"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("curl trusting the new CA never got an answer")
		}
	}
	if _, err := fetch(caAFile); err == nil {
		t.Error("curl trusting only the old CA still got an answer after the rotation")
	}
	if p.PID() != pid {
		t.Error("the process changed")
	}
	p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "TLS certificate reloaded" })
}
