package boundedread_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/operable-go/operable/internal/boundedread"
)

// TestReadFileReadsAtMostTheLimit: a file without end (/dev/zero) is
// refused after limit+1 bytes instead of being read whole.
func TestReadFileReadsAtMostTheLimit(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := boundedread.ReadFile("/dev/zero", 4096)
	var tl *boundedread.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 4096 || !strings.Contains(err.Error(), "/dev/zero") {
		t.Fatalf("ReadFile = %v, want a TooLargeError at 4096", err)
	}
}

// TestReadFileTellsMissingFromBroken: only a missing file is
// fs.ErrNotExist; exactly the limit is fine, one byte more is not.
func TestReadFileTellsMissingFromBroken(t *testing.T) {
	dir := t.TempDir()
	if _, err := boundedread.ReadFile(filepath.Join(dir, "none"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want ErrNotExist", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("none", link); err != nil {
		t.Fatal(err)
	}
	if _, err := boundedread.ReadFile(link, 0); errors.Is(err, fs.ErrNotExist) || !errors.Is(err, boundedread.ErrDanglingSymlink) {
		t.Errorf("dangling: %v, want ErrDanglingSymlink and not ErrNotExist", err)
	}
	if _, err := boundedread.ReadFile(dir, 0); !errors.Is(err, boundedread.ErrDirectory) {
		t.Errorf("directory: %v, want ErrDirectory", err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("12345678"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := boundedread.ReadFile(file, 8); err != nil || string(data) != "12345678" {
		t.Errorf("at the limit: %q, %v", data, err)
	}
	if _, err := boundedread.ReadFile(file, 7); err == nil || !strings.Contains(err.Error(), "larger than the limit of 7 bytes") {
		t.Errorf("over the limit: %v", err)
	}
}

// laughs is a "billion laughs" document of depth levels of nine.
func laughs(levels int) string {
	var b strings.Builder
	b.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i < levels; i++ {
		p := "*l" + string(rune('0'+i-1))
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" + strings.Repeat(p+",", 8) + p + "]\n")
	}
	return b.String()
}

// TestCheckAliasesCountsExpandedNodes: the structural limit. Aliases that
// stand for up to MaxAliasNodes values pass; a nested bomb is stopped at the
// first alias past the budget, and a node that holds itself is refused.
func TestCheckAliasesCountsExpandedNodes(t *testing.T) {
	parse := func(s string) *yaml.Node {
		t.Helper()
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatal(err)
		}
		return &n
	}
	// 4 levels: the aliases stand for 9*10 + 9*91 + 9*820 = 8289 nodes.
	if a := boundedread.CheckAliases(parse(laughs(4))); a != nil {
		t.Errorf("4 levels refused at line %d", a.Line)
	}
	a := boundedread.CheckAliases(parse(laughs(9)))
	if a == nil || a.Line != 5 {
		t.Fatalf("9 levels: %v, want the alias on line 5", a)
	}
	if a := boundedread.CheckAliases(parse("a: &a [1, 2]\nb: *a\nc: *a\n")); a != nil {
		t.Errorf("modest aliases refused at line %d", a.Line)
	}
	self := parse("a: &a [1]\n")
	seq := self.Content[0].Content[1]
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.AliasNode, Alias: seq, Line: 1})
	if boundedread.CheckAliases(self) == nil {
		t.Error("a sequence that holds itself passed")
	}
}
