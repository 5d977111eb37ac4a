package operable_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeFirstServiceIsTheCompiledExample keeps the README's snippet and
// examples/first/main.go identical, so that the snippet always compiles.
func TestReadmeFirstServiceIsTheCompiledExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("examples/first/main.go")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## Your first service")
	if i < 0 {
		t.Fatal(`README.md has no "## Your first service" section`)
	}
	section = section[i:]
	start := strings.Index(section, "```go\n")
	end := strings.Index(section[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("the first-service section has no go code block")
	}
	snippet := section[start+6 : start+6+end]
	if snippet != string(example) {
		t.Errorf("README.md's first service differs from examples/first/main.go; copy the file into the README")
	}
	if n := strings.Count(snippet, "\n"); n > 25 {
		t.Errorf("the first service is %d lines; keep it short", n)
	}
}

// TestReadmeSecondHourIsTheCompiledExample keeps the "second hour"
// section's code blocks identical to examples/second, so that they compile
// and their test runs.
func TestReadmeSecondHourIsTheCompiledExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, ok := strings.CutPrefix(string(readme)[strings.Index(string(readme), "## The second hour")+1:], "# The second hour")
	if !ok {
		t.Fatal(`README.md has no "## The second hour" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []string
	for rest := section; ; {
		_, after, found := strings.Cut(rest, "```go\n")
		if !found {
			break
		}
		block, tail, _ := strings.Cut(after, "```")
		blocks, rest = append(blocks, block), tail
	}
	files := []string{"examples/second/main.go", "examples/second/main_test.go"}
	if len(blocks) != len(files) {
		t.Fatalf("the second-hour section has %d go code blocks, want %d (%v)", len(blocks), len(files), files)
	}
	for i, name := range files {
		file, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if blocks[i] != string(file) {
			t.Errorf("README.md's second-hour block %d differs from %s; copy the file into the README", i+1, name)
		}
	}
}

// TestReadmeShowsTheTwoSetUpCommands keeps the commands CI and users rely on
// in the README.
func TestReadmeShowsTheTwoSetUpCommands(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"```sh\ngo run ./examples/service\n```", "```sh\nmake test\n```"} {
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README.md does not show %q", cmd)
		}
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "make test") {
		t.Error(".ci/run does not run make test")
	}
}
