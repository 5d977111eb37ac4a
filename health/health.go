package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// Defaults used when a Check leaves a field zero.
const (
	DefaultTimeout = 5 * time.Second
)

// Errors a check's result can carry besides the check's own.
var (
	// ErrTimeout is the error of a check that did not return within its
	// timeout.
	ErrTimeout = errors.New("health: check timed out")
	// ErrNoResult is the error of a check that has not produced a result
	// yet: until it has, it counts as failing, so that nothing reports
	// healthy before it was checked.
	ErrNoResult = errors.New("health: no result yet")
	// ErrStale is the error of a background check whose last result is
	// older than twice its interval plus its timeout: its runner is stuck
	// or stopped, and an old pass proves nothing.
	ErrStale = errors.New("health: result is stale")
)

// Check is one named check.
type Check struct {
	// Name identifies the check in output, in ?exclude= and in sub-paths.
	// Required, unique within a Checker, without "/".
	Name string
	// Groups are the probes the check belongs to. Default: Readiness.
	Groups Group
	// Func reports the check's state: nil means pass. It must return
	// soon after ctx is done. Required.
	Func func(ctx context.Context) error
	// Timeout bounds one run; the context passed to Func is cancelled when
	// it runs out. Default: DefaultTimeout.
	Timeout time.Duration
	// Interval, when positive, runs the check in the background every
	// Interval (see [Checker.Run]); probes read the last result and never
	// wait for the check. Zero runs the check when a probe asks, with
	// concurrent probes sharing one run: keep that for cheap, in-process
	// checks. Default: 0.
	Interval time.Duration
	// InitialDelay delays a background check's first run. Until its first
	// result the check counts as failing. Default: 0.
	InitialDelay time.Duration
	// FailureThreshold is how many consecutive failures it takes for a
	// check that passed before to count as failing (flap damping).
	// Default: 1.
	FailureThreshold int
	// NonCritical makes a failure count as warn: the probe still passes.
	// Default: false (a failure fails the probe).
	NonCritical bool
	// ComponentType is the health+json componentType, e.g. "datastore".
	// Default: "component".
	ComponentType string
}

// CheckResult is the state of one check.
type CheckResult struct {
	Name          string
	ComponentType string
	Groups        Group
	// Status is the check's effective status: flap damping applied, and
	// Warn for a failing non-critical check.
	Status Status
	// Err is the error of the last run (nil when it passed); with flap
	// damping, Status may still be Pass while Err is not nil.
	Err error
	// Time is when the last run started; zero before the first one.
	Time time.Time
	// Duration is how long the last run took.
	Duration time.Duration
}

// Event tells a subscriber that a check's effective status changed.
type Event struct {
	Name   string
	Groups Group
	// Previous is the status before Current: the last result's, or, when
	// First, the status served before the check ever ran (fail, or warn for
	// a non-critical check).
	Previous Status
	Current  CheckResult
	// First says Current is the check's first result. For a check run on
	// demand no probe was answered with Previous: the probe that asked ran
	// the check.
	First bool
}

// Checker holds checks, runs them, and serves their results. The zero value
// is an empty Checker ready for use. A Checker is safe for concurrent use;
// checks may be added while probes are served. Background checks
// (Check.Interval > 0) run only while [Checker.Run] runs.
type Checker struct {
	mu      sync.RWMutex // never held while a check runs
	checks  []*state
	subs    map[*subscriber]struct{}
	running bool
	added   chan struct{} // closed and replaced when a check is added while Run runs
}

// state is one check, its last result and its single in-flight run.
type state struct {
	Check
	result atomic.Pointer[CheckResult]

	mu        sync.Mutex // guards the fields below, never held while Func runs
	inflight  *run
	failures  int  // consecutive failures
	passed    bool // passed at least once
	scheduled bool // a background runner owns this check
}

// run is one execution of a check that several callers may wait for.
type run struct {
	done chan struct{}
	res  CheckResult
}

type subscriber struct{ fn func(Event) }

// Add registers chk. It returns an error when the name is empty, taken or
// holds a "/", or Func is nil.
func (c *Checker) Add(chk Check) error {
	switch {
	case chk.Name == "" || strings.Contains(chk.Name, "/"):
		return fmt.Errorf("health: check name %q must be non-empty and hold no /", chk.Name)
	case chk.Func == nil:
		return fmt.Errorf("health: check %q has no Func", chk.Name)
	}
	if chk.Groups == 0 {
		chk.Groups = Readiness
	}
	if chk.Timeout <= 0 {
		chk.Timeout = DefaultTimeout
	}
	if chk.FailureThreshold <= 0 {
		chk.FailureThreshold = 1
	}
	if chk.ComponentType == "" {
		chk.ComponentType = "component"
	}
	s := &state{Check: chk}
	s.result.Store(&CheckResult{
		Name: chk.Name, ComponentType: chk.ComponentType, Groups: chk.Groups, Status: s.failStatus(), Err: ErrNoResult,
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.ContainsFunc(c.checks, func(x *state) bool { return x.Name == chk.Name }) {
		return fmt.Errorf("health: check %q already registered", chk.Name)
	}
	c.checks = append(c.checks, s)
	if c.running && c.added != nil {
		close(c.added)
		c.added = make(chan struct{})
	}
	return nil
}

func (s *state) failStatus() Status {
	if s.NonCritical {
		return Warn
	}
	return Fail
}

// Result is the outcome of one probe.
type Result struct {
	Status Status
	Checks []CheckResult
}

// Evaluate returns the state of group g's checks, leaving out those named in
// exclude, and combines them: fail if a critical check fails, warn if only
// non-critical ones do, else pass; a group with no checks passes. Background
// checks are read from their last result; the others run now, concurrently,
// each under its timeout, sharing any run already in flight. No lock is held
// while a check runs.
func (c *Checker) Evaluate(ctx context.Context, g Group, exclude ...string) Result {
	c.mu.RLock()
	var sel []*state
	for _, s := range c.checks {
		if s.Groups&g != 0 && !slices.Contains(exclude, s.Name) {
			sel = append(sel, s)
		}
	}
	c.mu.RUnlock()

	res := Result{Status: Pass, Checks: make([]CheckResult, len(sel))}
	var wg sync.WaitGroup
	for i, s := range sel {
		if s.Interval > 0 {
			res.Checks[i] = s.cached(time.Now())
			continue
		}
		wg.Go(func() { res.Checks[i] = c.runShared(ctx, s) })
	}
	wg.Wait()
	res.Status = combine(res.Checks)
	return res
}

// combine folds check statuses into a probe status.
func combine(checks []CheckResult) Status {
	st := Pass
	for _, cr := range checks {
		switch {
		case cr.Status == Fail:
			return Fail
		case cr.Status == Warn:
			st = Warn
		}
	}
	return st
}

// Results returns the last known state of every check, without running
// any. For metrics and dashboards.
func (c *Checker) Results() []CheckResult {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := time.Now()
	out := make([]CheckResult, len(c.checks))
	for i, s := range c.checks {
		out[i] = s.cached(now)
	}
	return out
}

// Unstarted returns the names of the background checks (Interval > 0, no
// InitialDelay) that have no result yet: until their first run, a probe
// reads them as not passing. A service's startup probe waits for none to
// be left, so that readiness starts from real results. Sorted as added.
func (c *Checker) Unstarted() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, s := range c.checks {
		if s.Interval > 0 && s.InitialDelay == 0 && s.result.Load().Time.IsZero() {
			out = append(out, s.Name)
		}
	}
	return out
}

// Refresh runs every background check once now, all at once, and returns
// when each has a result (within its Timeout, or ctx's end): probes then
// read results from this instant. A service calls it when its start-up
// work (migrations, a cache warm-up) is done, which the background checks
// that ran before may have seen half-done and would otherwise report until
// their next Interval. A check with a run in flight is waited for instead.
func (c *Checker) Refresh(ctx context.Context) {
	c.mu.RLock()
	var sel []*state
	for _, s := range c.checks {
		if s.Interval > 0 {
			sel = append(sel, s)
		}
	}
	c.mu.RUnlock()
	var wg sync.WaitGroup
	for _, s := range sel {
		wg.Go(func() { c.runShared(ctx, s) })
	}
	wg.Wait()
}

// Lookup returns the state of the check named name, running it if it is not
// a background check, and false if there is no such check.
func (c *Checker) Lookup(ctx context.Context, name string) (CheckResult, bool) {
	c.mu.RLock()
	i := slices.IndexFunc(c.checks, func(s *state) bool { return s.Name == name })
	var s *state
	if i >= 0 {
		s = c.checks[i]
	}
	c.mu.RUnlock()
	switch {
	case s == nil:
		return CheckResult{}, false
	case s.Interval > 0:
		return s.cached(time.Now()), true
	}
	return c.runShared(ctx, s), true
}

// cached returns the last result, failing it when it is stale.
func (s *state) cached(now time.Time) CheckResult {
	r := *s.result.Load()
	if s.Interval > 0 && !r.Time.IsZero() && now.Sub(r.Time) > 2*s.Interval+s.Timeout {
		r.Status, r.Err = s.failStatus(), ErrStale
	}
	return r
}

// runShared runs the check, or waits for the run already in flight, and
// returns its result. A caller whose ctx ends stops waiting; the run goes on
// under its own timeout.
func (c *Checker) runShared(ctx context.Context, s *state) CheckResult {
	s.mu.Lock()
	r := s.inflight
	if r == nil {
		r = &run{done: make(chan struct{})}
		s.inflight = r
		// The run is detached from the caller's context so that one probe
		// giving up does not fail the others sharing the run; its own
		// timeout bounds it.
		go c.execute(context.WithoutCancel(ctx), s, r)
	}
	s.mu.Unlock()
	select {
	case <-r.done:
		return r.res
	case <-ctx.Done():
		res := *s.result.Load()
		res.Status, res.Err = s.failStatus(), ctx.Err()
		return res
	}
}

// execute runs Func once under the check's timeout, records the result with
// flap damping, and tells the subscribers when the status changed. A Func
// that ignores its context is abandoned at the deadline; its goroutine ends
// when Func returns, and no other run of the check starts meanwhile.
func (c *Checker) execute(ctx context.Context, s *state, r *run) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- fmt.Errorf("health: check %q panicked: %v", s.Name, p)
			}
		}()
		errc <- s.Func(ctx)
	}()
	var err error
	abandoned := false
	select {
	case err = <-errc:
	case <-ctx.Done():
		err, abandoned = ErrTimeout, true
	}
	res := CheckResult{
		Name: s.Name, ComponentType: s.ComponentType, Groups: s.Groups,
		Err: err, Time: start, Duration: time.Since(start),
	}

	s.mu.Lock()
	if err == nil {
		s.failures, s.passed = 0, true
		res.Status = Pass
	} else {
		s.failures++
		res.Status = s.failStatus()
		if s.passed && s.failures < s.FailureThreshold {
			res.Status = Pass // damped: not enough consecutive failures yet
		}
	}
	prev := s.result.Swap(&res)
	r.res = res
	close(r.done)
	if !abandoned {
		s.inflight = nil
	}
	s.mu.Unlock()
	if abandoned {
		// Keep collapsing later calls onto this run until Func returns, so
		// that a hung check holds one goroutine, not one per probe.
		go func() {
			<-errc
			s.mu.Lock()
			s.inflight = nil
			s.mu.Unlock()
		}()
	}
	if prev.Status != res.Status {
		c.publish(Event{Name: s.Name, Groups: s.Groups, Previous: prev.Status, Current: res, First: prev.Time.IsZero()})
	}
}

// Subscribe calls fn for every change of a check's effective status, in the
// goroutine that ran the check; fn must not block. The returned function
// ends the subscription.
func (c *Checker) Subscribe(fn func(Event)) (cancel func()) {
	sub := &subscriber{fn: fn}
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[*subscriber]struct{}{}
	}
	c.subs[sub] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.subs, sub)
		c.mu.Unlock()
	}
}

func (c *Checker) publish(e Event) {
	c.mu.RLock()
	subs := make([]*subscriber, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.RUnlock()
	for _, s := range subs {
		s.fn(e)
	}
}

// Run runs the background checks (Interval > 0), each on its own schedule,
// until ctx is done, then waits for their runners to return. Checks added
// while Run runs are scheduled too. It returns nil, or an error if Run is
// already running.
func (c *Checker) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("health: Run is already running")
	}
	c.running = true
	c.added = make(chan struct{})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		for _, s := range c.checks {
			s.mu.Lock()
			s.scheduled = false
			s.mu.Unlock()
		}
		c.mu.Unlock()
	}()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c.mu.RLock()
		for _, s := range c.checks {
			s.mu.Lock()
			start := s.Interval > 0 && !s.scheduled
			s.scheduled = s.scheduled || start
			s.mu.Unlock()
			if start {
				wg.Go(func() { c.schedule(ctx, s) })
			}
		}
		added := c.added
		c.mu.RUnlock()
		select {
		case <-ctx.Done():
			return nil
		case <-added:
		}
	}
}

// schedule runs one background check every Interval until ctx is done. A
// tick that finds the previous run still hung past its timeout is skipped.
func (c *Checker) schedule(ctx context.Context, s *state) {
	t := time.NewTimer(s.InitialDelay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		var r *run
		if s.inflight == nil {
			r = &run{done: make(chan struct{})}
			s.inflight = r
		}
		s.mu.Unlock()
		if r != nil {
			c.execute(ctx, s, r)
		}
		t.Reset(s.Interval)
	}
}
