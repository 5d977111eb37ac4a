// Package templatecheck checks the templates' container, Kubernetes and CI
// files with the tools that consume them: BuildKit's Dockerfile linter,
// kustomize, the k8s.io/api types (strictly), kube-score, and the rules of
// CONTRACT.md and each template's -help-config. A [Template] is a main
// package in a module; its [Kind] (a server or a worker) chooses the rules
// that differ between the two.
//
// It is a module of its own, like bench/, so that none of those tools
// enters the SDK's go.mod. Its tests are the checks:
//
//	cd templatecheck && go test ./...
//
// Each check is a function returning every problem it finds, so that the
// tests can run it on each template's files (examples/service,
// examples/worker, and the directories OPERABLE_TEMPLATE_DIRS lists) and
// on deliberately broken copies of them (broken_test.go,
// broken_worker_test.go), which it must refuse.
package templatecheck
