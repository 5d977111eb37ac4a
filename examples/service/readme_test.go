package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeChecklistNamesFilesThatExist: every file the quality checklist
// of README.md links to (relative links; the SDK's own files and, in a
// generated copy, the SDK-only tests are links to the SDK's repository)
// exists, and every anchor into RUNBOOK.md is one of its headings, so the
// table cannot point at a file that was renamed or removed.
func TestReadmeChecklistNamesFilesThatExist(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	rows, named := 0, 0
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| area ") {
			continue
		}
		rows++
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.HasPrefix(target, "https://") {
				continue
			}
			named++
			file, anchor, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.FromSlash(file)); err != nil {
				t.Errorf("the checklist names %s, which does not exist: %v", target, err)
				continue
			}
			if anchor != "" && !hasHeading(t, file, anchor) {
				t.Errorf("the checklist names %s, but %s has no heading #%s", target, file, anchor)
			}
		}
	}
	if rows < 10 || named < 20 {
		t.Errorf("README.md's checklist has %d rows naming %d files: the table was not found", rows, named)
	}
}

// hasHeading reports whether the Markdown file has a heading whose GitHub
// anchor is anchor: lower case, spaces to hyphens, punctuation dropped.
func hasHeading(t *testing.T, file, anchor string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(title)) {
			switch {
			case r == ' ':
				slug.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				slug.WriteRune(r)
			}
		}
		if slug.String() == anchor {
			return true
		}
	}
	return false
}
