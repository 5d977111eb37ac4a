package templatecheck

import (
	"path/filepath"
	"testing"
)

// The worker template's files, broken one thing at a time: the checks
// that apply to every template refuse them as they refuse the service's
// (broken_test.go), and so do the worker's own rules.

const (
	workerDF     = "examples/worker/Dockerfile"
	workerDeploy = "examples/worker/deploy"
)

func TestBrokenWorkerDockerfile(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"unpinned base image", "FROM golang:1.26.8-bookworm AS build", "FROM golang:latest AS build", `tag "latest" is not an exact version`},
		{"shell-form entrypoint", `ENTRYPOINT ["/app/worker"]`, "ENTRYPOINT /app/worker", "ENTRYPOINT in shell form"},
		{"root user", "USER 65532:65532", "USER 0", "want a numeric non-root user id"},
		{"no healthcheck", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplateOf(t, workerTemplate)
			edit(t, dir, workerDF, tc.old, tc.new)
			goVersion, err := GoVersion(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, CheckDockerfile(filepath.Join(dir, workerDF), goVersion), tc.want)
		})
	}
	// The app port exposed: a worker serves no route.
	dir := copyTemplateOf(t, workerTemplate)
	edit(t, dir, workerDF, "EXPOSE 9090/tcp", "EXPOSE 8080/tcp 9090/tcp")
	img, err := RuntimeImage(filepath.Join(dir, workerDF))
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadContract(root, workerTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExposed(img, c, Worker); err == nil {
		t.Error("CheckExposed accepted a worker exposing its app port")
	}
}

func TestBrokenWorkerDockerignore(t *testing.T) {
	dir := copyTemplateOf(t, workerTemplate)
	w := filepath.Join(dir, "examples", "worker")
	for _, f := range []string{"examples/worker/.dockerignore", "examples/worker/Dockerfile.dockerignore"} {
		edit(t, dir, f, "**/.git\n", "**/.git\n**/*.go\n")
	}
	wantError(t, CheckDockerignore(filepath.Join(w, "Dockerfile"), filepath.Join(w, "Dockerfile.dockerignore"), filepath.Join(w, ".dockerignore"), dir, workerTemplate.Pkg),
		"examples/worker/main.go, which COPY . . needs")
}

func TestBrokenWorkerManifests(t *testing.T) {
	base := workerDeploy + "/base/"
	for _, tc := range []struct{ name, file, old, new, want string }{
		{"a missing probe", base + "deployment.yaml", "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: admin\n              scheme: HTTP\n            periodSeconds: 5\n            timeoutSeconds: 2\n            failureThreshold: 1\n", "", "no readinessProbe"},
		{"grace below the shutdown timeout", base + "deployment.yaml", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds is 20s; SHUTDOWN_TIMEOUT is 25s"},
		{"an unknown config key", base + "config/base.yaml", "spool_dir: /var/spool/worker", "spool_dri: /var/spool/worker", "key SPOOL_DRI is not a variable"},
		{"a rolling update", base + "deployment.yaml", "    type: Recreate", "    type: RollingUpdate", `strategy is "RollingUpdate"`},
		{"no replicas", base + "deployment.yaml", "  replicas: 1\n", "", "does not set replicas"},
		{"an app port", base + "deployment.yaml", "            - name: admin\n              containerPort: 9090", "            - name: app\n              containerPort: 8080\n            - name: admin\n              containerPort: 9090", "container port app 8080"},
		{"the app listener on every interface", base + "deployment.yaml", "value: 127.0.0.1:8080", `value: ":8080"`, "must be bound to loopback"},
		{"the app port open", base + "networkpolicy.yaml", "  ingress:\n", "  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: ingress-nginx\n      ports:\n        - port: 8080\n          protocol: TCP\n", "port 8080 is open"},
		{"a claim the overlay lacks", base + "deployment.yaml", "claimName: worker-spool", "claimName: worker-spol", "claims worker-spol, which is not a PersistentVolumeClaim"},
		{"another writable mount", base + "deployment.yaml", "              mountPath: /app/config\n              readOnly: true\n", "              mountPath: /app/config\n", "volume config is mounted writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplateOf(t, workerTemplate)
			edit(t, dir, tc.file, tc.old, tc.new)
			problems, _ := checkOverlays(t, workerTemplate, Worker, filepath.Join(dir, workerDeploy), filepath.Join(dir, workerDF))
			var all []error
			for _, env := range Overlays {
				all = append(all, problems[env]...)
			}
			wantError(t, all, tc.want)
		})
	}
	// The server's rules refuse the worker: no Service, no autoscaler, no
	// app port.
	problems, _ := checkOverlays(t, serviceTemplate, Server, filepath.Join(root, workerDeploy), filepath.Join(root, workerDF))
	wantError(t, problems["production"], "want one Service")
	// And an overlay that changes more than resources and config data.
	dir := copyTemplateOf(t, workerTemplate)
	edit(t, dir, workerDeploy+"/overlays/staging/storage.yaml", "spec:\n", "spec:\n  accessModes:\n    - ReadWriteMany\n")
	_, normal := checkOverlays(t, workerTemplate, Worker, filepath.Join(dir, workerDeploy), filepath.Join(dir, workerDF))
	if normal["staging"] == normal["development"] {
		t.Error("staging changed the spool's access mode, and Normalize did not tell it from development")
	}
}
