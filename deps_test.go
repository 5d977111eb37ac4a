package operable_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/operable-go/operable"

// forbidden lists imports that a package may not have, with the reason, in
// the manner of tailscale's deptest. Keys are packages relative to the
// module ("" is the root); "*" applies to every package.
var forbidden = map[string]map[string]string{
	"*": {
		"testing": "test code only; the test harnesses and kits are the exceptions",
		module:    "nothing imports the root, which wires everything (examples may)",
		"net/http/pprof": "it registers on http.DefaultServeMux at import; only the root serves its handlers, " +
			"on the guarded admin mux",
	},
	"config":       {"net/http": "a config loader has no business on the network"},
	"secrets":      {"net/http": "the secret type is used outside servers"},
	"featureflags": {"net/http": "evaluation is used outside servers"},
}

// allowedException lets the packages named undo one "*" rule.
var allowedException = map[string][]string{
	"operabletest":            {"testing"},
	"internal/testserver":     {"testing"},
	"shutdown/shutdowntest":   {"testing"},
	"health/healthtest":       {"testing"},
	"telemetry/telemetrytest": {"testing"},
	"secrets/secretstest":     {"testing"},
	"config/configtest":       {"testing"},
	"featureflags/flagtest":   {"testing"},
	"logging/loggingtest":     {"testing"},
	"":                        {"net/http/pprof", module},
	"examples/service":        {module},
	"examples/first":          {module},
	"examples/second":         {module},
	"audit/inprocess":         {module},
	"examples/worker":         {module},
}

// TestImportsFollowArchitecture checks the import graph against the table in
// ARCHITECTURE.md and the forbidden list above.
func TestImportsFollowArchitecture(t *testing.T) {
	allowed := readDepsTable(t)
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		name := rel
		if name == "" {
			name = "operable"
		}
		may, ok := allowed[name]
		if !ok {
			t.Errorf("package %s has no row in ARCHITECTURE.md's package map", name)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				dep := strings.TrimPrefix(imp, module+"/")
				if !slices.Contains(may, dep) {
					t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow", name, dep)
				}
			}
			for _, scope := range []string{"*", rel} {
				why, bad := forbidden[scope][imp]
				if bad && !(scope == "*" && slices.Contains(allowedException[rel], imp)) {
					t.Errorf("%s imports %s: %s", name, imp, why)
				}
			}
		}
	}
	if seen < len(allowed) {
		t.Errorf("go list saw %d packages, ARCHITECTURE.md lists %d: remove the rows of packages that are gone", seen, len(allowed))
	}
}

// readDepsTable parses the package map between the deps markers.
func readDepsTable(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	begin, end := strings.Index(s, "<!-- deps:begin -->"), strings.Index(s, "<!-- deps:end -->")
	if begin < 0 || end < begin {
		t.Fatal("ARCHITECTURE.md has no deps:begin/deps:end table")
	}
	code := regexp.MustCompile("`([^`]+)`")
	table := map[string][]string{}
	for _, line := range strings.Split(s[begin:end], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "`") {
			continue
		}
		pkg := code.FindStringSubmatch(cells[1])[1]
		var deps []string
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			deps = append(deps, m[1])
		}
		table[pkg] = deps
	}
	return table
}
