package kubescore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deploy is the service template's deploy/ directory; deploys are every
// template's.
var (
	deploy  = filepath.Join("..", "..", "examples", "service", "deploy")
	deploys = []string{deploy, filepath.Join("..", "..", "examples", "worker", "deploy")}
)

// kubeVersion is the Kubernetes release the checks judge against: the
// newest whose API these k8s.io modules (v0.33) know.
const kubeVersion = "v1.33"

var overlays = []string{"development", "staging", "production"}

// TestKubeScore: no critical finding and no warning on any overlay.
func TestKubeScore(t *testing.T) {
	all := deploys
	// The templates OPERABLE_TEMPLATE_DIRS adds (../README.md), as the
	// parent module's checks read them.
	for _, dir := range filepath.SplitList(os.Getenv("OPERABLE_TEMPLATE_DIRS")) {
		if dir != "" {
			all = append(all, filepath.Join(dir, "deploy"))
		}
	}
	for _, d := range all {
		for _, env := range overlays {
			t.Run(filepath.Base(filepath.Dir(d))+"/"+env, func(t *testing.T) {
				critical, warnings, err := Score(filepath.Join(d, "overlays", env), kubeVersion)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range critical {
					t.Error("critical:", c)
				}
				for _, w := range warnings {
					t.Error("warning:", w)
				}
			})
		}
	}
}

// TestKubeScoreRefusesABrokenCopy shows that the check can fail: a copy of
// deploy/ whose container lost its securityContext, resources and
// readiness probe has critical findings.
func TestKubeScoreRefusesABrokenCopy(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(deploy)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "base", "deployment.yaml")
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(dt)
	cut := func(from, to string) {
		i, j := strings.Index(s, from), strings.Index(s, to)
		if i < 0 || j < i {
			t.Fatalf("deployment.yaml has no %q before %q", from, to)
		}
		s = s[:i] + s[j:]
	}
	cut("          readinessProbe:", "          resources:")
	cut("          securityContext:\n            runAsNonRoot", "          volumeMounts:")
	for _, env := range overlays {
		// The overlays' resource patches would put resources back.
		if err := os.WriteFile(filepath.Join(dir, "overlays", env, "resources.yaml"), []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: example\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = strings.Replace(s, "          resources:", "          x-resources:", 1)
	s = cutBlock(s, "          x-resources:")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	critical, _, err := Score(filepath.Join(dir, "overlays", "production"), kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"container-resources", "container-security-context-readonlyrootfilesystem", "pod-probes"} {
		found := false
		for _, c := range critical {
			found = found || strings.Contains(c, want)
		}
		if !found {
			t.Errorf("kube-score found no critical %s on the broken copy; critical findings:\n%s", want, strings.Join(critical, "\n"))
		}
	}
}

// cutBlock removes the line starting with head and the lines indented
// deeper than it.
func cutBlock(s, head string) string {
	lines := strings.Split(s, "\n")
	var out []string
	indent := -1
	for _, l := range lines {
		if indent >= 0 {
			if strings.TrimSpace(l) == "" || len(l)-len(strings.TrimLeft(l, " ")) > indent {
				continue
			}
			indent = -1
		}
		if strings.HasPrefix(l, head) {
			indent = len(head) - len(strings.TrimLeft(head, " "))
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
