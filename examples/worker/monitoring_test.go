package main_test

// Checks of the worker's monitoring files by the tools that read them:
// deploy/monitoring/rules.yaml by `promtool check rules` and its unit tests
// by `promtool test rules`; every expression of
// deploy/monitoring/dashboard.json by Prometheus's parser (through
// promtool); every runbook_url against the headings of RUNBOOK.md; and
// every metric the rules and the dashboard name against the /metrics of
// the running worker, so that a renamed metric breaks the build, not the
// pager. promtool is Debian's (scripts/prometheus.sh; make test sets
// PROMETHEUS_DIR).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/operable-go/operable/internal/testserver"
)

const (
	monitoringDir = "deploy/monitoring"
	rulesFile     = monitoringDir + "/rules.yaml"
	dashboardFile = monitoringDir + "/dashboard.json"
	runbookFile   = "RUNBOOK.md"
)

func promtool(t *testing.T) string {
	t.Helper()
	return filepath.Join(testserver.Tool(t, "PROMETHEUS_DIR"), "promtool")
}

// grafanaValues are what Grafana substitutes for the variables the
// dashboard's expressions use: its own and the built-in interval.
var grafanaValues = map[string]string{"$job": "worker", "$__rate_interval": "5m"}

// dashboardExpressions are every query of every panel of the dashboard,
// its variables substituted; a panel but a row without one is an error.
func dashboardExpressions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %d has no query", p.ID)
		}
		for _, tg := range p.Targets {
			e := tg.Expr
			for k, v := range grafanaValues {
				e = strings.ReplaceAll(e, k, v)
			}
			if strings.Contains(e, "$") {
				t.Errorf("panel %d: %q uses a variable the dashboard does not define", p.ID, tg.Expr)
			}
			exprs = append(exprs, e)
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("%s has no expression", dashboardFile)
	}
	return exprs
}

// TestDashboardExpressionsParse: every expression of the dashboard is
// valid PromQL to Prometheus's own parser, as the recording rules of a
// temporary rule file that promtool checks.
func TestDashboardExpressionsParse(t *testing.T) {
	t.Parallel()
	var rules []map[string]string
	for i, e := range dashboardExpressions(t) {
		rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard:query_%d", i), "expr": e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool(t), "check", "rules", "dashboard.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("%d rules found", len(rules))) {
		t.Errorf("promtool check rules on the dashboard's queries: %v\n%s\n%s", err, out, b)
	}
}

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
	promtool := promtool(t)
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
	// A copy whose rule no longer fires as its test expects fails.
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	brokenRules := strings.Replace(string(rules), "(sum(up{job=\"worker\"}) or vector(0)) == 0", "(sum(up{job=\"worker\"}) or vector(0)) < 0", 1)
	if brokenRules == string(rules) {
		t.Fatal("rules.yaml has no WorkerDown expression to break")
	}
	for name, text := range map[string]string{"rules.yaml": brokenRules, "rules_test.yaml": string(b)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "test", "rules", "rules_test.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "WorkerDown") {
		t.Errorf("promtool test rules on a WorkerDown that never fires: %v\n%s", err, out)
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

// runbookProblems are the alerts whose runbook_url is not
// <base>/examples/worker/RUNBOOK.md#<anchor> with the anchor a heading of
// runbook, and the runbook's own links to a missing section.
func runbookProblems(rules []promRule, runbook string) []string {
	var problems []string
	anchors := githubAnchors(runbook)
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		base, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "#")
		if !ok || !strings.HasSuffix(base, "/examples/worker/"+runbookFile) {
			problems = append(problems, fmt.Sprintf("alert %s: runbook_url %q is not <base>/examples/worker/%s#<anchor>", r.Alert, r.Annotations["runbook_url"], runbookFile))
		}
		if !anchors[anchor] {
			problems = append(problems, fmt.Sprintf("alert %s: runbook_url names #%s, which is no heading of %s", r.Alert, anchor, runbookFile))
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(runbook, -1) {
		if !anchors[m[1]] {
			problems = append(problems, fmt.Sprintf("%s links to #%s, which is no heading of it", runbookFile, m[1]))
		}
	}
	return problems
}

// TestRunbookHasASectionForEveryAlert, and not for a copy that lost one.
func TestRunbookHasASectionForEveryAlert(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	rules := loadRules(t)
	for _, p := range runbookProblems(rules, string(b)) {
		t.Error(p)
	}
	broken := strings.Replace(string(b), "### WorkerDown\n", "### Worker down\n", 1)
	if broken == string(b) {
		t.Fatal("RUNBOOK.md has no ### WorkerDown to break")
	}
	if p := runbookProblems(rules, broken); !strings.Contains(strings.Join(p, "\n"), "names #workerdown, which is no heading") {
		t.Errorf("a runbook without the WorkerDown section: problems %q, want the missing #workerdown", p)
	}
}

// metricRef is a metric name followed by a selector or a range in PromQL.
var metricRef = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*[{\[]`)

// TestMonitoringNamesExistOnMetrics: every metric a rule or a panel
// selects is on the running worker's /metrics, once it has done and
// failed a job.
// missingMetrics are the metrics exprs select that present lacks
// (Prometheus's own up aside).
func missingMetrics(exprs []string, present map[string]bool) []string {
	var missing []string
	for _, e := range exprs {
		for _, m := range metricRef.FindAllStringSubmatch(e, -1) {
			if m[1] != "up" && !present[m[1]] && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
	}
	return missing
}

func TestMonitoringNamesExistOnMetrics(t *testing.T) {
	t.Parallel()
	exprs := dashboardExpressions(t)
	for _, r := range loadRules(t) {
		exprs = append(exprs, r.Expr)
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
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		// name{labels} value, or name value
		if i := strings.IndexAny(l, "{ "); i > 0 {
			present[l[:i]] = true
		}
	}
	if len(present) < 20 {
		t.Fatalf("/metrics has only %v", present)
	}
	for _, name := range missingMetrics(exprs, present) {
		t.Errorf("the rules or the dashboard name %s, which the worker's /metrics does not have", name)
	}
	// A rule naming a metric that does not exist is caught.
	broken := append(slices.Clone(exprs), `max(worker_backlg{job="worker"}) > 0`)
	if m := missingMetrics(broken, present); !slices.Equal(m, []string{"worker_backlg"}) {
		t.Errorf("a rule naming worker_backlg: missing %v, want [worker_backlg]", m)
	}
}
