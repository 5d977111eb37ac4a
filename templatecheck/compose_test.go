package templatecheck

import (
	"os"
	"path/filepath"
	"testing"
)

var composeFile = filepath.Join(serviceDir, "compose.yaml")

func checkCompose(t *testing.T, path, dockerfile string) []error {
	t.Helper()
	c, err := LoadContract(root, serviceTemplate)
	if err != nil {
		t.Fatal(err)
	}
	img, err := RuntimeImage(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return CheckCompose(path, c, img)
}

func TestCompose(t *testing.T) {
	for _, err := range checkCompose(t, composeFile, dockerfile) {
		t.Error(err)
	}
}

func TestBrokenCompose(t *testing.T) {
	const cf = "examples/service/compose.yaml"
	for _, tc := range []struct{ name, old, new, want string }{
		{"a schema error", "    read_only: true\n", "    read_only: true\n    readonly: true\n", "readonly"},
		{"an unpinned image", "image: hashicorp/vault:1.21.1\n    command", "image: hashicorp/vault:latest\n    command", `tag "latest" is not an exact version`},
		{"a short stop grace period", "stop_grace_period: 35s", "stop_grace_period: 10s", "stop_grace_period 10s"},
		{"a writable root", "    read_only: true\n", "", "read_only is not true"},
		{"root", `user: "65532:65532"`, `user: "0"`, "is not the image's numeric USER"},
		{"a missing rules file", "source: ./deploy/monitoring/rules.yaml", "source: ./deploy/monitoring/rule.yaml", "does not exist"},
		{"a variable typo", "      LOG_FORMAT: text", "      LOG_FORMT: text", "LOG_FORMT is a typo of LOG_FORMAT"},
		{"the wrong scrape port", `targets: ["example:9090"]`, `targets: ["example:8080"]`, `no job "example" scraping example:9090`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTemplate(t)
			dt, err := os.ReadFile(composeFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, cf), dt, 0o644); err != nil {
				t.Fatal(err)
			}
			edit(t, dir, cf, tc.old, tc.new)
			wantError(t, checkCompose(t, filepath.Join(dir, cf), filepath.Join(dir, df)), tc.want)
		})
	}
}
