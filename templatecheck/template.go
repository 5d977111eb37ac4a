package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kind is what a template is, declared by the app.kubernetes.io/component
// label of its Deployment's pods.
type Kind string

const (
	// Server serves routes on its app listener, behind a Service, scaled
	// by a HorizontalPodAutoscaler (examples/service).
	Server Kind = "server"
	// Worker serves no route: its app listener is bound to loopback and
	// unexposed; it takes jobs from a source that one pod owns, so it runs
	// a fixed number of replicas replaced with the Recreate strategy
	// (examples/worker).
	Worker Kind = "worker"
)

// Template is one template to check: a main package under the root of the
// module it builds in. Its files are the package directory's Dockerfile,
// Dockerfile.dockerignore and .dockerignore, and deploy/.
type Template struct {
	// Root is the module root: its go.mod, and the Dockerfile's build
	// context.
	Root string
	// Pkg is the main package's directory under Root, slash-separated:
	// "examples/service", or "." for a project whose main package is its
	// root.
	Pkg string
}

// Dir is the template's directory.
func (t Template) Dir() string { return filepath.Join(t.Root, filepath.FromSlash(t.Pkg)) }

// Dockerfile is the template's Dockerfile.
func (t Template) Dockerfile() string { return filepath.Join(t.Dir(), "Dockerfile") }

// Deploy is the template's kustomize tree.
func (t Template) Deploy() string { return filepath.Join(t.Dir(), "deploy") }

// Name names the template in test names: its directory's base name.
func (t Template) Name() string { return filepath.Base(filepath.Clean(t.Dir())) }

// String is Name, for messages.
func (t Template) String() string { return t.Name() }

// KindOf renders the template's development overlay and reads the kind
// its Deployment's pods declare.
func KindOf(t Template) (Kind, error) {
	stream, err := Render(OverlayDir(t.Deploy(), Overlays[0]))
	if err != nil {
		return "", err
	}
	objs, errs := DecodeStrict(stream)
	if len(errs) > 0 {
		return "", errs[0]
	}
	if len(objs.Deployments) != 1 {
		return "", fmt.Errorf("%s: want one Deployment, have %d", t, len(objs.Deployments))
	}
	switch k := Kind(objs.Deployments[0].Spec.Template.Labels["app.kubernetes.io/component"]); k {
	case Server, Worker:
		return k, nil
	default:
		return "", fmt.Errorf("%s: the pods' label app.kubernetes.io/component is %q; want %s or %s", t, k, Server, Worker)
	}
}

// TemplateDirsVar names the variable that adds templates to check: a
// colon-separated list of directories, each the root of a module whose
// main package is that root (a project fresh from the generator).
const TemplateDirsVar = "OPERABLE_TEMPLATE_DIRS"

// ExtraTemplates are the templates TemplateDirsVar names in environ (as
// os.Getenv would read it), each checked that it is a directory.
func ExtraTemplates(value string) ([]Template, error) {
	var out []Template
	for _, dir := range strings.Split(value, string(os.PathListSeparator)) {
		if dir == "" {
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: %s is not a directory", TemplateDirsVar, dir)
		}
		out = append(out, Template{Root: dir, Pkg: "."})
	}
	return out, nil
}
