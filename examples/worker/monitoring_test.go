package main_test

// Checks of the worker's monitoring files by the tools that read them:
// deploy/monitoring/rules.yaml by `promtool check rules` and its unit tests
// by `promtool test rules`; every runbook_url against the headings of
// RUNBOOK.md; and every metric the rules name against the /metrics of the
// running worker, so that a renamed metric breaks the build, not the
// pager. promtool is Debian's (scripts/prometheus.sh; make test sets
// PROMETHEUS_DIR).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/operable-go/operable/internal/testserver"
)

const (
	monitoringDir = "deploy/monitoring"
	rulesFile     = monitoringDir + "/rules.yaml"
	runbookFile   = "RUNBOOK.md"
)

type promRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []promRule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []promRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var rules []promRule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s holds no rule", rulesFile)
	}
	return rules
}

// TestMonitoringRulesPassPromtool: promtool accepts the rules and their
// unit tests pass; every alert has a severity, a runbook_url, and a unit
// test in which it fires and one in which it stays silent.
func TestMonitoringRulesPassPromtool(t *testing.T) {
	t.Parallel()
	promtool := filepath.Join(testserver.Tool(t, "PROMETHEUS_DIR"), "promtool")
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = monitoringDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(monitoringDir, "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if s := r.Labels["severity"]; s != "page" && s != "ticket" {
			t.Errorf("alert %s: severity %q, want page or ticket", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s has no summary or description", r.Alert)
		}
		if !fires[r.Alert] || !silent[r.Alert] {
			t.Errorf("alert %s: a unit test where it fires: %v, where it stays silent: %v; want both", r.Alert, fires[r.Alert], silent[r.Alert])
		}
	}
}

// githubAnchors are the anchors GitHub makes of a Markdown file's headings
// (lower case, punctuation dropped, spaces as "-"), outside code blocks.
func githubAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

func TestRunbookHasASectionForEveryAlert(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := githubAnchors(string(b))
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		base, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "#")
		if !ok || !strings.HasSuffix(base, "/examples/worker/"+runbookFile) {
			t.Errorf("alert %s: runbook_url %q is not <base>/examples/worker/%s#<anchor>", r.Alert, r.Annotations["runbook_url"], runbookFile)
		}
		if !anchors[anchor] {
			t.Errorf("alert %s: runbook_url names #%s, which is no heading of %s", r.Alert, anchor, runbookFile)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if !anchors[m[1]] {
			t.Errorf("%s links to #%s, which is no heading of it", runbookFile, m[1])
		}
	}
}

// metricRef is a metric name followed by a selector or a range in PromQL.
var metricRef = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*[{\[]`)

// TestMonitoringNamesExistOnMetrics: every metric a rule selects is on the
// running worker's /metrics, once it has done and failed a job.
func TestMonitoringNamesExistOnMetrics(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, r := range loadRules(t) {
		for _, m := range metricRef.FindAllStringSubmatch(r.Expr, -1) {
			if m[1] != "up" { // Prometheus's own, per target
				names[m[1]] = true
			}
		}
	}
	if len(names) < 4 {
		t.Fatalf("found only %v in the rules", names)
	}
	spool := t.TempDir()
	p := start(t, spool)
	submit(t, spool, "good", `{"text":"x"}`)
	submit(t, spool, "bad", `{`)
	waitFor(t, 10*time.Second, "both jobs", func() bool {
		return exists(filepath.Join(spool, "done", "good.json")) && exists(filepath.Join(spool, "failed", "bad.json"))
	})
	_, body := p.Get(p.AdminURL, "/metrics")
	present := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		if name, _, ok := strings.Cut(l, "{"); ok && !strings.HasPrefix(l, "#") {
			present[name] = true
		}
	}
	for name := range names {
		if !present[name] {
			t.Errorf("the rules name %s, which the worker's /metrics does not have", name)
		}
	}
}
