package templatecheck

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-shellwords"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestDockerfileBuildsAStaticBinary runs the Dockerfile's own go build
// command (its RUN line, with the build stage's ENV) on this machine,
// where no Docker engine is, and checks that the result is a static
// executable: no ELF interpreter, no shared library, so it runs on
// scratch.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the templates")
	}
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) { checkStaticBuild(t, tm) })
}

func checkStaticBuild(t *testing.T, tm Template) {
	dt, err := os.ReadFile(tm.Dockerfile())
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	var args []string
	for _, c := range stages[0].Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env = append(env, kv.Key+"="+kv.Value)
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if i := strings.Index(line, "go build"); i >= 0 {
				if args, err = shellwords.Parse(line[i:]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(args) == 0 {
		t.Fatal("the build stage has no RUN go build")
	}
	out := filepath.Join(t.TempDir(), "example")
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = tm.Root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked and cannot run on scratch")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	// And it is the service: its -healthcheck answers 1 with nothing
	// listening (no curl needed in the image).
	hc := exec.Command(out, "-healthcheck")
	hc.Env = append(os.Environ(), "ADMIN_ADDR=127.0.0.1:1")
	hc.Dir = t.TempDir()
	if err := hc.Run(); err == nil {
		t.Error("-healthcheck exited 0 with no admin listener")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("-healthcheck = %v; want exit status 1", err)
	}
}
