package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/operable-go/operable/examples"
	"github.com/operable-go/operable/internal/testserver"
)

// sdkRoot is the checkout these tests run in: the generated projects'
// replace directive points at it, so that they build offline.
const sdkRoot = "../.."

// TestNewGeneratesAProjectThatPassesItsOwnTests generates a project from
// the embedded template, then runs in it, as its team would, go mod tidy,
// go vet ./... and go test ./... (its black-box tests of the real process
// included), and the pipeline's go tool operable, and checks that no file names the template's module path or
// service name. With OPERABLE_GENERATED_DIR set, the project is generated
// there (it must be empty or absent) and kept, for templatecheck to check
// its Dockerfile, manifests, compose file and workflow.
func TestNewGeneratesAProjectThatPassesItsOwnTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a whole generated project")
	}
	dir := os.Getenv("OPERABLE_GENERATED_DIR")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "items")
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"new", "-sdk", sdkRoot, "github.com/acme/items", dir}, &out, &errOut); code != 0 {
		t.Fatalf("operable new: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	t.Log(out.String())

	for _, left := range []string{"tls_test.go", "monitoring_test.go", "integration_test.go", "database_test.go"} {
		if _, err := os.Stat(filepath.Join(dir, left)); err == nil {
			t.Errorf("%s, an SDK-only test, was copied", left)
		}
	}
	for _, kept := range []string{"service_test.go", "secondhour_test.go", "readme_test.go", "audit_test.go", "README.md", "RUNBOOK.md", ".github/workflows/ci.yaml", ".dockerignore", "deploy/overlays/production/kustomization.yaml",
		"proto/items/v1/items.proto", "grpc_proto_test.go"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s was not copied: %v", kept, err)
		}
	}
	for _, script := range []string{"deploy/rollout.sh", "scripts/protoc.sh"} {
		if info, err := os.Stat(filepath.Join(dir, script)); err != nil || info.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s is not executable: %v %v", script, info, err)
		}
	}
	// The name where the template's consumers read it.
	for file, want := range map[string]string{
		"go.mod":                           "module github.com/acme/items\n",
		"main.go":                          `Name: "items"`,
		"service_test.go":                  `const pkg = "github.com/acme/items"`,
		"Dockerfile":                       `ENTRYPOINT ["/app/items"]`,
		"compose.yaml":                     "\n  items:\n    build:\n      context: .\n      dockerfile: Dockerfile\n",
		".github/workflows/ci.yaml":        "go tool operable audit",
		"deploy/base/deployment.yaml":      "  name: items\n",
		"deploy/base/kustomization.yaml":   "namespace: items\n",
		"deploy/monitoring/rules.yaml":     "https://github.com/acme/items/blob/main/RUNBOOK.md#",
		"deploy/monitoring/dashboard.json": `"uid": "operable-items"`,
		"RUNBOOK.md":                       "NS=items ",
		".dockerignore":                    "\n/items\n",
		"README.md":                        "go test ./...",
		// The project's own gRPC code generation, which the README tells of.
		"scripts/protoc.sh":  "find proto -name '*.proto'",
		"grpc_proto_test.go": `"scripts", "protoc.sh"`,
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s does not have %q (%v)", file, want, err)
		}
	}
	// The pipeline installs the proto check's tools before the tests, so
	// that the check runs there instead of skipping.
	if wf, err := os.ReadFile(filepath.Join(dir, ".github/workflows/ci.yaml")); err != nil ||
		!strings.Contains(string(wf), "        run: scripts/protoc.sh --install\n      - name: Test with the race detector") {
		t.Errorf("the workflow does not install the protoc tools before its tests (%v)", err)
	}
	err := filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, name)
		text := string(b)
		if strings.Contains(text, templatePath) {
			t.Errorf("%s still names the template's module path %s", rel, templatePath)
		}
		if rel != "go.mod" && rel != "go.sum" && strings.Contains(strings.ReplaceAll(text, templateBlob, ""), "examples/") {
			t.Errorf("%s still names a path under examples/", rel)
		}
		for _, m := range oldNames(text) {
			t.Errorf("%s still names the service %q: ...%s...", rel, templateName, text[max(0, m[0]-30):min(len(text), m[1]+30)])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"mod", "tidy"}, {"vet", "./..."}, {"test", "-count=1", "./..."}, {"tool", "operable", "audit", "-list"}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		// The project's own module, whatever go.work is around.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the generated project: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("go %s:\n%s", strings.Join(args, " "), out)
	}
	pinStepReachesTheSDKsScript(ctx, t, dir)
	protoCheckRegeneratesTheCode(ctx, t, dir)
}

// protoCheckRegeneratesTheCode runs the generated project's
// grpc_proto_test.go, which regenerates proto/'s Go code with the
// project's own scripts/protoc.sh: it passes on the code as generated, and
// fails once a committed file differs from what the script generates. With
// PROTOC_GEN_BIN set (make test: the SDK's scripts/protoc.sh --install), the
// tools are there and the check must run; without it the check may skip,
// saying what is missing.
func protoCheckRegeneratesTheCode(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	bin := os.Getenv("PROTOC_GEN_BIN")
	if bin != "" {
		env = append(env, "CACHE="+filepath.Dir(bin))
	}
	check := func() (string, error) {
		cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-run", "^TestGeneratedGRPCCodeMatchesTheProto$", ".")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := check()
	switch {
	case err != nil:
		t.Fatalf("the generated project's proto check fails on the code as generated: %v\n%s", err, out)
	case strings.Contains(out, "--- SKIP") && bin == "" && strings.Contains(out, "protoc.sh: not installed: "):
		t.Logf("the generated project's proto check skipped, the tools not installed here:\n%s", out)
		return
	case !strings.Contains(out, "--- PASS: TestGeneratedGRPCCodeMatchesTheProto"):
		t.Fatalf("the generated project's proto check did not run:\n%s", out)
	}
	pb := filepath.Join(dir, "proto", "items", "v1", "items.pb.go")
	b, err := os.ReadFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, append(b, "\n// edited by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.WriteFile(pb, b, 0o644); err != nil {
			t.Error(err)
		}
	}()
	out, err = check()
	if err == nil || !strings.Contains(out, "proto/items/v1/items.pb.go differs from what scripts/protoc.sh generates") {
		t.Errorf("the generated project's proto check passes on an edited items.pb.go: %v\n%s", err, out)
	}
}

// TestNewProjectsProtocScriptPinsTheSDKsVersions: the generated project's
// scripts/protoc.sh (the generator's own copy) pins the plugin versions of
// the SDK's scripts/protoc.sh, so that the two generate the same code and a
// bump of one cannot leave the other behind.
func TestNewProjectsProtocScriptPinsTheSDKsVersions(t *testing.T) {
	sdk, err := os.ReadFile(filepath.Join(sdkRoot, "scripts", "protoc.sh"))
	if err != nil {
		t.Fatal(err)
	}
	own, err := fs.ReadFile(projectFiles, "_project/scripts/protoc.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"PROTOC_GEN_GO_VERSION=", "PROTOC_GEN_GO_GRPC_VERSION=", "PROTOC_VERSION="} {
		pin := func(script []byte) string {
			for _, line := range strings.Split(string(script), "\n") {
				if strings.HasPrefix(line, v) {
					return line
				}
			}
			return ""
		}
		if pin(sdk) == "" || pin(sdk) != pin(own) {
			t.Errorf("the SDK's scripts/protoc.sh pins %q, the project's %q", pin(sdk), pin(own))
		}
	}
}

// pinStepReachesTheSDKsScript runs the generated workflow's pin step, as
// written, in the project: it must find the SDK's scripts/pin-images.sh and
// run it on the project's Dockerfile. No registry is reachable here, so the
// script fails, naming why, and leaves the Dockerfile as it was; where one
// is, every base image gets its digest.
func pinStepReachesTheSDKsScript(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	wf, err := os.ReadFile(filepath.Join(dir, ".github/workflows/ci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, step, ok := strings.Cut(string(wf), "name: Pin the base images")
	_, step, ok2 := strings.Cut(step, "run: |\n")
	if !ok || !ok2 {
		t.Fatal("the generated workflow has no pin step with a run: block")
	}
	var script strings.Builder
	for _, line := range strings.Split(step, "\n") {
		body, ok := strings.CutPrefix(line, "          ")
		if !ok {
			break
		}
		script.WriteString(body + "\n")
	}
	before, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	after, rerr := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	switch {
	case err != nil && strings.Contains(string(out), "pin-images: ") && bytes.Equal(before, after):
		t.Logf("the pin step ran the SDK's script, which could not pin here:\n%s", out)
	case err == nil && allPinned(string(after)):
	default:
		t.Errorf("the pin step of the generated workflow: %v\n%s\n%s", err, script.String(), out)
	}
}

// TestNewProjectsAlertsPassPromtool: the generated project's alert rules,
// their job renamed, still load and their unit tests still fire and stay
// silent as written (monitoring_test.go, which runs them in the SDK, is
// SDK-only and not in the copy).
func TestNewProjectsAlertsPassPromtool(t *testing.T) {
	promtool := filepath.Join(testserver.Tool(t, "PROMETHEUS_DIR"), "promtool")
	dir := filepath.Join(t.TempDir(), "items")
	if _, err := generate(examples.Service(), dir, project{Module: "github.com/acme/items", SDK: sdkRoot}); err != nil {
		t.Fatal(err)
	}
	monitoring := filepath.Join(dir, "deploy", "monitoring")
	tests, err := filepath.Glob(filepath.Join(monitoring, "*_test.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests in %s: %v", monitoring, err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, append([]string{"test", "rules"}, tests...)} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = monitoring
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile(filepath.Join(monitoring, "rules.yaml"))
	if err != nil || !strings.Contains(string(rules), `job="items"`) {
		t.Errorf("the rules do not select the job items: %v", err)
	}
}

// TestNewRefuses: each input the generator must refuse, with its exit code
// and what it says; none leaves a file behind.
func TestNewRefuses(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "items")
	if err := os.WriteFile(file, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	notSDK := t.TempDir()
	if err := os.WriteFile(filepath.Join(notSDK, "go.mod"), []byte("module example.com/other\n\ngo 1.26.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string // before MODULE_PATH and DIR
		mod  string
		dir  string // "" for a fresh one
		code int
		want string
	}{
		{"no arguments", nil, "", "-", 2, "give MODULE_PATH and DIR"},
		{"a space in the module path", []string{"-sdk", sdkRoot}, "github.com/acme/my items", "", 1, "module path: malformed module path"},
		{"an upper-case leading element", []string{"-sdk", sdkRoot}, "Github.com/acme/items", "", 1, "module path"},
		{"a trailing slash", []string{"-sdk", sdkRoot}, "github.com/acme/items/", "", 1, "module path"},
		{"inside the SDK", []string{"-sdk", sdkRoot}, "github.com/operable-go/operable/items", "", 1, "inside the SDK's own module"},
		{"an upper-case name", []string{"-sdk", sdkRoot, "-name", "Items"}, "github.com/acme/items", "", 1, `name "Items" is no DNS-1123 label`},
		{"an underscore in the name", []string{"-sdk", sdkRoot, "-name", "my_items"}, "github.com/acme/items", "", 1, "no DNS-1123 label"},
		{"a name ending in a hyphen", []string{"-sdk", sdkRoot, "-name", "items-"}, "github.com/acme/items", "", 1, "no DNS-1123 label"},
		{"a name of 64 characters", []string{"-sdk", sdkRoot, "-name", strings.Repeat("a", 64)}, "github.com/acme/items", "", 1, "at most 63"},
		{"a last element that is no name", []string{"-sdk", sdkRoot}, "github.com/acme/My.Items", "", 1, "give -name"},
		{"a non-empty directory", []string{"-sdk", sdkRoot}, "github.com/acme/items", full, 1, "is not empty"},
		{"a file for the directory", []string{"-sdk", sdkRoot}, "github.com/acme/items", file, 1, "not a directory"},
		{"a version that is not semver", []string{"-version", "1.2.3"}, "github.com/acme/items", "", 1, "not a canonical semantic version"},
		{"a version that is not canonical", []string{"-version", "v1.2"}, "github.com/acme/items", "", 1, "not a canonical semantic version"},
		{"no version from a development build", nil, "github.com/acme/items", "", 1, "give -version or -sdk"},
		{"an -sdk that is not the SDK", []string{"-sdk", notSDK}, "github.com/acme/items", "", 1, "is not the module github.com/operable-go/operable"},
		{"an -sdk with no go.mod", []string{"-sdk", t.TempDir()}, "github.com/acme/items", "", 1, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"new"}, c.args...)
			dir := c.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "items")
			}
			if dir != "-" {
				args = append(args, c.mod, dir)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), args, &out, &errOut)
			if code != c.code || !strings.Contains(errOut.String(), c.want) {
				t.Errorf("%v: exit %d, want %d with %q in\n%s%s", args, code, c.code, c.want, out.String(), errOut.String())
			}
			if code == 1 && !strings.HasPrefix(errOut.String(), "operable new: ") {
				t.Errorf("the error is not prefixed with the command: %s", errOut.String())
			}
			if dir != "-" && dir != full && dir != file {
				if _, err := os.Stat(dir); err == nil {
					t.Errorf("a refused run left %s behind", dir)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("the non-empty directory was written to: %v", entries)
	}
}

// TestNewGoModForARelease: with -version and no -sdk, go.mod requires
// that release with no replace directive, and no go.sum is written (go mod
// tidy gets the hashes from the checksum database); a major-version module
// path names the binary after the element before its /vN.
func TestNewGoModForARelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "items")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"new", "-version", "v1.4.2", "github.com/acme/items/v2", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module github.com/acme/items/v2\n", "\nrequire github.com/operable-go/operable v1.4.2\n", "\ntool github.com/operable-go/operable/cmd/operable\n"} {
		if !strings.Contains(string(gomod), want) {
			t.Errorf("go.mod has no %q:\n%s", want, gomod)
		}
	}
	if strings.Contains(string(gomod), "replace") {
		t.Errorf("go.mod has a replace directive without -sdk:\n%s", gomod)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		t.Error("go.sum was written without -sdk")
	}
	ignore, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if err != nil || !strings.Contains(string(ignore), "\n/items\n") {
		t.Errorf(".dockerignore does not leave out the binary /items: %v", err)
	}
	main, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil || !strings.Contains(string(main), `Name: "items"`) {
		t.Errorf("main.go does not name the service items: %v", err)
	}
}

// TestServiceNameIsTheWordNotTheEnglish: the template's service name is
// replaced where it names the service, and left where it is English or a
// reserved domain.
func TestServiceNameIsTheWordNotTheEnglish(t *testing.T) {
	cases := []struct{ in, want string }{
		{"name: example\n", "name: items\n"},
		{"- name: example-config", "- name: items-config"},
		{"mountPath: /etc/example/tls", "mountPath: /etc/items/tls"},
		{`job="example"`, `job="items"`},
		{"kubectl -n example rollout undo deployment/example", "kubectl -n items rollout undo deployment/items"},
		{"# Runbook: the example service", "# Runbook: the items service"},
		{"newName: registry.example.com/example", "newName: registry.example.com/items"},
		{"For example, a header; for example, this", "For example, a header; for example, this"},
		{"an example of it", "an example of it"},
		{"| level | meaning | example | response |", "| level | meaning | example | response |"},
		{"examples, Example, exampled, example_var", "examples, Example, exampled, example_var"},
	}
	for _, c := range cases {
		if got := renameService(c.in, "items"); got != c.want {
			t.Errorf("renameService(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNewFollowsTheTemplate: an edit whose text the template no longer has
// fails the generation (so a change of the template cannot silently leave
// stale lines in every copy), a non-test file that imports the SDK's
// internal packages fails it, build outputs are left out, and the bounds
// hold.
func TestNewFollowsTheTemplate(t *testing.T) {
	tmpl := fstest.MapFS{}
	if err := fs.WalkDir(examples.Service(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(examples.Service(), name)
		tmpl[name] = &fstest.MapFile{Data: b, Mode: 0o644}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	with := func(changes map[string]string) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range tmpl {
			m[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(m, k)
				continue
			}
			m[k] = &fstest.MapFile{Data: []byte(v), Mode: 0o644}
		}
		return m
	}
	compose := string(tmpl["compose.yaml"].Data)
	cases := []struct {
		name    string
		src     fstest.MapFS
		want    string // in the error; "" for success
		leftOut []string
	}{
		{"the template as it is", tmpl, "", []string{"database_test.go", "grpc_probe_test.go", "grpc_proto_test.go", "integration_test.go", "monitoring_test.go", "tls_test.go"}},
		{"a template without .proto files", with(map[string]string{"proto/items/v1/items.proto": ""}), "", []string{"database_test.go", "grpc_probe_test.go", "grpc_proto_test.go", "integration_test.go", "monitoring_test.go", "tls_test.go"}},
		{"a template with a protoc script of its own", with(map[string]string{"scripts/protoc.sh": "#!/bin/sh\n"}), "the template has scripts/protoc.sh, which the generator writes itself", nil},
		{"build outputs", with(map[string]string{"service": "\x7fELF", "service.test": "\x7fELF", "cpu.prof": "x", "coverage.out": "x"}), "",
			[]string{"coverage.out", "cpu.prof", "database_test.go", "grpc_probe_test.go", "grpc_proto_test.go", "integration_test.go", "monitoring_test.go", "service", "service.test", "tls_test.go"}},
		{"an edit that no longer matches", with(map[string]string{"compose.yaml": strings.Replace(compose, "context: ../..", "context: ../../", 1)}), "compose.yaml no longer has", nil},
		{"a file the edits are for is gone", with(map[string]string{"compose.yaml": ""}), "the template has no compose.yaml", nil},
		{"a source importing internal/", with(map[string]string{"extra.go": "package main\n\nimport _ \"github.com/operable-go/operable/internal/environ\"\n"}), "extra.go imports the SDK's internal packages", nil},
		{"a file over the limit", with(map[string]string{"big.txt": strings.Repeat("x", maxFileBytes+1)}), "over the limit", nil},
		{"a Go file that does not parse", with(map[string]string{"bad.go": "package main\n\nimport (\n"}), "bad.go", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "items")
			res, err := generate(c.src, dir, project{Module: "github.com/acme/items", SDK: sdkRoot})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(res.LeftOut)
				if !slices.Equal(res.LeftOut, c.leftOut) {
					t.Errorf("left out %v, want %v", res.LeftOut, c.leftOut)
				}
				// The project's own protoc script and proto check, only
				// where there is a .proto to generate from.
				wantOwn := []string{"grpc_proto_test.go", "scripts/protoc.sh"}
				if _, ok := c.src["proto/items/v1/items.proto"]; !ok {
					wantOwn = nil
				}
				slices.Sort(res.Own)
				if !slices.Equal(res.Own, wantOwn) {
					t.Errorf("wrote its own %v, want %v", res.Own, wantOwn)
				}
				for _, name := range wantOwn {
					if !slices.Contains(res.Written, name) {
						t.Errorf("%s is not in Written %v", name, res.Written)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "operable new: ") {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("a refused template left %s behind", dir)
			}
		})
	}
}

// A project of one's own from the template: the module path and service
// name given, the SDK required (here replaced by this checkout, for
// development, as -sdk does).
func Example_new() {
	dir, err := os.MkdirTemp("", "operable-new-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	code := run(context.Background(), []string{"new", "-sdk", "../..", "-name", "items", "github.com/acme/items", filepath.Join(dir, "items")}, io.Discard, os.Stderr)
	gomod, err := os.ReadFile(filepath.Join(dir, "items", "go.mod"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit", code)
	for _, line := range strings.Split(string(gomod), "\n") {
		if strings.HasPrefix(line, "module ") || strings.HasPrefix(line, "require ") || strings.HasPrefix(line, "tool ") {
			fmt.Println(line)
		}
	}
	// Output:
	// exit 0
	// module github.com/acme/items
	// require github.com/operable-go/operable v0.0.0
	// tool github.com/operable-go/operable/cmd/operable
}

// allPinned reports whether every base image of the Dockerfile but scratch
// names a digest.
func allPinned(dockerfile string) bool {
	for _, line := range strings.Split(dockerfile, "\n") {
		if strings.HasPrefix(line, "FROM ") && !strings.HasPrefix(line, "FROM scratch") && !strings.Contains(line, "@sha256:") {
			return false
		}
	}
	return true
}
