// Package healthtest checks that a health check function or a probe handler
// behaves as the health package and the Kubernetes probes expect, in the
// manner of testing/fstest.TestFS: each function returns one error listing
// every misbehaviour found, each with the rule it breaks and where the rule
// is checked; the Run forms report them as subtests.
//
// Run the kit under the race detector: the concurrency rules can only find
// data races with it.
package healthtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Grace is how soon a check must return once its context is done.
const Grace = 100 * time.Millisecond

// rule is one behaviour a check or handler must have.
type rule[T any] struct {
	name        string
	explanation string
	check       func(T) error
}

// withSource appends where the rule is checked, as testing/slogtest does.
func withSource(s string) string {
	_, file, line, ok := runtime.Caller(1)
	if !ok {
		return s
	}
	return fmt.Sprintf("%s (%s:%d)", s, file[strings.LastIndex(file, "/")+1:], line)
}

// Check is the function type of health.Check.Func.
type Check = func(ctx context.Context) error

// callWithin calls fn(ctx) and reports whether it returned within d and
// whether it panicked; the check's own error is not judged.
func callWithin(fn Check, ctx context.Context, d time.Duration) (returned bool, panicked any) {
	type out struct{ p any }
	done := make(chan out, 1)
	go func() {
		var o out
		defer func() {
			o.p = recover()
			done <- o
		}()
		_ = fn(ctx)
	}()
	select {
	case o := <-done:
		return true, o.p
	case <-time.After(d):
		return false, nil
	}
}

var checkRules = []rule[Check]{
	{
		"cancelled-context",
		withSource("a check must return within Grace when its context is already done"),
		func(fn Check) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if ok, p := callWithin(fn, ctx, Grace); !ok || p != nil {
				return fmt.Errorf("returned %v, panicked %v", ok, p)
			}
			return nil
		},
	},
	{
		"deadline",
		withSource("a check must return within Grace of its context's deadline"),
		func(fn Check) error {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if ok, p := callWithin(fn, ctx, 50*time.Millisecond+Grace); !ok || p != nil {
				return fmt.Errorf("returned %v, panicked %v", ok, p)
			}
			return nil
		},
	},
	{
		"no-panic",
		withSource("a check must report trouble as an error, not a panic"),
		func(fn Check) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if ok, p := callWithin(fn, ctx, time.Second+Grace); p != nil {
				return fmt.Errorf("panicked: %v", p)
			} else if !ok {
				return errors.New("did not return within its 1s deadline")
			}
			return nil
		},
	},
	{
		"concurrent",
		withSource("a check must be safe for concurrent calls (probes overlap)"),
		func(fn Check) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() {
					if ok, p := callWithin(fn, ctx, time.Second+Grace); p != nil || !ok {
						errs[i] = fmt.Errorf("call %d: returned %v, panicked %v", i, ok, p)
					}
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		},
	},
}

// TestCheck runs fn against the rules every check must follow: it returns
// soon after its context is done (already cancelled, or at a deadline), it
// does not panic, and concurrent calls are safe. It returns nil or one error
// listing every broken rule.
func TestCheck(fn Check) error {
	var errs []error
	for _, r := range checkRules {
		if err := r.check(fn); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", r.name, r.explanation, err))
		}
	}
	return errors.Join(errs...)
}

// RunCheck runs each rule of TestCheck as a subtest of t, on a check made by
// newCheck for that subtest.
func RunCheck(t *testing.T, newCheck func(*testing.T) Check) {
	for _, r := range checkRules {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(newCheck(t)); err != nil {
				t.Errorf("%s: %v", r.explanation, err)
			}
		})
	}
}

// Probe is a probe handler and the path it is served on, e.g. "/readyz".
type Probe struct {
	Handler http.Handler
	Path    string
}

type probeBody struct {
	Status string                      `json:"status"`
	Checks map[string][]map[string]any `json:"checks"`
}

func (p Probe) get(method, query string) (*httptest.ResponseRecorder, probeBody, error) {
	rec := httptest.NewRecorder()
	p.Handler.ServeHTTP(rec, httptest.NewRequest(method, p.Path+query, nil))
	var body probeBody
	if method == http.MethodHead {
		return rec, body, nil
	}
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		return rec, body, fmt.Errorf("body %q is not JSON: %v", b, err)
	}
	return rec, body, nil
}

var validStatus = map[string]bool{"pass": true, "warn": true, "fail": true}

var probeRules = []rule[Probe]{
	{
		"content-type",
		withSource("a probe answers application/health+json"),
		func(p Probe) error {
			rec, _, err := p.get(http.MethodGet, "")
			if err != nil {
				return err
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/health+json") {
				return fmt.Errorf("Content-Type %q", ct)
			}
			return nil
		},
	},
	{
		"status-code",
		withSource("a probe answers 200 for pass or warn and 503 for fail"),
		func(p Probe) error {
			rec, body, err := p.get(http.MethodGet, "")
			if err != nil {
				return err
			}
			want := map[string]int{"pass": 200, "warn": 200, "fail": 503}[body.Status]
			if !validStatus[body.Status] || rec.Code != want {
				return fmt.Errorf("code %d with status %q", rec.Code, body.Status)
			}
			return nil
		},
	},
	{
		"verbose",
		withSource("?verbose lists every check with a valid status"),
		func(p Probe) error {
			_, body, err := p.get(http.MethodGet, "?verbose")
			if err != nil {
				return err
			}
			for name, results := range body.Checks {
				if len(results) == 0 || !validStatus[fmt.Sprint(results[0]["status"])] {
					return fmt.Errorf("check %q has no valid status: %v", name, results)
				}
			}
			return nil
		},
	},
	{
		"no-output-for-anonymous",
		withSource("failure reasons are shown only to authorized callers"),
		func(p Probe) error {
			_, body, err := p.get(http.MethodGet, "?verbose")
			if err != nil {
				return err
			}
			for name, results := range body.Checks {
				for _, r := range results {
					if _, ok := r["output"]; ok {
						return fmt.Errorf("check %q shows its output to an anonymous caller", name)
					}
				}
			}
			return nil
		},
	},
	{
		"not-cached",
		withSource("a probe answer must not be cached (Cache-Control: no-store)"),
		func(p Probe) error {
			rec, _, err := p.get(http.MethodGet, "")
			if err != nil {
				return err
			}
			if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				return fmt.Errorf("Cache-Control %q", cc)
			}
			return nil
		},
	},
	{
		"head",
		withSource("HEAD answers the same code as GET, with no body"),
		func(p Probe) error {
			get, _, err := p.get(http.MethodGet, "")
			if err != nil {
				return err
			}
			head, _, _ := p.get(http.MethodHead, "")
			if head.Code != get.Code || head.Body.Len() != 0 {
				return fmt.Errorf("HEAD code %d body %d bytes, GET code %d", head.Code, head.Body.Len(), get.Code)
			}
			return nil
		},
	},
}

// TestProbe checks a probe handler against the contract's probe rules:
// health+json, 200 or 503 matching the body's status, a valid ?verbose
// listing, no failure reasons for an anonymous caller, no caching, and HEAD.
// It returns nil or one error listing every broken rule.
func TestProbe(p Probe) error {
	var errs []error
	for _, r := range probeRules {
		if err := r.check(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", r.name, r.explanation, err))
		}
	}
	return errors.Join(errs...)
}

// RunProbe runs each rule of TestProbe as a subtest of t.
func RunProbe(t *testing.T, p Probe) {
	for _, r := range probeRules {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(p); err != nil {
				t.Errorf("%s: %v", r.explanation, err)
			}
		})
	}
}
