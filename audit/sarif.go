package audit

import (
	"encoding/json"
	"io"
	"strings"
)

// helpBase is the page that explains each check; a check's help URI is
// helpBase + "#" + its ID (docs/COMPLIANCE.md has an anchor per check).
const helpBase = "https://github.com/operable-go/operable/blob/main/docs/COMPLIANCE.md"

// The SARIF 2.1.0 objects the report fills (OASIS SARIF v2.1.0, errata 01),
// only the properties it sets.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool              sarifTool              `json:"tool"`
		Results           []sarifResult          `json:"results"`
		AutomationDetails sarifAutomationDetails `json:"automationDetails"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		ShortDescription sarifMessage `json:"shortDescription"`
		HelpURI          string       `json:"helpUri"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Kind       string          `json:"kind"`
		Level      string          `json:"level"`
		Message    sarifMessage    `json:"message"`
		Properties sarifProperties `json:"properties,omitzero"`
	}
	sarifProperties struct {
		Evidence []string `json:"evidence,omitempty"`
	}
	sarifAutomationDetails struct {
		Description sarifMessage `json:"description"`
	}
)

// WriteSARIF writes the report as a SARIF 2.1.0 log, for code-scanning
// tools: one run of the tool "operable audit", one rule per check of
// [Checks] (its title, and a help URI to its anchor under helpBase), and
// one result per check run. A failed check is a result of kind "fail" and
// level "error" whose message is its reason; a pass is kind "pass" and a
// skip kind "notApplicable" with the reason it was skipped, both at level
// "none" as the standard requires of a kind other than "fail". The
// evidence of every result is in its message, one line each, and in its
// property bag as "evidence". The run's description names the target.
func (r Report) WriteSARIF(w io.Writer) error {
	checks := Checks()
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "operable audit",
			InformationURI: helpBase,
			Rules:          make([]sarifRule, len(checks)),
		}},
		Results:           make([]sarifResult, 0, len(r.Results)),
		AutomationDetails: sarifAutomationDetails{Description: sarifMessage{Text: "audit of " + r.Target}},
	}
	for i, c := range checks {
		run.Tool.Driver.Rules[i] = sarifRule{ID: c.ID, ShortDescription: sarifMessage{Text: c.Title}, HelpURI: helpBase + "#" + c.ID}
	}
	for _, x := range r.Results {
		res := sarifResult{RuleID: x.ID, RuleIndex: index(x.ID), Level: "none", Properties: sarifProperties{Evidence: x.Evidence}}
		var text string
		switch x.Status {
		case Fail:
			res.Kind, res.Level, text = "fail", "error", "failed: "+x.Reason
		case Skip:
			res.Kind, text = "notApplicable", "skipped: "+x.Reason
		default:
			res.Kind, text = "pass", "passed: "+x.Title
		}
		if len(x.Evidence) > 0 {
			text += "\n- " + strings.Join(x.Evidence, "\n- ")
		}
		res.Message.Text = text
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}
