package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	itemsv1 "github.com/operable-go/operable/examples/service/proto/items/v1"
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

// TestReadmeGRPCSectionNamesWhatExists: every gRPC method the README calls
// (service/method, as grpcurl names it) is one the service serves or
// grpc.health.v1's, and the script it tells to run to regenerate the code,
// scripts/protoc.sh, is at the module's root: the SDK's own in the SDK, the
// project's in a project made by operable new.
func TestReadmeGRPCSectionNamesWhatExists(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, d := range []*grpc.ServiceDesc{&itemsv1.ItemsService_ServiceDesc, &healthpb.Health_ServiceDesc} {
		for _, m := range d.Methods {
			served[d.ServiceName+"/"+m.MethodName] = true
		}
	}
	calls := regexp.MustCompile(`grpcurl [^\n]*? ([\w.]+/\w+)\n`).FindAllStringSubmatch(string(readme), -1)
	if len(calls) < 3 {
		t.Fatalf("README.md has %d grpcurl calls of a method, want its gRPC section's", len(calls))
	}
	for _, c := range calls {
		if !served[c[1]] {
			t.Errorf("README.md calls %s, which the service does not serve", c[1])
		}
	}
	if !strings.Contains(string(readme), "`scripts/protoc.sh`") {
		t.Fatal("README.md does not tell how to regenerate the gRPC code (scripts/protoc.sh)")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if parent := filepath.Dir(root); parent != root {
			root = parent
			continue
		}
		t.Fatal("no go.mod above the test's directory")
	}
	if info, err := os.Stat(filepath.Join(root, "scripts", "protoc.sh")); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("README.md tells to run scripts/protoc.sh, which is not an executable at the module's root %s: %v", root, err)
	}
}
