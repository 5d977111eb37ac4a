package templatecheck

import (
	"os"
	"path/filepath"
	"testing"
)

// The templates of this repository.
var (
	serviceTemplate = Template{Root: root, Pkg: "examples/service"}
	workerTemplate  = Template{Root: root, Pkg: "examples/worker"}
)

// templates are the templates every check runs on: the two of this
// repository, and those OPERABLE_TEMPLATE_DIRS adds.
func templates(t *testing.T) []Template {
	t.Helper()
	extra, err := ExtraTemplates(os.Getenv(TemplateDirsVar))
	if err != nil {
		t.Fatal(err)
	}
	return append([]Template{serviceTemplate, workerTemplate}, extra...)
}

// forEachTemplate runs check as a subtest for each template, with the
// kind its pods declare.
func forEachTemplate(t *testing.T, check func(t *testing.T, tm Template, kind Kind)) {
	t.Helper()
	for _, tm := range templates(t) {
		t.Run(tm.Name(), func(t *testing.T) {
			kind, err := KindOf(tm)
			if err != nil {
				t.Fatal(err)
			}
			check(t, tm, kind)
		})
	}
}

// TestTemplateKinds: each template of this repository declares the kind
// it is, so that a label edit cannot move one to the other's rules.
func TestTemplateKinds(t *testing.T) {
	for tm, want := range map[Template]Kind{serviceTemplate: Server, workerTemplate: Worker} {
		if got, err := KindOf(tm); err != nil || got != want {
			t.Errorf("KindOf(%s) = %q, %v; want %q", tm, got, err, want)
		}
	}
}

func TestExtraTemplates(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	got, err := ExtraTemplates(a + string(os.PathListSeparator) + string(os.PathListSeparator) + b)
	if err != nil || len(got) != 2 || got[0] != (Template{Root: a, Pkg: "."}) || got[1].Root != b {
		t.Errorf("ExtraTemplates(a::b) = %v, %v; want a and b, each its own root", got, err)
	}
	if got, err := ExtraTemplates(""); err != nil || len(got) != 0 {
		t.Errorf("ExtraTemplates(\"\") = %v, %v; want none", got, err)
	}
	if _, err := ExtraTemplates(filepath.Join(a, "missing")); err == nil {
		t.Error("ExtraTemplates accepted a missing directory")
	}
}
