package health

import (
	"encoding/json"
	"net/http"
	"time"
)

// ContentType is the media type of probe bodies.
const ContentType = "application/health+json"

// HandlerOptions configure [Checker.Handler]. The zero value hides every
// check's error text.
type HandlerOptions struct {
	// Authorized reports whether the caller may read the checks' error
	// text (the health+json "output"). Default: nil, nobody may.
	Authorized func(*http.Request) bool
	// Redact, when set, rewrites each check's error text before an
	// authorized caller sees it: a service masks the secrets an error may
	// carry (a presigned URL's signature, a token in a message) as its logs
	// do. Default: nil, the text as the check returned it.
	Redact func(string) string
}

// Handler serves the probe for group g: 200 when the result is pass or warn,
// 503 when it is fail, with an application/health+json body. The body holds
// the status; with ?verbose, or when the probe does not pass, it also holds
// every check's status, and with ?verbose its time and duration. Error text
// ("output") is shown only to authorized callers. ?exclude=NAME (repeatable)
// leaves a check out.
//
// Mounted on a pattern with a {check} wildcard ("GET /readyz/{check}"), it
// serves that one check of the group, as the Kubernetes API server does:
// 200 or 503 with the check's detail, 404 for a check the group lacks.
func (c *Checker) Handler(g Group, opts HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, verbose := q["verbose"]
		showOutput := opts.Authorized != nil && opts.Authorized(r)

		var res Result
		if name := r.PathValue("check"); name != "" {
			cr, ok := c.Lookup(r.Context(), name)
			if !ok || cr.Groups&g == 0 {
				http.NotFound(w, r)
				return
			}
			res = Result{Status: combine([]CheckResult{cr}), Checks: []CheckResult{cr}}
			verbose = true
		} else {
			res = c.Evaluate(r.Context(), g, q["exclude"]...)
		}

		body := healthJSON{Status: res.Status}
		if verbose || res.Status != Pass {
			body.Checks = make(map[string][]checkJSON, len(res.Checks))
			for _, cr := range res.Checks {
				cj := checkJSON{Status: cr.Status, ComponentType: cr.ComponentType}
				if verbose && !cr.Time.IsZero() {
					cj.Time = cr.Time.UTC().Format(time.RFC3339Nano)
					cj.ObservedValue = cr.Duration.Seconds()
					cj.ObservedUnit = "s"
				}
				if verbose && showOutput && cr.Err != nil {
					cj.Output = cr.Err.Error()
					if opts.Redact != nil {
						cj.Output = opts.Redact(cj.Output)
					}
				}
				body.Checks[cr.Name] = []checkJSON{cj}
			}
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		code := http.StatusOK
		if res.Status == Fail {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(body)
		}
	})
}

type healthJSON struct {
	Status Status                 `json:"status"`
	Checks map[string][]checkJSON `json:"checks,omitempty"`
}

type checkJSON struct {
	ComponentType string  `json:"componentType,omitempty"`
	Status        Status  `json:"status"`
	Time          string  `json:"time,omitempty"`
	ObservedValue float64 `json:"observedValue,omitempty"`
	ObservedUnit  string  `json:"observedUnit,omitempty"`
	Output        string  `json:"output,omitempty"`
}
