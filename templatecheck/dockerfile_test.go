package templatecheck

import (
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
	warnings, err := LintDockerfile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Error(w)
	}
}

func TestDockerfileRules(t *testing.T) {
	goVersion, err := GoVersion(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range CheckDockerfile(dockerfile, goVersion) {
		t.Error(err)
	}
}

// TestDockerfileExposesTheListeners: EXPOSE names the contract's two
// ports.
func TestDockerfileExposesTheListeners(t *testing.T) {
	c, err := LoadContract(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := RuntimeImage(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExposed(img, c); err != nil {
		t.Error(err)
	}
	img.Exposed = []int{8080, 9091}
	if err := CheckExposed(img, c); err == nil {
		t.Error("CheckExposed accepted EXPOSE 8080 9091")
	}
}

func TestDockerignore(t *testing.T) {
	for _, err := range CheckDockerignore(dockerfile, filepath.Join(serviceDir, "Dockerfile.dockerignore"), filepath.Join(serviceDir, ".dockerignore"), root) {
		t.Error(err)
	}
}

func TestCheckImageRef(t *testing.T) {
	const real = "sha256:4c6fd6b2e5a1b2f8a0a39bd7c2d2f6a9e1c8b7d4f3e2a1908f7e6d5c4b3a2918"
	for ref, want := range map[string]string{
		"scratch":                                 "",
		"golang:1.26.8-bookworm":                  "",
		"golang:1.26.8":                           "",
		"golang:1.26.8-bookworm@" + real:          "",
		"gcr.io/distroless/static-debian12:1.2.3": "",
		"golang":          "no tag",
		"golang:latest":   "not an exact version",
		"golang:1.26":     "not an exact version",
		"golang:bookworm": "not an exact version",
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
