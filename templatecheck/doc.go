// Package templatecheck checks the service template's container, Kubernetes
// and CI files with the tools that consume them: BuildKit's Dockerfile
// linter, kustomize, the k8s.io/api types (strictly), kube-score, and the
// rules of CONTRACT.md and the service's -help-config.
//
// It is a module of its own, like bench/, so that none of those tools
// enters the SDK's go.mod. Its tests are the checks:
//
//	cd templatecheck && go test ./...
//
// Each check is a function returning every problem it finds, so that the
// tests can run it on the template's files and on deliberately broken
// copies of them (broken_test.go), which it must refuse.
package templatecheck
