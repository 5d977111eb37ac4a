package templatecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each check must refuse a deliberately broken copy of the template's
// files: the tests below copy them to a temporary directory, break one
// thing, and want the check to name it.

// copyTemplate copies the files the checks read of the service template
// (the Dockerfile, its ignore files, deploy/ and go.mod) into a temporary
// tree laid out like the repository, and returns its root.
func copyTemplate(t *testing.T) string {
	t.Helper()
	return copyTemplateOf(t, serviceTemplate)
}

// copyTemplateOf is copyTemplate for any template of this repository.
func copyTemplateOf(t *testing.T, tm Template) string {
	t.Helper()
	dst := t.TempDir()
	pkg := filepath.FromSlash(tm.Pkg)
	if err := os.MkdirAll(filepath.Join(dst, pkg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dst, pkg, "deploy"), os.DirFS(tm.Deploy())); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(pkg, "Dockerfile"), filepath.Join(pkg, ".dockerignore"), filepath.Join(pkg, "Dockerfile.dockerignore"), "go.mod", "go.sum"} {
		dt, err := os.ReadFile(filepath.Join(tm.Root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// edit replaces old with new in the file at root/name; old must be there.
func edit(t *testing.T, root, name, old, new string) {
	t.Helper()
	p := filepath.Join(root, name)
	dt, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dt), old) {
		t.Fatalf("%s has no %q to break", name, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(dt), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantError fails unless one of errs contains want.
func wantError(t *testing.T, errs []error, want string) {
	t.Helper()
	var all []string
	for _, err := range errs {
		if strings.Contains(err.Error(), want) {
			return
		}
		all = append(all, err.Error())
	}
	t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(all, "\n"))
}

const (
	df     = "examples/service/Dockerfile"
	deploy = "examples/service/deploy"
)

func TestBrokenDockerfile(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unpinned base image", "FROM golang:1.26.8-bookworm AS build", "FROM golang:latest AS build", `tag "latest" is not an exact version`},
		{"a moving tag", "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.26 AS build", `tag "1.26" is not an exact version`},
		{"no tag", "FROM golang:1.26.8-bookworm AS build", "FROM golang AS build", "has no tag"},
		{"a made-up digest", "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.26.8-bookworm@sha256:" + strings.Repeat("0", 64) + " AS build", "digest looks made up"},
		{"a digest placeholder", "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.26.8-bookworm@sha256:DIGEST AS build", "is not sha256: and 64 lower-case hex digits"},
		{"a Go older than go.mod's", "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.25.9-bookworm AS build", "older than go.mod's"},
		{"a runtime with a shell", "FROM scratch", "FROM debian:12.12", "want scratch or gcr.io/distroless/static"},
		{"cgo on", "ENV CGO_ENABLED=0 GOOS=linux", "ENV GOOS=linux", "no CGO_ENABLED=0"},
		{"root user", "USER 65532:65532", "USER 0", "want a numeric non-root user id"},
		{"a user name", "USER 65532:65532", "USER nonroot", "want a numeric non-root user id"},
		{"no user", "USER 65532:65532\n", "", "no USER in the runtime stage"},
		{"shell-form entrypoint", `ENTRYPOINT ["/app/example"]`, "ENTRYPOINT /app/example", "ENTRYPOINT in shell form"},
		{"healthcheck through curl", `CMD ["/app/example", "-healthcheck"]`, `CMD ["curl", "-f", "http://localhost:9090/livez"]`, "through the binary itself"},
		{"no healthcheck", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK"},
		{"sources before go.mod", "COPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nCOPY . .", "COPY . .\nRUN --mount=type=cache,target=/go/pkg/mod go mod download", "before COPY . ."},
		{"another working directory", "WORKDIR /app\n", "WORKDIR /srv\n", "WORKDIR /srv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplate(t)
			edit(t, dir, df, tc.old, tc.new)
			goVersion, err := GoVersion(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, CheckDockerfile(filepath.Join(dir, df), goVersion), tc.want)
		})
	}
}

// TestBrokenDockerfileLint: BuildKit's linter itself warns on a broken
// copy.
func TestBrokenDockerfileLint(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"shell-form entrypoint", `ENTRYPOINT ["/app/example"]`, "ENTRYPOINT /app/example", "JSONArgsRecommended"},
		{"lower-case as", "AS build", "as build", "FromAsCasing"},
		{"legacy ENV", "ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-trimpath", "ENV CGO_ENABLED 0", "LegacyKeyValueFormat"},
		{"an undefined variable", "COPY --from=build /out/example /app/example", "COPY --from=build /out/example /app/$BINARY", "UndefinedVar"},
		{"a relative WORKDIR", "WORKDIR /src", "WORKDIR src", "WorkdirRelativePath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplate(t)
			edit(t, dir, df, tc.old, tc.new)
			warnings, err := LintDockerfile(filepath.Join(dir, df))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(warnings, "\n"), tc.want) {
				t.Errorf("the linter did not warn %s; warnings: %q", tc.want, warnings)
			}
		})
	}
}

func TestBrokenDockerignore(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"twins differ", "examples/service/.dockerignore", "**/.git\n", "", "differ"},
		{".git sent", "examples/service/Dockerfile.dockerignore", "**/.git\n", "", ".git is not left out"},
		{"the sources left out", "examples/service/Dockerfile.dockerignore", "**/.git\n", "**/.git\n*.go\n", "main.go, which COPY . . needs"},
		{"an embedded file left out", "examples/service/Dockerfile.dockerignore", "**/.git\n", "**/.git\n**/*.sql\n", "which examples/service/embedded.go embeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplate(t)
			edit(t, dir, tc.file, tc.old, tc.new)
			if tc.file != "examples/service/.dockerignore" {
				edit(t, dir, "examples/service/.dockerignore", tc.old, tc.new)
			}
			svc := filepath.Join(dir, "examples", "service")
			if tc.name == "an embedded file left out" {
				// A source that embeds files, as the service embeds its
				// migrations.
				if err := os.MkdirAll(filepath.Join(svc, "migrations"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(svc, "migrations", "00001_init.sql"), []byte("SELECT 1;\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				src := "package main\n\nimport \"embed\"\n\n//go:embed migrations/*.sql\nvar migrations embed.FS\n"
				if err := os.WriteFile(filepath.Join(svc, "embedded.go"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantError(t, CheckDockerignore(filepath.Join(svc, "Dockerfile"), filepath.Join(svc, "Dockerfile.dockerignore"), filepath.Join(svc, ".dockerignore"), dir, serviceTemplate.Pkg), tc.want)
		})
	}
}

func TestBrokenManifests(t *testing.T) {
	base := deploy + "/base/"
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"a missing probe", base + "deployment.yaml", "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: admin\n              scheme: HTTP\n            periodSeconds: 5\n            timeoutSeconds: 2\n            failureThreshold: 1\n", "", "no readinessProbe"},
		{"a missing startup probe", base + "deployment.yaml", "          startupProbe:", "          x-startupProbe:", "unknown field"},
		{"a wrong probe path", base + "deployment.yaml", "path: /livez", "path: /healthz", "livenessProbe asks /healthz"},
		{"a probe on the app port", base + "deployment.yaml", "path: /startupz\n              port: admin", "path: /startupz\n              port: app", "not the admin listener's"},
		{"a short startup window", base + "deployment.yaml", "failureThreshold: 30", "failureThreshold: 3", "startupProbe allows 6s"},
		{"grace below the shutdown timeout", base + "deployment.yaml", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds is 20s; SHUTDOWN_TIMEOUT is 25s"},
		{"grace without margin", base + "deployment.yaml", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 27", "terminationGracePeriodSeconds is 27s"},
		{"a longer shutdown timeout in config", deploy + "/overlays/production/config/production.yaml", "log_level: info", "log_level: info\nshutdown:\n  timeout: 40s", "SHUTDOWN_TIMEOUT is 40s"},
		{"a strict-decode typo", base + "deployment.yaml", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSecond: 35", `unknown field "spec.template.spec.terminationGracePeriodSecond"`},
		{"a duplicated field", base + "service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  type: NodePort\n", `mapping key "type" already defined`},
		{"a wrong container port", base + "deployment.yaml", "containerPort: 9090", "containerPort: 9091", "container port admin is 9091"},
		{"GRPC_ADDR without its port", base + "deployment.yaml", "            - name: grpc\n              containerPort: 50051\n              protocol: TCP\n", "", "no container port is named grpc"},
		{"a gRPC port without GRPC_ADDR", base + "deployment.yaml", "            - name: GRPC_ADDR\n              value: \":50051\"\n", "", "GRPC_ADDR is not set"},
		{"a gRPC port off GRPC_ADDR's", base + "deployment.yaml", "containerPort: 50051", "containerPort: 50052", "the container's port grpc is 50052"},
		{"the gRPC port not exposed", df, "EXPOSE 8080/tcp 9090/tcp 50051/tcp", "EXPOSE 8080/tcp 9090/tcp", "not in the image's EXPOSE"},
		{"the gRPC port open to monitoring", base + "networkpolicy.yaml", "        - port: admin\n          protocol: TCP\n", "        - port: admin\n          protocol: TCP\n        - port: grpc\n          protocol: TCP\n", "port 50051 is open to namespace monitoring"},
		{"a typo of a variable", base + "deployment.yaml", "- name: VAULT_AUTH_METHOD", "- name: VAULT_AUTH_METHD", "VAULT_AUTH_METHD is a typo of VAULT_AUTH_METHOD"},
		{"an unknown config key", base + "config/base.yaml", "greeting: Hello", "greting: Hello", "key GRETING is not a variable"},
		{"a secret in clear", base + "config/base.yaml", "api_key: vault:kv/data/example#api_key", "api_key: k-123456", "API_KEY is a secret"},
		{"config with subPath", base + "deployment.yaml", "mountPath: /app/config\n", "mountPath: /app/config\n              subPath: base.yaml\n", "subPath"},
		{"config elsewhere", base + "deployment.yaml", "mountPath: /app/config\n", "mountPath: /etc/example/config\n", "nothing is mounted at /app/config"},
		{"a writable root", base + "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"privilege escalation", base + "deployment.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"},
		{"capabilities kept", base + "deployment.yaml", "                - ALL\n", "                - NET_RAW\n", "drop [ALL]"},
		{"another user", base + "deployment.yaml", "            runAsUser: 65532\n            runAsGroup: 65532\n            readOnly", "            runAsUser: 1000\n            runAsGroup: 65532\n            readOnly", "runAsUser 1000 is not the image's USER 65532"},
		{"no seccomp", base + "deployment.yaml", "            seccompProfile:\n              type: RuntimeDefault\n          volumeMounts", "          volumeMounts", "seccompProfile is not RuntimeDefault"},
		{"a token login", base + "deployment.yaml", "value: kubernetes", "value: token", `VAULT_AUTH_METHOD is "token"`},
		{"no Vault token volume", base + "deployment.yaml", "value: /var/run/secrets/vault/token", "value: /var/run/secrets/other/token", "not a projected service account token"},
		{"TLS from a ConfigMap", base + "deployment.yaml", "          secret:\n            secretName: example-tls", "          configMap:\n            name: example-tls", "TLS_CERT_FILE /etc/example/tls/tls.crt is not in a volume from a Secret"},
		{"admin port open to all", base + "networkpolicy.yaml", "    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: monitoring\n      ports:", "    - ports:", "a rule with no from"},
		{"admin port open to ingress", base + "networkpolicy.yaml", "kubernetes.io/metadata.name: monitoring\n      ports:\n        - port: admin", "kubernetes.io/metadata.name: ingress-nginx\n      ports:\n        - port: admin", "port 9090 is open to namespace ingress-nginx"},
		{"selectors written into the peers", base + "kustomization.yaml", "    includeTemplates: true\n", "    includeSelectors: true\n", "selected by the service's own label app.kubernetes.io/name=example"},
		{"the admin port on the Service", base + "service.yaml", "targetPort: app", "targetPort: admin", "targets admin"},
		{"replicas on the Deployment", base + "deployment.yaml", "  revisionHistoryLimit: 10", "  replicas: 2\n  revisionHistoryLimit: 10", "sets replicas"},
		{"scrape on the app port", base + "deployment.yaml", `prometheus.io/port: "9090"`, `prometheus.io/port: "8080"`, "scrape annotations"},
		{"the wrong environment", deploy + "/overlays/staging/kustomization.yaml", "ENVIRONMENT=staging", "ENVIRONMENT=production", `ENVIRONMENT is "production"; want "staging"`},
		{"a missing environment file", deploy + "/overlays/staging/kustomization.yaml", "      - config/staging.yaml\n", "      - config/production.yaml=config/staging.yaml\n", "config/ has no staging.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplate(t)
			edit(t, dir, tc.file, tc.old, tc.new)
			if tc.name == "no seccomp" {
				// The pod's securityContext would still say RuntimeDefault.
				edit(t, dir, tc.file, "        seccompProfile:\n          type: RuntimeDefault\n", "")
			}
			problems, _ := checkOverlays(t, serviceTemplate, Server, filepath.Join(dir, deploy), filepath.Join(dir, df))
			var all []error
			for _, env := range Overlays {
				all = append(all, problems[env]...)
			}
			wantError(t, all, tc.want)
		})
	}
}

// TestOverlaysDifferOnlyInScaleAndData: an overlay that changes anything
// but replicas, resources and config data is refused.
func TestBrokenOverlayDiffers(t *testing.T) {
	dir := copyTemplate(t)
	edit(t, dir, deploy+"/overlays/staging/replicas.yaml", "  maxReplicas: 6\n", "  maxReplicas: 6\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 90\n")
	_, normal := checkOverlays(t, serviceTemplate, Server, filepath.Join(dir, deploy), filepath.Join(dir, df))
	if normal["staging"] == normal["development"] {
		t.Error("staging changed the autoscaling target, and Normalize did not tell it from development")
	}
}

// TestBrokenContract: the contract's own text must agree with the
// service's -help-config; a drift of either fails.
func TestBrokenContract(t *testing.T) {
	if _, err := LoadContract(root, serviceTemplate); err != nil {
		t.Fatal(err)
	}
	helpConfig := loadContract(root, serviceTemplate).help
	md, err := os.ReadFile(filepath.Join(root, "CONTRACT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for old, want := range map[string]string{
		"`SHUTDOWN_TIMEOUT` (default 25s":    "SHUTDOWN_TIMEOUT: CONTRACT.md says the default is 30s",
		"| admin | `ADMIN_ADDR` | `:9090` |": `ADMIN_ADDR: CONTRACT.md says the default is ":9091"`,
		"| `GET /startupz` |":                "no GET /startupz",
	} {
		broken := strings.Replace(string(md), old, strings.NewReplacer("25s", "30s", ":9090", ":9091", "/startupz", "/started").Replace(old), 1)
		if broken == string(md) {
			t.Fatalf("CONTRACT.md has no %q to break", old)
		}
		_, err := ParseContract([]byte(broken), helpConfig)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseContract with %q changed = %v; want an error with %q", old, err, want)
		}
	}
}
