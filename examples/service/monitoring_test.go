package main_test

// Checks of the service's monitoring files by the tools that read them:
// deploy/monitoring/rules.yaml by `promtool check rules` and its unit tests
// (*_test.yaml) by `promtool test rules`; every expression of
// deploy/monitoring/dashboard.json by Prometheus's parser (through promtool,
// so that no Prometheus package enters go.mod); every runbook_url against
// the headings of RUNBOOK.md; and every metric and label the rules and the
// dashboard name against the /metrics of the running example, so that a
// renamed metric breaks the build, not the pager. promtool is Debian's
// (scripts/prometheus.sh; make test sets PROMETHEUS_DIR).

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	itemsv1 "github.com/operable-go/operable/examples/service/proto/items/v1"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/operabletest"
)

const (
	monitoringDir = "deploy/monitoring"
	rulesFile     = monitoringDir + "/rules.yaml"
	dashboardFile = monitoringDir + "/dashboard.json"
	runbookFile   = "RUNBOOK.md"
)

// promtool returns the path of promtool, skipping or failing the test as
// the integration tests do when PROMETHEUS_DIR is not set.
func promtool(t *testing.T) string {
	t.Helper()
	return filepath.Join(testserver.Tool(t, "PROMETHEUS_DIR"), "promtool")
}

// runPromtool runs promtool in dir and fails the test, with its output,
// when it exits non-zero.
func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// promRule is one rule of a Prometheus rule file.
type promRule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadRules reads rules.yaml's rules, in order.
func loadRules(t *testing.T) []promRule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string     `yaml:"name"`
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

// ruleTestFiles are the promtool unit test files beside the rules.
func ruleTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(monitoringDir, "*_test.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule tests in %s: %v", monitoringDir, err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// TestMonitoringRulesPassPromtool: promtool accepts rules.yaml and its unit
// tests pass; every alert has a severity, a summary, a description and a
// runbook_url, and a unit test in which it fires and one in which it stays
// silent.
func TestMonitoringRulesPassPromtool(t *testing.T) {
	t.Parallel()
	rules := loadRules(t)
	tests := ruleTestFiles(t)
	runPromtool(t, monitoringDir, "check", "rules", filepath.Base(rulesFile))
	runPromtool(t, monitoringDir, append([]string{"test", "rules"}, tests...)...)

	// What each alert's unit tests expect: firing (exp_alerts given) and
	// silent (none), at some evaluation.
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, name := range tests {
		b, err := os.ReadFile(filepath.Join(monitoringDir, name))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			RuleFiles []string `yaml:"rule_files"`
			Tests     []struct {
				AlertRuleTest []struct {
					Alertname string `yaml:"alertname"`
					ExpAlerts []any  `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(f.RuleFiles, []string{filepath.Base(rulesFile)}) {
			t.Errorf("%s tests rule files %v, want [%s]", name, f.RuleFiles, filepath.Base(rulesFile))
		}
		for _, tc := range f.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	alerts := map[string]bool{}
	for _, r := range rules {
		alerts[r.Alert] = r.Alert != ""
	}
	for _, name := range slices.Sorted(maps.Keys(fires)) {
		if !alerts[name] {
			t.Errorf("the unit tests test alert %s, which rules.yaml does not define", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(silent)) {
		if !alerts[name] {
			t.Errorf("the unit tests test alert %s, which rules.yaml does not define (silence proves nothing)", name)
		}
	}
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		if s := r.Labels["severity"]; s != "page" && s != "ticket" {
			t.Errorf("alert %s: severity %q, want page or ticket", r.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[k] == "" {
				t.Errorf("alert %s has no %s annotation", r.Alert, k)
			}
		}
		if !fires[r.Alert] {
			t.Errorf("alert %s: no unit test in %v shows it firing on a bad series", r.Alert, tests)
		}
		if !silent[r.Alert] {
			t.Errorf("alert %s: no unit test in %v shows it silent on a healthy series", r.Alert, tests)
		}
	}
}

// grafanaVariables are what Grafana substitutes into the dashboard's
// expressions before it sends them, with a value of the right kind: the
// dashboard's own variables and the built-in intervals.
var grafanaVariables = map[string]string{
	"job":             "example",
	"__rate_interval": "5m",
	"__interval":      "1m",
	"__range":         "1h",
}

var grafanaVariable = regexp.MustCompile(`\$(?:\{(\w+)\}|(\w+))`)

// dashboardExpr is one query of a dashboard panel.
type dashboardExpr struct {
	panel int
	title string
	refID string
	expr  string // with Grafana's variables substituted
}

func (e dashboardExpr) String() string {
	return fmt.Sprintf("panel %d %q query %s", e.panel, e.title, e.refID)
}

// dashboardExpressions returns every PromQL expression of the dashboard:
// every query of every panel, in rows too, with Grafana's variables
// substituted.
func dashboardExpressions(t *testing.T) []dashboardExpr {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int     `json:"id"`
		Title   string  `json:"title"`
		Type    string  `json:"type"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	var exprs []dashboardExpr
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %d %q has no query", p.ID, p.Title)
			}
			for _, tg := range p.Targets {
				e := dashboardExpr{panel: p.ID, title: p.Title, refID: tg.RefID}
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s has no expression", e)
					continue
				}
				expr := grafanaVariable.ReplaceAllStringFunc(tg.Expr, func(m string) string {
					name := strings.Trim(m, "${}")
					v, ok := grafanaVariables[name]
					if !ok || (!strings.HasPrefix(name, "__") && !defined[name]) {
						t.Errorf("%s uses $%s, which the dashboard does not define", e, name)
					}
					return v
				})
				e.expr = expr
				exprs = append(exprs, e)
			}
		}
	}
	walk(d.Panels)
	if len(exprs) == 0 {
		t.Fatalf("%s has no expression", dashboardFile)
	}
	return exprs
}

// TestDashboardExpressionsParse: every expression of the dashboard is
// valid PromQL to Prometheus's own parser. Each becomes a recording rule,
// named dashboard:panel_<id>_<refId> after its panel and query, of a
// temporary rule file that `promtool check rules` parses.
func TestDashboardExpressionsParse(t *testing.T) {
	t.Parallel()
	var rules []map[string]string
	var legend strings.Builder
	for _, e := range dashboardExpressions(t) {
		name := fmt.Sprintf("dashboard:panel_%d_%s", e.panel, e.refID)
		rules = append(rules, map[string]string{"record": name, "expr": e.expr})
		fmt.Fprintf(&legend, "%s: %s\n", name, e)
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard-rules.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t, dir, "check", "rules", "dashboard-rules.yaml")
	if t.Failed() {
		t.Logf("the rules are the dashboard's queries:\n%s", legend.String())
	} else if !strings.Contains(out, fmt.Sprintf("%d rules found", len(rules))) {
		t.Errorf("promtool found other than %d rules:\n%s", len(rules), out)
	}
}

// githubAnchors returns the anchors GitHub gives the headings of a
// Markdown document: the heading's text, lowercased, with everything but
// letters, digits, spaces, hyphens and underscores removed, spaces turned
// into hyphens, and -1, -2, ... added to repeats. Headings inside fenced
// code are not headings.
func githubAnchors(markdown string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	heading := regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	link := regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	for _, line := range strings.Split(markdown, "\n") {
		if trimmed := strings.TrimLeft(line, " "); strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
			continue
		}
		m := heading.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		text := link.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		anchors[a] = true
	}
	return anchors
}

// TestRunbookHasASectionForEveryAlert: every alert's runbook_url is
// <base>/RUNBOOK.md#<anchor> with one base for all, and the anchor is a
// heading of RUNBOOK.md as GitHub renders it; the runbook's own links to
// its sections resolve too.
func TestRunbookHasASectionForEveryAlert(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := githubAnchors(string(b))
	bases := map[string][]string{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		url := r.Annotations["runbook_url"]
		base, anchor, ok := strings.Cut(url, "#")
		if !ok || !strings.HasSuffix(base, "/"+runbookFile) || anchor == "" {
			t.Errorf("alert %s: runbook_url %q is not <base>/%s#<anchor>", r.Alert, url, runbookFile)
			continue
		}
		bases[base] = append(bases[base], r.Alert)
		if !anchors[anchor] {
			t.Errorf("alert %s: runbook_url names #%s, which is no heading of %s", r.Alert, anchor, runbookFile)
		}
	}
	if len(bases) > 1 {
		t.Errorf("the alerts' runbook_url have %d bases, want one: %v", len(bases), bases)
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if !anchors[m[1]] {
			t.Errorf("%s links to #%s, which is no heading of it", runbookFile, m[1])
		}
	}
}

func TestRunbookAnchorsFollowGitHub(t *testing.T) {
	t.Parallel()
	got := githubAnchors("# Run book\n## A breaker open\n### `VaultDown` (page)\n## Repeat\n## Repeat\n```\n# not a heading\n```\n## [Linked](x.md) text ##\n")
	want := []string{"run-book", "a-breaker-open", "vaultdown-page", "repeat", "repeat-1", "linked-text"}
	if len(got) != len(want) {
		t.Errorf("anchors %v, want %v", got, want)
	}
	for _, a := range want {
		if !got[a] {
			t.Errorf("anchors %v lack %q", got, a)
		}
	}
}

// selector is a metric name a PromQL expression selects, with the labels
// its matchers name.
type selector struct {
	name   string
	labels []string
}

// promqlKeywords are the words of PromQL that are neither functions (a
// function name is followed by a parenthesis) nor metric names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
	// aggregations, which may be followed by by/without before their
	// parenthesis
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "group": true,
	"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true,
	"count_values": true, "limitk": true, "limit_ratio": true,
}

// promqlLabelLists are the keywords followed by a parenthesised list of
// label names, not of metrics.
var promqlLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// promqlSelectors returns the metrics an expression selects, with the
// labels of their matchers. It skips strings, comments, ranges and
// durations, numbers, function names, keywords and the label lists of
// by/without/on/ignoring/group_left/group_right; it reports what it does
// not understand rather than guess.
func promqlSelectors(expr string) ([]selector, error) {
	var out []selector
	s := expr
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
		return i
	}
	// skipString returns the index after the string literal at i.
	skipString := func(i int) (int, error) {
		q := s[i]
		for j := i + 1; j < len(s); j++ {
			switch {
			case s[j] == '\\' && q != '`':
				j++
			case s[j] == q:
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string at %d", i)
	}
	// skipTo returns the index after the bracket closing the one at i.
	skipTo := func(i int, open, close byte) (int, error) {
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"', '\'', '`':
				k, err := skipString(j)
				if err != nil {
					return 0, err
				}
				j = k - 1
			case open:
				depth++
			case close:
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unclosed %q at %d", open, i)
	}
	// matchers parses the matchers of the braces at i: the label names,
	// and the metric name of a __name__="..." matcher.
	matchers := func(i int) (labels []string, name string, next int, err error) {
		i++ // {
		for {
			i = skipSpace(i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == '}' {
				return labels, name, i + 1, nil
			}
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			if j == i {
				return nil, "", 0, fmt.Errorf("unsupported matcher at %d: %.20q", i, s[i:])
			}
			label := s[i:j]
			j = skipSpace(j)
			op := ""
			for _, o := range []string{"=~", "!~", "!=", "="} {
				if strings.HasPrefix(s[j:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, "", 0, fmt.Errorf("no matcher operator after %s at %d", label, j)
			}
			j = skipSpace(j + len(op))
			if j >= len(s) || !strings.ContainsRune("\"'`", rune(s[j])) {
				return nil, "", 0, fmt.Errorf("no string after %s%s at %d", label, op, j)
			}
			k, err := skipString(j)
			if err != nil {
				return nil, "", 0, err
			}
			if label == "__name__" {
				if op != "=" {
					return nil, "", 0, fmt.Errorf("a __name__%s matcher selects no one metric", op)
				}
				name = s[j+1 : k-1]
			} else {
				labels = append(labels, label)
			}
			i = k
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			j, err := skipTo(i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '{':
			labels, name, j, err := matchers(i)
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, fmt.Errorf("a selector without a metric name at %d", i)
			}
			out = append(out, selector{name: name, labels: labels})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// A number (1, 0.25, 1e-3, 0x1f) or a duration (5m, 1h30m).
			start := i
			hex := strings.HasPrefix(strings.ToLower(s[i:]), "0x")
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' ||
				(s[i] == '-' || s[i] == '+') && !hex && i > start && (s[i-1] == 'e' || s[i-1] == 'E')) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := skipSpace(j)
			switch {
			case promqlLabelLists[strings.ToLower(word)]:
				if k < len(s) && s[k] == '(' {
					end, err := skipTo(k, '(', ')')
					if err != nil {
						return nil, err
					}
					j = end
				}
			case promqlKeywords[strings.ToLower(word)]:
			case k < len(s) && s[k] == '(':
				// a function
			default:
				sel := selector{name: word}
				if k < len(s) && s[k] == '{' {
					labels, name, end, err := matchers(k)
					if err != nil {
						return nil, err
					}
					if name != "" {
						return nil, fmt.Errorf("%s{__name__=...} names two metrics", word)
					}
					sel.labels, j = labels, end
				}
				out = append(out, sel)
			}
			i = j
		default:
			i++
		}
	}
	return out, nil
}

func TestMonitoringTokenizerFindsOnlyMetrics(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`sum by (job, le) (rate(a_bucket{job="x", le="0.25"}[5m] offset 1h)) / on (job) group_left (version) b_info`: `a_bucket{job,le} b_info{}`,
		`histogram_quantile(0.99, sum without (instance) (rate(c_seconds_bucket[$x:1m])))`:                           `c_seconds_bucket{}`,
		`(sum(up{job="example"}) or vector(0)) == 0 and bool d > 1e-3 unless e{f!~"by|on(x)"} < Inf`:                 `up{job} d{} e{f}`,
		`max by (job) (g{h=~"a\"b"}) > 9e18 and topk(3, i) # comment naming nope`:                                    `g{h} i{}`,
		`{__name__="j", k="v"} + count_values("l", m) @ start() + .5`:                                                `j{k} m{}`,
		`job:ratio:rate5m{job="example"} > (14.4 * 0.001)`:                                                           `job:ratio:rate5m{job}`,
	} {
		sels, err := promqlSelectors(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			got = append(got, s.name+"{"+strings.Join(s.labels, ",")+"}")
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: got %v, want %s", expr, got, want)
		}
	}
	for _, bad := range []string{`a{"quoted.name"}`, `{job="x"}`, `a{b=~"c`, `rate(a[5m)`, `a{b}`} {
		if _, err := promqlSelectors(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// scrapeLabels are the labels Prometheus adds to every series it scrapes,
// and scrapeSeries the series it writes itself, with the reason.
var (
	scrapeLabels = map[string]bool{"job": true, "instance": true}
	scrapeSeries = map[string]string{"up": "written by Prometheus for every scrape target"}
)

// exposedLabels parses a Prometheus text exposition into each sample
// name's label names.
func exposedLabels(t *testing.T, body string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			t.Fatalf("/metrics line %q has no value", line)
		}
		name := line[:end]
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		if line[end] != '{' {
			continue
		}
		// label="value",... up to the closing brace; a value may hold
		// commas, braces and escaped quotes.
		for i := end + 1; i < len(line) && line[i] != '}'; {
			eq := strings.Index(line[i:], `="`)
			if eq < 0 {
				t.Fatalf("/metrics line %q: no label value after %d", line, i)
			}
			out[name][strings.TrimSpace(line[i:i+eq])] = true
			j := i + eq + 2
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
			if i < len(line) && line[i] == ',' {
				i++
			}
		}
	}
	return out
}

// TestMonitoringNamesExistOnMetrics runs the example with every part that
// exports a metric family at work (the audit upstream failing behind its
// breaker until it opens, the flags file, a config reload, the gRPC API
// with a served call, a made-up method, a health check and a handler's
// panic), scrapes
// /metrics, and checks that every metric a rule or a dashboard panel
// selects, and every label of their matchers, is there. Names defined by a
// recording rule count as existing, with the labels they keep.
func TestMonitoringNamesExistOnMetrics(t *testing.T) {
	t.Parallel()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(sink.Close)
	flags, err := filepath.Abs("flags.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := configWriter(t, dir)
	write("GREETING: Hi\n")
	p := operabletest.StartIn(t, dir, operabletest.Build(t, pkg),
		"AUDIT_URL="+sink.URL, "AUDIT_INTERVAL=50ms", "AUDIT_BREAKER_MIN_CALLS=2", "AUDIT_BREAKER_OPEN_TIMEOUT=10m",
		"FLAGS_FILE="+flags, "GRPC_ADDR=127.0.0.1:0", "DRILL_PANIC_ITEM=drill")
	conn := dial(t, p.GRPCAddr(5*time.Second))
	items := itemsv1.NewItemsServiceClient(conn)
	drill, err := items.CreateItem(callCtx(t), &itemsv1.CreateItemRequest{Name: "drill"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := items.GetItem(callCtx(t), &itemsv1.GetItemRequest{Id: drill.GetId()}); status.Code(err) != codes.Internal {
		t.Errorf("GetItem of the drill item = %v, want Internal", err)
	}
	if err := conn.Invoke(callCtx(t), "/made.Up/Method", &itemsv1.ListItemsRequest{}, &itemsv1.ListItemsResponse{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("a made-up method = %v, want Unimplemented", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(callCtx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("grpc.health.v1 Check: %v", err)
	}
	for _, path := range []string{"/hello?name=ops", "/items", "/items/1", "/items/x", "/work?duration=1ms", "/no/such/route"} {
		p.Get(p.AppURL, path)
	}
	createItem(t, p, "audited") // an event for the audit log to send, through the breaker
	write("GREETING: Yo\n")     // a reload
	var body string
	waitFor(t, 15*time.Second, func() bool {
		_, body = p.Get(p.AdminURL, "/metrics")
		return strings.Contains(body, `circuit_breaker_rejections_total{`) && strings.Contains(body, "config_reloads_total{") &&
			strings.Contains(body, "rpc_server_panics_total{") && strings.Contains(body, `rpc_method="grpc.health.v1.Health/Check"`)
	})
	exposed := exposedLabels(t, body)

	// What the recording rules define: their name, with the labels their
	// aggregation keeps.
	recorded := map[string]map[string]bool{}
	byLabels := regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	rules := loadRules(t)
	for _, r := range rules {
		if r.Record == "" {
			continue
		}
		recorded[r.Record] = map[string]bool{}
		if m := byLabels.FindStringSubmatch(r.Expr); m != nil {
			for _, l := range strings.Split(m[1], ",") {
				recorded[r.Record][strings.TrimSpace(l)] = true
			}
		}
	}
	exprs := map[string]string{}
	for _, r := range rules {
		exprs[fmt.Sprintf("rule %s%s", r.Record, r.Alert)] = r.Expr
	}
	for _, e := range dashboardExpressions(t) {
		exprs["dashboard "+e.String()] = e.expr
	}
	used := map[string]bool{}
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		sels, err := promqlSelectors(exprs[where])
		if err != nil {
			t.Errorf("%s: cannot read %q: %v", where, exprs[where], err)
			continue
		}
		for _, s := range sels {
			used[s.name] = true
			labels, ok := exposed[s.name]
			switch {
			case ok:
			case recorded[s.name] != nil:
				labels = recorded[s.name]
			case scrapeSeries[s.name] != "":
				labels = map[string]bool{}
			default:
				t.Errorf("%s selects %s, which is neither on the example's /metrics nor a recording rule", where, s.name)
				continue
			}
			for _, l := range s.labels {
				if !labels[l] && !scrapeLabels[l] {
					t.Errorf("%s matches label %s of %s, which no series of %s on /metrics has", where, l, s.name, s.name)
				}
			}
		}
	}
	// A bucket an expression names (the latency SLO's le="0.25") is a
	// boundary the histogram really has, so that the ratio is exact.
	bucket := regexp.MustCompile(`(\w+_bucket)\{[^}]*\ble="([^"]+)"`)
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		for _, m := range bucket.FindAllStringSubmatch(exprs[where], -1) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `\{.*\ble="` + regexp.QuoteMeta(m[2]) + `"`).MatchString(body) {
				t.Errorf("%s names the bucket le=%q of %s, which is no boundary of it on /metrics", where, m[2], m[1])
			}
		}
	}
	names := slices.Sorted(maps.Keys(used))
	t.Logf("%d metrics checked against /metrics: %s", len(names), strings.Join(names, " "))
	if t.Failed() {
		families := slices.Sorted(maps.Keys(exposed))
		t.Logf("/metrics has: %s", strings.Join(families, " "))
	}
}
