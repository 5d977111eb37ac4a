package main_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedGRPCCodeMatchesTheProto regenerates the Go code of proto/
// with scripts/protoc.sh (Debian's protoc, the pinned plugins) into a
// temporary directory and fails when a committed file differs from its
// regeneration, is missing, or has none: the generated code cannot drift
// from its .proto. The test installs nothing: it skips, naming what is
// missing, until `scripts/protoc.sh --install` has installed the tools.
func TestGeneratedGRPCCodeMatchesTheProto(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("scripts", "protoc.sh"), "--no-install", out)
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		t.Skipf("cannot regenerate proto/: %s", bytes.TrimSpace(b))
	}
	if err != nil {
		t.Fatalf("scripts/protoc.sh: %v\n%s", err, b)
	}
	generated := func(dir string) map[string][]byte {
		files := map[string][]byte{}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pb.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			files[rel] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	committed := generated("proto")
	fresh := generated(filepath.Join(out, "proto"))
	if len(fresh) == 0 {
		t.Fatal("scripts/protoc.sh generated no .pb.go file")
	}
	for name, b := range fresh {
		c, ok := committed[name]
		switch {
		case !ok:
			t.Errorf("proto/%s is generated but not committed: run scripts/protoc.sh", name)
		case !bytes.Equal(c, b):
			t.Errorf("proto/%s differs from what scripts/protoc.sh generates: run it and commit the result", name)
		}
	}
	for name := range committed {
		if _, ok := fresh[name]; !ok {
			t.Errorf("proto/%s is committed but no .proto generates it", name)
		}
	}
}
