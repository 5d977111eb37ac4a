package templatecheck

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tests run scripts/pin-images.sh on a copy of the Dockerfile with a
// stand-in registry client (crane) on a PATH that has no real one: this
// machine reaches no registry.

func runPin(t *testing.T, crane string, args ...string) (string, error) {
	t.Helper()
	bin := t.TempDir()
	if crane != "" {
		if err := os.WriteFile(filepath.Join(bin, "crane"), []byte("#!/bin/sh\n"+crane+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs(filepath.Join(root, "scripts", "pin-images.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func pinCopy(t *testing.T) (dockerfile string, before []byte) {
	t.Helper()
	dir := copyTemplate(t)
	p, err := filepath.Abs(filepath.Join(dir, df))
	if err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, dt
}

func TestPinImagesWritesTheDigestItReads(t *testing.T) {
	for _, tool := range []string{"docker", "crane", "skopeo", "regctl"} {
		if _, err := exec.LookPath("/usr/bin/" + tool); err == nil {
			t.Skipf("a real %s in /usr/bin would be asked before the stand-in", tool)
		}
	}
	p, before := pinCopy(t)
	// A digest as a registry would answer it: a real sha256.
	want := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("golang:1.26.8-bookworm")))
	if out, err := runPin(t, `[ "$1 $2" = "digest golang:1.26.8-bookworm" ] && echo `+want, p); err != nil {
		t.Fatalf("pin-images.sh: %v\n%s", err, out)
	}
	after, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := "FROM golang:1.26.8-bookworm@" + want + " AS build"
	if !strings.Contains(string(after), wantLine+"\n") {
		t.Errorf("the Dockerfile has no %q after pinning:\n%s", wantLine, after)
	}
	if strings.Replace(string(after), wantLine, "FROM golang:1.26.8-bookworm AS build", 1) != string(before) {
		t.Errorf("pin-images.sh changed more than the FROM line")
	}
	goVersion, _ := GoVersion(filepath.Join(root, "go.mod"))
	for _, err := range CheckDockerfile(p, goVersion) {
		t.Error("the pinned Dockerfile:", err)
	}
	if out, err := runPin(t, "", "--check", p); err != nil {
		t.Errorf("pin-images.sh --check on the pinned Dockerfile: %v\n%s", err, out)
	}
	// Pinning again follows the tag: the old digest is replaced.
	again := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("a newer image")))
	if out, err := runPin(t, "echo "+again, p); err != nil {
		t.Fatalf("pin-images.sh again: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(p); !strings.Contains(string(after), "@"+again+" AS build") || strings.Contains(string(after), want) {
		t.Errorf("a second pin did not replace the digest:\n%s", after)
	}
}

func TestPinImagesNeverInventsADigest(t *testing.T) {
	for name, crane := range map[string]string{
		"no registry client":        "",
		"a registry error":          "echo 'GET https://index.docker.io/v2/: dial tcp: lookup index.docker.io: no such host' >&2; exit 1",
		"an answer that is no hash": "echo 'sha256:<digest>'",
		"a short hash":              "echo sha256:abc123",
	} {
		t.Run(name, func(t *testing.T) {
			p, before := pinCopy(t)
			out, err := runPin(t, crane, p)
			if err == nil {
				t.Errorf("pin-images.sh succeeded:\n%s", out)
			}
			if after, _ := os.ReadFile(p); string(after) != string(before) {
				t.Errorf("pin-images.sh changed the Dockerfile:\n%s", after)
			}
		})
	}
	t.Run("a moving tag", func(t *testing.T) {
		p, _ := pinCopy(t)
		dt, _ := os.ReadFile(p)
		if err := os.WriteFile(p, []byte(strings.Replace(string(dt), "golang:1.26.8-bookworm", "golang:latest", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runPin(t, fmt.Sprintf("echo sha256:%x", sha256.Sum256([]byte("x"))), p)
		if err == nil || !strings.Contains(out, "not an exact version tag") {
			t.Errorf("pin-images.sh on golang:latest = %v\n%s; want a refusal", err, out)
		}
	})
	t.Run("check without digests", func(t *testing.T) {
		p, _ := pinCopy(t)
		out, err := runPin(t, "", "--check", p)
		if err == nil || !strings.Contains(out, "has no digest") {
			t.Errorf("pin-images.sh --check on tags only = %v\n%s; want a failure", err, out)
		}
	})
}
