package examples_test

import (
	"fmt"
	"io/fs"

	"github.com/operable-go/operable/examples"
)

// The template as the tool sees it: the service's sources, its image, its
// manifests and its pipeline.
func ExampleService() {
	for _, name := range []string{"main.go", "Dockerfile", "deploy/base/kustomization.yaml", ".github/workflows/ci.yaml", "RUNBOOK.md"} {
		_, err := fs.Stat(examples.Service(), name)
		fmt.Println(name, err == nil)
	}
	// Output:
	// main.go true
	// Dockerfile true
	// deploy/base/kustomization.yaml true
	// .github/workflows/ci.yaml true
	// RUNBOOK.md true
}
