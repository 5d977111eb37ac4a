package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/operable-go/operable/audit"
)

// sarifSchema compiles testdata/sarif-schema-2.1.0.json, the OASIS
// standard's schema (where it comes from: its .source file), with format
// assertions on.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sarifOf writes r as SARIF, checks it against the schema, and decodes the
// parts the tests read.
func sarifOf(t *testing.T, schema *jsonschema.Schema, r audit.Report) sarifDoc {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("the SARIF output does not match the SARIF 2.1.0 schema: %v\n%s", err, b.String())
	}
	var doc sarifDoc
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

type sarifDoc struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct{ Text string }
					HelpURI          string `json:"helpUri"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Kind      string `json:"kind"`
			Level     string `json:"level"`
			Message   struct{ Text string }
		} `json:"results"`
	} `json:"runs"`
}

// TestSARIFMatchesTheSchema: the -sarif form of a real report (one check
// failed, one skipped) and of one with every outcome is valid SARIF 2.1.0,
// with one rule per check whose help URI is an anchor of
// docs/COMPLIANCE.md, and one result per check run, of the kind its
// outcome says.
func TestSARIFMatchesTheSchema(t *testing.T) {
	schema := sarifSchema(t)
	page, err := os.ReadFile("../docs/COMPLIANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	real, err := audit.Run(context.Background(), audit.Target{AdminURL: "http://127.0.0.1:1"}, audit.Options{Checks: []string{"probes.health-json", "shutdown.exit"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		report audit.Report
		want   []string // ruleId=kind/level, in order
	}{
		{"a real audit", real, []string{"probes.health-json=fail/error", "shutdown.exit=notApplicable/none"}},
		{"every outcome", audit.Report{Target: "svc", Results: []audit.Result{
			{ID: "probes.verbose", Title: "t", Status: audit.Pass, Evidence: []string{"GET /livez?verbose: 3 checks"}},
			{ID: "debug.guard", Title: "t", Status: audit.Fail, Reason: "the debug pages are open", Evidence: []string{"GET /debug/info with no token: 200"}},
			{ID: "exit.usage", Title: "t", Status: audit.Skip, Reason: "needs a process"},
		}}, []string{"probes.verbose=pass/none", "debug.guard=fail/error", "exit.usage=notApplicable/none"}},
		{"no result", audit.Report{Target: "svc"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := sarifOf(t, schema, tc.report)
			if doc.Version != "2.1.0" || len(doc.Runs) != 1 {
				t.Fatalf("version %q, %d runs; want 2.1.0 and one run", doc.Version, len(doc.Runs))
			}
			run := doc.Runs[0]
			if run.Tool.Driver.Name != "operable audit" {
				t.Errorf("tool %q", run.Tool.Driver.Name)
			}
			checks := audit.Checks()
			if len(run.Tool.Driver.Rules) != len(checks) {
				t.Fatalf("%d rules for %d checks", len(run.Tool.Driver.Rules), len(checks))
			}
			for i, rule := range run.Tool.Driver.Rules {
				_, anchor, _ := strings.Cut(rule.HelpURI, "#")
				switch {
				case rule.ID != checks[i].ID || rule.ShortDescription.Text != checks[i].Title:
					t.Errorf("rule %d is %s %q, want %s %q", i, rule.ID, rule.ShortDescription.Text, checks[i].ID, checks[i].Title)
				case !strings.HasPrefix(rule.HelpURI, "https://") || anchor != rule.ID:
					t.Errorf("rule %s: help URI %s, want an https URI to the anchor #%s", rule.ID, rule.HelpURI, rule.ID)
				case !strings.Contains(string(page), `<a id="`+anchor+`"></a>`):
					t.Errorf("rule %s: docs/COMPLIANCE.md has no anchor %q", rule.ID, anchor)
				}
			}
			var got []string
			for i, res := range run.Results {
				got = append(got, res.RuleID+"="+res.Kind+"/"+res.Level)
				if res.RuleIndex < 0 || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
					t.Errorf("result %d: ruleIndex %d does not point to %s", i, res.RuleIndex, res.RuleID)
				}
				x := tc.report.Results[i]
				if !strings.Contains(res.Message.Text, x.Reason) || (len(x.Evidence) > 0 && !strings.Contains(res.Message.Text, x.Evidence[0])) {
					t.Errorf("result %s: message %q lacks the reason or the evidence", res.RuleID, res.Message.Text)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("results %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTheSchemaRefusesABrokenLog shows the validation can fail: a log
// without its version and a result with a kind SARIF does not define are
// refused.
func TestTheSchemaRefusesABrokenLog(t *testing.T) {
	schema := sarifSchema(t)
	for _, doc := range []string{
		`{"runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"kind":"skip"}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("the schema accepted %s", doc)
		}
	}
}
