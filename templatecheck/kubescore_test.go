package templatecheck

import (
	"os"
	"os/exec"
	"testing"
)

// TestKubeScore runs the kubescore module's tests (kube-score on every
// overlay, no critical finding and no warning, and its refusal of a broken
// copy), so that `go test ./...` here covers them: the module is apart
// because kube-score v1.20.0 builds only with k8s.io/api and apimachinery
// v0.33 (kubescore/kubescore.go says why), and ./... stops at its go.mod.
func TestKubeScore(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: cd kubescore && go test ./...")
	}
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = "kubescore"
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cd kubescore && go test ./...: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
