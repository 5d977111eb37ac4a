package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Skip is a check that could not run against this target, with the
	// reason in Result.Reason (a process check against a service the audit
	// did not start, a debug page without a token).
	Skip Status = "skip"
)

// Result is what one check found.
type Result struct {
	// ID names the check ("probes.health-json"); [Checks] lists them.
	ID string `json:"id"`
	// Title says what the check proves, for people.
	Title string `json:"title"`
	// Status is pass, fail or skip.
	Status Status `json:"status"`
	// Reason says why it failed or was skipped; empty on a pass.
	Reason string `json:"reason,omitempty"`
	// Evidence is what the check saw: requests and answers, counts, log
	// lines (secrets never quoted), so that a reviewer can judge it.
	Evidence []string `json:"evidence,omitempty"`
}

// Report is the outcome of an audit: one result per check run, in the
// order of [Checks].
type Report struct {
	Target  string   `json:"target"`
	Results []Result `json:"results"`
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Results, func(x Result) bool { return x.Status == Fail })
}

// WriteText writes the report for people: one line per check, then its
// reason and evidence indented, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "audit of %s\n", r.Target)
	counts := map[Status]int{}
	for _, x := range r.Results {
		counts[x.Status]++
		fmt.Fprintf(&b, "%-4s  %-24s %s\n", strings.ToUpper(string(x.Status)), x.ID, x.Title)
		if x.Reason != "" {
			fmt.Fprintf(&b, "      why: %s\n", x.Reason)
		}
		for _, e := range x.Evidence {
			fmt.Fprintf(&b, "      - %s\n", e)
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", counts[Pass], counts[Fail], counts[Skip])
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object, for machines.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Check is one item of the checklist.
type Check struct {
	// ID is the check's stable name, for -checks and for CI.
	ID string
	// Title says what passing proves.
	Title string
	// needsProcess: the check judges the process (its logs, signals, exit
	// codes), so it runs only when the audit started the service.
	needsProcess bool
	run          func(a *auditor, ctx context.Context) Result
}

// Checks lists every check, in the order an audit runs them: the ones
// against the running service's listeners, then the ones that need the
// audit to have started it (logs, the stop, exit codes).
func Checks() []Check { return slices.Clone(checklist) }

// Options tune an audit. The zero value runs every check.
type Options struct {
	// Checks selects checks by ID, or by the prefix before the dot
	// ("probes" selects every probes.* check). Default: all.
	Checks []string
	// Token is the ADMIN_TOKEN of the service, for the checks that read
	// /debug/ pages; without it they are skipped. [Start] sets its own.
	Token string
	// Client sends the requests. Default: a client with a 10 s timeout
	// that keeps no connection across checks.
	Client *http.Client
	// Timeout bounds the whole audit. Default: 2 minutes.
	Timeout time.Duration
	// AppPaths are GET paths that the app's routes serve ("/orders/1"),
	// for metrics.red: each must answer below 400 and the histogram must
	// then have a series labelled with its route template. Default: none;
	// the audit sends GET / and, when no route answers it and the
	// histogram has no series by route (a worker's app, or a service with
	// routes elsewhere), judges the histogram of the unmatched requests
	// and skips metrics.red with the reason "no routed series".
	AppPaths []string
	// HeaderTimeout is how long a server may leave a client that never
	// ends its headers connected before timeouts.read-header fails; the
	// contract's default read-header timeout is 5s. Default: 20s.
	HeaderTimeout time.Duration
}

// Target is a running service to audit.
type Target struct {
	// AdminURL is the base URL of the admin listener
	// ("http://127.0.0.1:9090"). Required.
	AdminURL string
	// AppURL is the base URL of the application listener; without it the
	// checks of app requests are skipped, as for a worker that serves
	// none.
	AppURL string
	// GRPCAddr is the host:port of the gRPC listener (plaintext); without
	// it the grpc.* checks are skipped, as for a service that serves no
	// gRPC.
	GRPCAddr string
	// Process, set by [Start] or [StartWith], is the service the audit
	// started (a process, or a service in the test's own process through
	// package audit/inprocess): with it the audit also judges its logs,
	// its stop and its exit codes.
	Process *Process
}

// Run audits target with the checks opts selects and returns the report.
// It fails only when opts name a check that does not exist; a check that
// cannot run is a skip, with its reason.
func Run(ctx context.Context, target Target, opts Options) (Report, error) {
	selected, err := selectChecks(opts.Checks)
	if err != nil {
		return Report{}, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	a := &auditor{target: target, opts: opts, client: opts.Client}
	if a.client == nil {
		a.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	if target.Process != nil && opts.Token == "" {
		a.opts.Token = target.Process.token
	}
	a.planted = target.Process.plantedValues()
	report := Report{Target: strings.TrimSpace(strings.Join(strings.Fields(target.AdminURL+" "+target.AppURL+" "+target.GRPCAddr), " "))}
	if target.Process != nil {
		report.Target = target.Process.name
	}
	for _, c := range selected {
		var r Result
		switch {
		case c.needsProcess && target.Process == nil:
			r = Result{Status: Skip, Reason: "needs the service started by the audit (operable audit -- COMMAND, audit.Start or audit/inprocess)"}
		case ctx.Err() != nil:
			r = Result{Status: Skip, Reason: "the audit ran out of time"}
		default:
			r = c.run(a, ctx)
		}
		r.ID, r.Title = c.ID, c.Title
		report.Results = append(report.Results, r)
	}
	return report, nil
}

func selectChecks(ids []string) ([]Check, error) {
	if len(ids) == 0 {
		return checklist, nil
	}
	var out []Check
	for _, id := range ids {
		found := false
		for _, c := range checklist {
			if c.ID == id || strings.HasPrefix(c.ID, id+".") {
				found = true
				if !slices.ContainsFunc(out, func(x Check) bool { return x.ID == c.ID }) {
					out = append(out, c)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("audit: no check %q (operable audit -list names them)", id)
		}
	}
	// In the checklist's order: the process checks stop the service.
	slices.SortFunc(out, func(x, y Check) int { return index(x.ID) - index(y.ID) })
	return out, nil
}

func index(id string) int {
	return slices.IndexFunc(checklist, func(c Check) bool { return c.ID == id })
}

// auditor is one audit under way.
type auditor struct {
	target  Target
	opts    Options
	client  *http.Client
	planted []string // values no output may contain
}

// randomValue is a value no service holds by chance, to plant and look for.
func randomValue(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func pass(evidence ...string) Result { return Result{Status: Pass, Evidence: evidence} }

func fail(reason string, evidence ...string) Result {
	return Result{Status: Fail, Reason: reason, Evidence: evidence}
}

func skip(reason string) Result { return Result{Status: Skip, Reason: reason} }
