package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Group is a set of probes a check belongs to. Groups combine with |.
type Group uint8

const (
	// Liveness checks say whether the process can make progress. A failing
	// liveness probe gets the container restarted, so they must never
	// depend on a remote dependency.
	Liveness Group = 1 << iota
	// Readiness checks say whether the service should receive traffic.
	Readiness
	// Startup checks say whether start-up has finished.
	Startup
)

// String returns the group's probe names joined with "|", e.g. "readiness".
func (g Group) String() string {
	var names []string
	for _, n := range []struct {
		g    Group
		name string
	}{{Liveness, "liveness"}, {Readiness, "readiness"}, {Startup, "startup"}} {
		if g&n.g != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "|")
}

// Status is a check's or a probe's result, as the health+json draft names it.
type Status string

// The three statuses of the health+json draft.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// DefaultTimeout bounds a check that sets no Timeout.
const DefaultTimeout = 5 * time.Second

// Check is one named check.
type Check struct {
	// Name identifies the check in output and in ?exclude=. Required,
	// unique within a Checker.
	Name string
	// Groups are the probes the check belongs to. Default: Readiness.
	Groups Group
	// Func reports the check's state: nil means pass. It must return
	// soon after ctx is done. Required.
	Func func(ctx context.Context) error
	// Timeout bounds one run; the context passed to Func is cancelled when
	// it runs out. Default: DefaultTimeout.
	Timeout time.Duration
	// NonCritical makes a failure count as warn: the probe still passes.
	// Default: false (a failure fails the probe).
	NonCritical bool
	// ComponentType is the health+json componentType, e.g. "datastore".
	// Default: "component".
	ComponentType string
}

// Checker holds checks and runs them. The zero value is an empty Checker
// ready for use. A Checker is safe for concurrent use; checks may be added
// while probes are served.
type Checker struct {
	mu     sync.RWMutex
	checks []Check
}

// Add registers c. It returns an error when the name is empty or taken or
// Func is nil.
func (c *Checker) Add(chk Check) error {
	if chk.Name == "" {
		return errors.New("health: check has no name")
	}
	if chk.Func == nil {
		return fmt.Errorf("health: check %q has no Func", chk.Name)
	}
	if chk.Groups == 0 {
		chk.Groups = Readiness
	}
	if chk.Timeout <= 0 {
		chk.Timeout = DefaultTimeout
	}
	if chk.ComponentType == "" {
		chk.ComponentType = "component"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.ContainsFunc(c.checks, func(x Check) bool { return x.Name == chk.Name }) {
		return fmt.Errorf("health: check %q already registered", chk.Name)
	}
	c.checks = append(c.checks, chk)
	return nil
}

// Result is the outcome of one probe.
type Result struct {
	Status Status
	Checks []CheckResult
}

// CheckResult is the outcome of one check in a probe.
type CheckResult struct {
	Name          string
	ComponentType string
	Status        Status
	// Err is the check's error, nil when it passed.
	Err      error
	Time     time.Time
	Duration time.Duration
}

// Evaluate runs the checks of group g, leaving out those named in exclude,
// concurrently, and combines their results: fail if a critical check
// failed, warn if only non-critical ones did, else pass. A group with no
// checks passes. The lock is not held while checks run.
func (c *Checker) Evaluate(ctx context.Context, g Group, exclude ...string) Result {
	c.mu.RLock()
	var run []Check
	for _, chk := range c.checks {
		if chk.Groups&g != 0 && !slices.Contains(exclude, chk.Name) {
			run = append(run, chk)
		}
	}
	c.mu.RUnlock()

	res := Result{Status: Pass, Checks: make([]CheckResult, len(run))}
	var wg sync.WaitGroup
	for i, chk := range run {
		wg.Go(func() { res.Checks[i] = runCheck(ctx, chk) })
	}
	wg.Wait()
	for _, cr := range res.Checks {
		if cr.Status == Fail {
			res.Status = Fail
		} else if cr.Status == Warn && res.Status == Pass {
			res.Status = Warn
		}
	}
	return res
}

// ErrTimeout is the error of a check that did not return within its timeout.
var ErrTimeout = errors.New("health: check timed out")

// runCheck runs one check under its timeout. A check that ignores its
// context is abandoned at the deadline: its goroutine ends when Func returns.
func runCheck(ctx context.Context, chk Check) CheckResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, chk.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("health: check %q panicked: %v", chk.Name, p)
			}
		}()
		done <- chk.Func(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ErrTimeout
		if ctx.Err() == context.Canceled {
			err = ctx.Err()
		}
	}
	cr := CheckResult{Name: chk.Name, ComponentType: chk.ComponentType, Status: Pass, Err: err, Time: start, Duration: time.Since(start)}
	if err != nil {
		cr.Status = Fail
		if chk.NonCritical {
			cr.Status = Warn
		}
	}
	return cr
}
