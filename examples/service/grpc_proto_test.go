package main_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operable-go/operable/internal/testserver"
)

// TestGeneratedGRPCCodeMatchesTheProto regenerates the Go code of
// proto/ with scripts/protoc.sh (the pinned plugins, Debian's protoc) into
// a temporary directory and fails when a committed file differs from its
// regeneration, is missing, or has none: the generated code cannot drift
// from its .proto. make test sets PROTOC_GEN_BIN (scripts/protoc.sh
// --install).
func TestGeneratedGRPCCodeMatchesTheProto(t *testing.T) {
	t.Parallel()
	bin := testserver.Tool(t, "PROTOC_GEN_BIN")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "scripts", "protoc.sh"), out)
	cmd.Env = append(os.Environ(), "CACHE="+filepath.Dir(bin))
	if b, err := cmd.CombinedOutput(); err != nil {
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
	committed := generated(filepath.Join(root, "examples", "service", "proto"))
	fresh := generated(filepath.Join(out, "examples", "service", "proto"))
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
