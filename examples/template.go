// Package examples carries the service template, examples/service, into the
// SDK's tool: `operable new` writes a copy of it under a team's own module
// path (see cmd/operable).
//
// The files are embedded at build time with go:embed, which reaches only
// files at or below the embedding package's directory: that is why this
// package sits beside the template rather than in cmd/operable.
package examples

import (
	"embed"
	"io/fs"
)

// all: keeps the files whose names start with a dot (.dockerignore,
// .github/workflows/): a copy without them has no pipeline.
//
//go:embed all:service
var service embed.FS

// Service returns the files of examples/service as they were when the tool
// was built, rooted at the template's directory: "main.go", "Dockerfile",
// "deploy/base/deployment.yaml", ".github/workflows/ci.yaml", and so on.
// Everything in the directory is there, build outputs left in it included
// (the generator leaves those out by name). The FS is read-only and safe for
// concurrent use.
func Service() fs.FS {
	sub, err := fs.Sub(service, "service")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "service" is valid.
		panic("examples: " + err.Error())
	}
	return sub
}
