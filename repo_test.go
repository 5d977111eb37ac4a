package operable_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoBuildOutputIsTracked: no file the repository tracks is over 1 MiB
// or an executable binary (a `go build` in the root once committed a 30 MB
// one).
func TestNoBuildOutputIsTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		fi, err := os.Stat(name)
		if err != nil {
			continue // deleted in the work tree
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s is tracked and holds %d bytes (over 1 MiB)", name, fi.Size())
		}
		head := make([]byte, 4)
		if f, err := os.Open(name); err == nil {
			_, _ = f.Read(head)
			_ = f.Close()
		}
		if bytes.Equal(head, []byte("\x7fELF")) {
			t.Errorf("%s is tracked and is an executable (ELF)", name)
		}
	}
}
