package templatecheck

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

var (
	workflow = filepath.Join(serviceDir, ".github", "workflows", "ci.yaml")
	scripts  = []string{
		filepath.Join(root, "scripts", "pin-images.sh"),
		filepath.Join(root, "scripts", "protoc.sh"),
		filepath.Join(root, "scripts", "shellcheck.sh"),
		filepath.Join(deployDir, "rollout.sh"),
	}
)

func shellcheck(t *testing.T) string {
	t.Helper()
	sc, err := Shellcheck()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestWorkflow: each template's workflow passes actionlint with
// shellcheck, uses the files it must, and has every step of the pipeline.
func TestWorkflow(t *testing.T) {
	sc := shellcheck(t)
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		wf := filepath.Join(tm.Dir(), ".github", "workflows", "ci.yaml")
		findings, err := LintWorkflow(wf, sc)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Error(f)
		}
		// Every file the workflow runs is there.
		dt, err := os.ReadFile(wf)
		if err != nil {
			t.Fatal(err)
		}
		uses := []string{path.Join(tm.Pkg, "Dockerfile"), path.Join(tm.Pkg, "deploy/rollout.sh")}
		if inSDK(tm.Root) {
			uses = append(uses, "scripts/pin-images.sh", "templatecheck", "cmd/operable")
		}
		for _, f := range uses {
			if !strings.Contains(string(dt), strings.TrimPrefix(f, "./")) {
				t.Errorf("the workflow does not use %s", f)
			}
			if _, err := os.Stat(filepath.Join(tm.Root, f)); err != nil {
				t.Error(err)
			}
		}
		for _, step := range []string{"go test -race", "govulncheck", "gosec", "gitleaks", "staticcheck", "trivy", "$IMAGE_NAME:$GITHUB_SHA", "environment: production", "rollout undo", "audit"} {
			if !strings.Contains(string(dt), step) {
				t.Errorf("the workflow has no %s", step)
			}
		}
	})
}

// inSDK reports whether root is the SDK's module root.
func inSDK(root string) bool {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	return err == nil && strings.HasPrefix(string(mod), "module "+sdkModule+"\n")
}

func TestScripts(t *testing.T) {
	if err := ShellcheckScripts(shellcheck(t), scripts...); err != nil {
		t.Error(err)
	}
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		own := []string{filepath.Join(tm.Deploy(), "rollout.sh")}
		if !inSDK(tm.Root) {
			// A generated project's own scripts (operable new writes
			// scripts/protoc.sh beside a .proto).
			more, err := filepath.Glob(filepath.Join(tm.Root, "scripts", "*.sh"))
			if err != nil {
				t.Fatal(err)
			}
			own = append(own, more...)
		}
		if err := ShellcheckScripts(shellcheck(t), own...); err != nil {
			t.Error(err)
		}
	})
}

func TestBrokenWorkflow(t *testing.T) {
	sc := shellcheck(t)
	for _, tc := range []struct{ name, old, new, want string }{
		{"a shell bug in a run step", `docker tag "$IMAGE_NAME:$GITHUB_SHA" "$target"`, `docker tag $IMAGE_NAME:$GITHUB_SHA $target`, "shellcheck reported issue"},
		{"an unknown job key", "    runs-on: ubuntu-24.04\n    environment: staging", "    runs-on: ubuntu-24.04\n    enviroment: staging", `unexpected key "enviroment"`},
		{"an undefined job output", "needs.image.outputs.ref }}\n        run: examples/service/deploy/rollout.sh staging", "needs.image.outputs.digest }}\n        run: examples/service/deploy/rollout.sh staging", `property "digest" is not defined`},
		{"untrusted input in a script", `echo "ref=$target@$digest" >>"$GITHUB_OUTPUT"`, `echo "${{ github.event.pull_request.title }}"`, "potentially untrusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dt, err := os.ReadFile(workflow)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(dt), tc.old) {
				t.Fatalf("ci.yaml has no %q to break", tc.old)
			}
			p := filepath.Join(dir, "ci.yaml")
			if err := os.WriteFile(p, []byte(strings.Replace(string(dt), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			findings, err := LintWorkflow(p, sc)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(findings, "\n"), tc.want) {
				t.Errorf("actionlint did not find %q; findings:\n%s", tc.want, strings.Join(findings, "\n"))
			}
		})
	}
	t.Run("a shell bug in a script", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "rollout.sh")
		dt, err := os.ReadFile(filepath.Join(deployDir, "rollout.sh"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(dt), `kubectl apply -k "$work"`, `kubectl apply -k $work`, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ShellcheckScripts(sc, p); err == nil || !strings.Contains(err.Error(), "SC2086") {
			t.Errorf("shellcheck on an unquoted variable = %v; want SC2086", err)
		}
	})
}
