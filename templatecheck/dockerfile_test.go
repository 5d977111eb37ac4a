package templatecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root: this module lives in templatecheck/.
const root = ".."

var (
	serviceDir = filepath.Join(root, "examples", "service")
	dockerfile = filepath.Join(serviceDir, "Dockerfile")
)

func TestDockerfileLint(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		warnings, err := LintDockerfile(tm.Dockerfile())
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range warnings {
			t.Error(w)
		}
	})
}

func TestDockerfileRules(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		goVersion, err := GoVersion(filepath.Join(tm.Root, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range CheckDockerfile(tm.Dockerfile(), goVersion) {
			t.Error(err)
		}
	})
}

// TestDockerfileExposesTheListeners: EXPOSE names the contract's two
// ports, a worker's only the admin one.
func TestDockerfileExposesTheListeners(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, kind Kind) {
		c, err := LoadContract(root, tm)
		if err != nil {
			t.Fatal(err)
		}
		img, err := RuntimeImage(tm.Dockerfile())
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckExposed(img, c, kind); err != nil {
			t.Error(err)
		}
		for _, wrong := range [][]int{{8080, 9091}, {9091}, {8080, 9090, 9091}} {
			img.Exposed = wrong
			if err := CheckExposed(img, c, kind); err == nil {
				t.Errorf("CheckExposed accepted EXPOSE %v for a %s", wrong, kind)
			}
		}
	})
	// The other kind's ports are wrong.
	c, err := LoadContract(root, serviceTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if CheckExposed(Image{Exposed: []int{9090}}, c, Server) == nil || CheckExposed(Image{Exposed: []int{8080, 9090}}, c, Worker) == nil {
		t.Error("CheckExposed accepted a server exposing only its admin port, or a worker exposing its app port")
	}
}

func TestDockerignore(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		dir := tm.Dir()
		for _, err := range CheckDockerignore(tm.Dockerfile(), filepath.Join(dir, "Dockerfile.dockerignore"), filepath.Join(dir, ".dockerignore"), tm.Root, tm.Pkg) {
			t.Error(err)
		}
	})
}

func TestCheckImageRef(t *testing.T) {
	const real = "sha256:4c6fd6b2e5a1b2f8a0a39bd7c2d2f6a9e1c8b7d4f3e2a1908f7e6d5c4b3a2918"
	for ref, want := range map[string]string{
		"scratch":                                 "",
		"golang:1.26.8-bookworm":                  "",
		"golang:1.26.8":                           "",
		"golang:1.26.8-bookworm@" + real:          "",
		"gcr.io/distroless/static-debian12:1.2.3": "",
		"golang":                          "no tag",
		"golang:latest":                   "not an exact version",
		"golang:1.26":                     "not an exact version",
		"golang:bookworm":                 "not an exact version",
		"postgres:17.6":                   "",
		"postgres:17.6-bookworm":          "",
		"docker.io/library/postgres:17.6": "",
		"postgres:17":                     "not an exact version",
		"postgres:latest":                 "not an exact version",
		"postgres:9.6":                    "not an exact version",
		"gcr.io/distroless/static-debian12:nonroot":                            "not an exact version",
		"localhost:5000/golang":                                                "no tag",
		"golang:1.26.8@sha256:<digest>":                                        "64 lower-case hex",
		"golang:1.26.8@sha256:abc":                                             "64 lower-case hex",
		"golang:1.26.8@sha256:" + strings.Repeat("0", 64):                      "made up",
		"golang:1.26.8@sha256:" + strings.Repeat("0123456789abcdef", 4):        "made up",
		"golang:1.26.8@sha256:" + strings.Repeat("deadbeef", 8):                "made up",
		"golang:1.26.8@sha256:" + strings.Repeat("1a2b3c4d5e6f7a8b9c", 4)[:64]: "made up",
	} {
		err := CheckImageRef(ref)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckImageRef(%q) = %v; want nil", ref, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckImageRef(%q) = %v; want an error with %q", ref, err, want)
		}
	}
}

// TestRootBinary: a module root's binary is named as go build names it,
// by the module path's last element, a major version suffix skipped.
func TestRootBinary(t *testing.T) {
	for _, tc := range []struct{ gomod, want string }{
		{"module github.com/acme/orders\n\ngo 1.26.0\n", "orders"},
		{"module github.com/acme/orders/v2\n", "orders"},
		{"// a comment\nmodule \"example.com/x/v10\"\n", "x"},
		{"module v2\n", "v2"},
		{"go 1.26.0\n", "root"},
	} {
		dir := filepath.Join(t.TempDir(), "root")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tc.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := rootBinary(dir); got != tc.want {
			t.Errorf("rootBinary(%q) = %q, want %q", tc.gomod, got, tc.want)
		}
	}
}
