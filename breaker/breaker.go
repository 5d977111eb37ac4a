package breaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Settings configure one breaker. The zero value of a field means its
// default, which the envDefault tags repeat so that a config struct that
// embeds Settings describes them. In JSON (as in [Info] on
// /debug/breakers) the durations are strings in time.Duration's form,
// "30s", "1m0s"; UnmarshalJSON reads that form or a number of nanoseconds.
type Settings struct {
	// Window is the rolling window over which calls are counted, in ten
	// buckets. Default: 60s.
	Window time.Duration `env:"WINDOW" envDefault:"60s" desc:"rolling window over which calls are counted"`
	// MinCalls is how many calls (successes and failures) the window must
	// hold before the breaker may open. Default: 20.
	MinCalls uint32 `env:"MIN_CALLS" envDefault:"20" desc:"calls the window must hold before the breaker may open"`
	// FailureRatio opens the breaker when failures reach this share of the
	// calls in the window, in (0, 1]. Default: 0.5.
	FailureRatio float64 `env:"FAILURE_RATIO" envDefault:"0.5" desc:"share of failures that opens the breaker, in (0, 1]"`
	// OpenTimeout is how long the breaker stays open before letting probe
	// calls through (half-open). Default: 30s.
	OpenTimeout time.Duration `env:"OPEN_TIMEOUT" envDefault:"30s" desc:"how long the breaker stays open before probe calls"`
	// HalfOpenCalls is how many probe calls pass while half-open; that
	// many successes in a row close the breaker, one failure opens it
	// again. Default: 3.
	HalfOpenCalls uint32 `env:"HALF_OPEN_CALLS" envDefault:"3" desc:"probe calls let through while half-open"`
	// CallTimeout bounds each call; a call still running when it runs out
	// counts as a failure at that moment. Negative: no bound. Default: 10s.
	CallTimeout time.Duration `env:"CALL_TIMEOUT" envDefault:"10s" desc:"bound of each call; negative: none"`
	// MaxConcurrent bounds the calls in flight; a call beyond it is
	// rejected at once. Negative: no bound. Default: 100.
	MaxConcurrent int `env:"MAX_CONCURRENT" envDefault:"100" desc:"bound of the calls in flight; negative: none"`
}

// settingsJSON is Settings with its durations as strings; the other fields
// keep their names and types.
type settingsJSON struct {
	Window        string
	MinCalls      uint32
	FailureRatio  float64
	OpenTimeout   string
	HalfOpenCalls uint32
	CallTimeout   string
	MaxConcurrent int
}

// MarshalJSON writes the durations as strings, "30s", not nanoseconds.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{
		Window: s.Window.String(), MinCalls: s.MinCalls, FailureRatio: s.FailureRatio,
		OpenTimeout: s.OpenTimeout.String(), HalfOpenCalls: s.HalfOpenCalls,
		CallTimeout: s.CallTimeout.String(), MaxConcurrent: s.MaxConcurrent,
	})
}

// UnmarshalJSON reads what MarshalJSON writes; a duration may also be a
// number of nanoseconds, as encoding/json wrote it before.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var v struct {
		settingsJSON
		Window, OpenTimeout, CallTimeout jsonDuration
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Settings{
		Window: time.Duration(v.Window), MinCalls: v.MinCalls, FailureRatio: v.FailureRatio,
		OpenTimeout: time.Duration(v.OpenTimeout), HalfOpenCalls: v.HalfOpenCalls,
		CallTimeout: time.Duration(v.CallTimeout), MaxConcurrent: v.MaxConcurrent,
	}
	return nil
}

// jsonDuration reads a duration as a string ("30s") or as nanoseconds.
type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("breaker: %w", err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*d = jsonDuration(n)
	return nil
}

// Defaults of Settings.
const (
	DefaultWindow        = 60 * time.Second
	DefaultMinCalls      = 20
	DefaultFailureRatio  = 0.5
	DefaultOpenTimeout   = 30 * time.Second
	DefaultHalfOpenCalls = 3
	DefaultCallTimeout   = 10 * time.Second
	DefaultMaxConcurrent = 100
)

// withDefaults returns s with every zero field at its default.
func (s Settings) withDefaults() Settings {
	if s.Window == 0 {
		s.Window = DefaultWindow
	}
	if s.MinCalls == 0 {
		s.MinCalls = DefaultMinCalls
	}
	if s.FailureRatio == 0 {
		s.FailureRatio = DefaultFailureRatio
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = DefaultOpenTimeout
	}
	if s.HalfOpenCalls == 0 {
		s.HalfOpenCalls = DefaultHalfOpenCalls
	}
	if s.CallTimeout == 0 {
		s.CallTimeout = DefaultCallTimeout
	}
	if s.MaxConcurrent == 0 {
		s.MaxConcurrent = DefaultMaxConcurrent
	}
	return s
}

// Validate reports every setting out of range, each with its variable.
func (s Settings) Validate() error {
	if err := s.problems(); err != nil {
		return fmt.Errorf("breaker: %w", err)
	}
	return nil
}

func (s Settings) problems() error {
	var errs []error
	if s.Window < 0 {
		errs = append(errs, &SettingError{Field: "Window", Var: "WINDOW", Reason: "must not be negative"})
	}
	if r := s.FailureRatio; r < 0 || r > 1 || math.IsNaN(r) {
		errs = append(errs, &SettingError{Field: "FailureRatio", Var: "FAILURE_RATIO", Reason: "must be in (0, 1]"})
	}
	if s.OpenTimeout < 0 {
		errs = append(errs, &SettingError{Field: "OpenTimeout", Var: "OPEN_TIMEOUT", Reason: "must not be negative"})
	}
	return errors.Join(errs...)
}

// SettingError is one setting out of range. It names the field and the
// variable (without the prefix the config struct adds) and says why,
// without the value; the config package reads it through its
// ConfigField and ConfigReason methods and names the full variable.
type SettingError struct {
	Field, Var, Reason string
}

func (e *SettingError) Error() string { return e.Var + " " + e.Reason }

// ConfigField returns the Go field's name in Settings.
func (e *SettingError) ConfigField() string { return e.Field }

// ConfigReason says why the value was rejected.
func (e *SettingError) ConfigReason() string { return e.Reason }

// Options are the parts of a breaker that do not come from config.
type Options struct {
	// Logger gets a line per state change. Default: none.
	Logger *slog.Logger
	// Meter records the state, transitions, calls and rejections.
	// Default: a no-op meter.
	Meter metric.Meter
	// IsSuccessful decides whether a non-nil error of a call counts as a
	// success (a "not found" that is an answer, not a failure). It is not
	// asked about cancellations or about HTTP answers, which the transport
	// classifies by status. Default: every error is a failure.
	IsSuccessful func(error) bool
}

// State is what the breaker does with a call now.
type State int

// The states. Closed lets calls through and counts them; Open rejects
// them; HalfOpen lets a few probe calls through; the forced states are
// held by an operator (see [Breaker.Force]).
const (
	Closed State = iota
	HalfOpen
	Open
	ForcedOpen
	ForcedClosed
)

var stateNames = [...]string{"closed", "half_open", "open", "forced_open", "forced_closed"}

// String returns the state's name as metrics and logs show it.
func (s State) String() string { return nameOf(stateNames[:], int(s), "State") }

// nameOf returns names[i], or kind(i) for a value out of range.
func nameOf(names []string, i int, kind string) string {
	if i < 0 || i >= len(names) {
		return fmt.Sprintf("%s(%d)", kind, i)
	}
	return names[i]
}

// indexOf returns the index of name in names.
func indexOf(names []string, name, kind string) (int, error) {
	for i, n := range names {
		if name == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("breaker: unknown %s %q (want one of %s)", kind, name, strings.Join(names, ", "))
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	i, err := indexOf(stateNames[:], string(b), "state")
	if err == nil {
		*s = State(i)
	}
	return err
}

// Mode is who decides the state: the breaker itself, or an operator.
type Mode int

// The modes.
const (
	Auto Mode = iota
	HoldOpen
	HoldClosed
)

var modeNames = [...]string{"auto", "open", "closed"}

// String returns "auto", "open" or "closed".
func (m Mode) String() string { return nameOf(modeNames[:], int(m), "Mode") }

// MarshalText writes the mode's name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a mode's name.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// ParseMode parses "auto", "open" or "closed".
func ParseMode(s string) (Mode, error) {
	i, err := indexOf(modeNames[:], s, "mode")
	return Mode(i), err
}

// ErrRejected is what every rejection matches with errors.Is.
var ErrRejected = errors.New("breaker: call rejected")

// RejectedError is the error of a call the breaker did not let through.
type RejectedError struct {
	// Breaker is the breaker's name.
	Breaker string
	// Reason is "open", "half_open" (its probe calls are all in flight),
	// "forced_open" or "concurrency" (MaxConcurrent calls in flight).
	Reason string
}

func (e *RejectedError) Error() string {
	return "breaker: " + e.Breaker + " rejected the call: " + e.Reason
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Breaker guards one dependency. It is safe for concurrent use.
type Breaker struct {
	name     string
	settings Settings
	opts     Options
	// gobreaker's state machine, in one of its two forms. Without a call
	// timeout a call is counted only when it returns, so Execute's one
	// step does (direct); with one, a hung call is counted at its timeout
	// and the two-step form reports it (cb).
	direct   *gobreaker.CircuitBreaker[struct{}]
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	inFlight atomic.Int64 // calls holding a slot, with MaxConcurrent > 0
	mode     atomic.Int32
	modeMu   sync.Mutex // serializes Force

	// tripCounts holds the counts that last made ReadyToTrip answer yes;
	// gobreaker calls ReadyToTrip and OnStateChange under its own lock.
	tripCounts gobreaker.Counts

	rejected [4]*RejectedError // by reason, built once
	m        instruments
	watch    watch // the deadlines of the calls with a call timeout
}

// Rejection reasons, indexes of Breaker.rejected.
const (
	rejectOpen = iota
	rejectHalfOpen
	rejectForced
	rejectConcurrency
)

var rejectReasons = [...]string{"open", "half_open", "forced_open", "concurrency"}

// errNeutral and errFailure carry a classified outcome to gobreaker.
var (
	errNeutral error = neutral{}
	errFailure       = errors.New("failure")
)

// neutral is errNeutral's type: gobreaker's IsExcluded asks about every
// outcome, and a type check answers with no comparison of values.
type neutral struct{}

func (neutral) Error() string { return "neutral" }

// New returns a closed breaker for the named dependency. The name labels
// its metrics, logs and health check: letters, digits, '.', '_' and '-'.
func New(name string, s Settings, opts Options) (*Breaker, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := s.problems(); err != nil {
		return nil, fmt.Errorf("breaker %s: %w", name, err)
	}
	s = s.withDefaults()
	if opts.Meter == nil {
		opts.Meter = noop.NewMeterProvider().Meter("")
	}
	b := &Breaker{name: name, settings: s, opts: opts}
	for i, r := range rejectReasons {
		b.rejected[i] = &RejectedError{Breaker: name, Reason: r}
	}
	gs := gobreaker.Settings{
		Name:          name,
		MaxRequests:   s.HalfOpenCalls,
		Interval:      s.Window,
		BucketPeriod:  s.Window / 10,
		Timeout:       s.OpenTimeout,
		ReadyToTrip:   b.readyToTrip,
		OnStateChange: b.onStateChange,
		// gobreaker sees only classified outcomes: nil, errNeutral,
		// errFailure, or the error Execute makes of a panic (a failure).
		IsExcluded: func(err error) bool { _, ok := err.(neutral); return ok },
	}
	if s.CallTimeout < 0 {
		b.direct = gobreaker.NewCircuitBreaker[struct{}](gs)
	} else {
		b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gs)
	}
	if err := b.m.init(b); err != nil {
		return nil, fmt.Errorf("breaker %s: %w", name, err)
	}
	return b, nil
}

func validName(name string) error {
	if name == "" {
		return errors.New("breaker: a breaker needs a name")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("breaker: name %q: only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// Name returns the dependency's name.
func (b *Breaker) Name() string { return b.name }

// Settings returns the settings in force, defaults filled in.
func (b *Breaker) Settings() Settings { return b.settings }

func (b *Breaker) readyToTrip(c gobreaker.Counts) bool {
	n := c.TotalSuccesses + c.TotalFailures
	if n < b.settings.MinCalls || float64(c.TotalFailures) < b.settings.FailureRatio*float64(n) {
		return false
	}
	b.tripCounts = c
	return true
}

// onStateChange runs under gobreaker's lock, for its own transitions.
func (b *Breaker) onStateChange(_ string, from, to gobreaker.State) {
	if Mode(b.mode.Load()) != Auto {
		return // forced: the reported state does not change
	}
	f, t := fromGobreaker(from), fromGobreaker(to)
	b.m.transition(f, t)
	if b.opts.Logger == nil {
		return
	}
	attrs := []slog.Attr{slog.String("breaker", b.name), slog.String("from", f.String()), slog.String("to", t.String())}
	level := slog.LevelInfo
	switch {
	case from == gobreaker.StateClosed && to == gobreaker.StateOpen:
		c := b.tripCounts
		n := c.TotalSuccesses + c.TotalFailures
		attrs = append(attrs, slog.Uint64("calls", uint64(n)), slog.Uint64("failures", uint64(c.TotalFailures)),
			slog.Float64("failure_ratio", float64(c.TotalFailures)/float64(n)),
			slog.Duration("window", b.settings.Window), slog.Duration("open_for", b.settings.OpenTimeout))
		level = slog.LevelWarn
	case from == gobreaker.StateHalfOpen && to == gobreaker.StateOpen:
		attrs = append(attrs, slog.String("cause", "a probe call failed"), slog.Duration("open_for", b.settings.OpenTimeout))
		level = slog.LevelWarn
	case to == gobreaker.StateHalfOpen:
		attrs = append(attrs, slog.Uint64("probe_calls", uint64(b.settings.HalfOpenCalls)))
	case to == gobreaker.StateClosed:
		attrs = append(attrs, slog.Uint64("successful_probes", uint64(b.settings.HalfOpenCalls)))
	}
	b.opts.Logger.LogAttrs(context.Background(), level, "circuit breaker state changed", attrs...)
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return HalfOpen
	case gobreaker.StateOpen:
		return Open
	}
	return Closed
}

// State returns the current state.
func (b *Breaker) State() State {
	switch Mode(b.mode.Load()) {
	case HoldOpen:
		return ForcedOpen
	case HoldClosed:
		return ForcedClosed
	}
	if b.direct != nil {
		return fromGobreaker(b.direct.State())
	}
	return fromGobreaker(b.cb.State())
}

// Mode returns who decides the state now.
func (b *Breaker) Mode() Mode { return Mode(b.mode.Load()) }

// Force holds the breaker open (every call rejected) or closed (every call
// let through, none counted), until Force(Auto) gives the decision back to
// the breaker, which resumes in the state it had. Each change is logged.
func (b *Breaker) Force(m Mode) error {
	if m < Auto || m > HoldClosed {
		return fmt.Errorf("breaker %s: unknown mode %d", b.name, int(m))
	}
	b.modeMu.Lock()
	defer b.modeMu.Unlock()
	oldMode := Mode(b.mode.Load())
	if oldMode == m {
		return nil
	}
	from := b.State()
	b.mode.Store(int32(m))
	to := b.State()
	if from != to {
		b.m.transition(from, to)
	}
	if b.opts.Logger != nil {
		b.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "circuit breaker mode changed",
			slog.String("breaker", b.name), slog.String("mode", m.String()), slog.String("previous_mode", oldMode.String()),
			slog.String("from", from.String()), slog.String("to", to.String()))
	}
	return nil
}

// Counts are the calls of the current window (closed) or of the current
// half-open probe.
type Counts struct {
	Calls     uint32 `json:"calls"`
	Successes uint32 `json:"successes"`
	Failures  uint32 `json:"failures"`
	Neutral   uint32 `json:"neutral"`
}

// Info is a breaker's state for an admin page. Its JSON (on
// /debug/breakers) writes the settings' durations as strings, "30s" (see
// [Settings.MarshalJSON]), and reads them back.
type Info struct {
	Name     string   `json:"name"`
	State    State    `json:"state"`
	Mode     Mode     `json:"mode"`
	Counts   Counts   `json:"counts"`
	Settings Settings `json:"settings"`
}

// Info returns the breaker's name, state, mode, counts and settings.
func (b *Breaker) Info() Info {
	var c gobreaker.Counts
	if b.direct != nil {
		c = b.direct.Counts()
	} else {
		c = b.cb.Counts()
	}
	return Info{Name: b.name, State: b.State(), Mode: b.Mode(), Settings: b.settings,
		Counts: Counts{Calls: c.Requests, Successes: c.TotalSuccesses, Failures: c.TotalFailures, Neutral: c.TotalExclusions}}
}

// takeSlot counts a call in flight against MaxConcurrent, or returns the
// rejection; slot says whether there is one to give back.
func (b *Breaker) takeSlot() (slot bool, err error) {
	max := b.settings.MaxConcurrent
	if max <= 0 {
		return false, nil
	}
	if b.inFlight.Add(1) > int64(max) {
		b.inFlight.Add(-1)
		b.m.reject(rejectConcurrency)
		return false, b.rejected[rejectConcurrency]
	}
	return true, nil
}

// rejectedBy counts and returns the rejection for gobreaker's err.
func (b *Breaker) rejectedBy(err error) error {
	r := rejectOpen
	if errors.Is(err, gobreaker.ErrTooManyRequests) {
		r = rejectHalfOpen
	}
	b.m.reject(r)
	return b.rejected[r]
}

// isRejection reports whether err is one of b's own rejections.
func (b *Breaker) isRejection(err error) bool {
	for _, r := range b.rejected {
		if err == error(r) {
			return true
		}
	}
	return false
}

// endDirect counts the outcome of a call that took its slot, if it ran,
// and gives the slot back: every call that gets this far took one when
// there is a bound.
func (b *Breaker) endDirect(outcome *int) {
	if *outcome != outcomeNone {
		b.m.calls[*outcome].n.Add(1)
	}
	b.giveSlot(b.settings.MaxConcurrent > 0)
}

// outcomeOf is classify as an index of outcomeErrors.
func (b *Breaker) outcomeOf(parent context.Context, err error) int {
	if err == nil {
		return outcomeSuccess
	}
	return outcomeIndex(b.classify(parent, err))
}

// giveSlot gives back a slot that takeSlot took.
func (b *Breaker) giveSlot(slot bool) {
	if slot {
		b.inFlight.Add(-1)
	}
}

// begin lets a call through, or returns the rejection. The call is the
// context the call runs with; it must be cancelled when the call is over.
func (b *Breaker) begin(ctx context.Context) (*call, error) {
	mode := Mode(b.mode.Load())
	if mode == HoldOpen {
		b.m.reject(rejectForced)
		return nil, b.rejected[rejectForced]
	}
	slot, done, err := b.admit(mode)
	if err != nil {
		return nil, err
	}
	// A call that is still running when its time is up counts as a
	// failure then, not when (if ever) it returns, and its context ends.
	return newCall(b, ctx, done, slot, time.Now()), nil
}

// admit takes what a call in flight holds, one of MaxConcurrent's slots
// and, unless the breaker is held closed, gobreaker's admission (a probe
// when half open), or returns the rejection, counted.
func (b *Breaker) admit(mode Mode) (slot bool, done func(error), err error) {
	if slot, err = b.takeSlot(); err != nil {
		return false, nil, err
	}
	if mode != HoldClosed {
		if done, err = b.cb.Allow(); err != nil {
			b.giveSlot(slot)
			return false, nil, b.rejectedBy(err)
		}
	}
	return slot, done, nil
}

func (c *call) expired() {
	if c.parent.Err() != nil && errors.Is(context.Cause(c.parent), context.Canceled) {
		c.end(errNeutral)
		return
	}
	c.end(errFailure)
}

// end reports the outcome, once: errFailure, errNeutral or nil.
func (c *call) end(outcome error) {
	if c.ended.CompareAndSwap(callRunning, callEnded) {
		c.report(outcome)
	}
}

// report tells gobreaker and the calls metric of the outcome.
func (c *call) report(outcome error) {
	if c.done != nil {
		c.done(outcome)
	}
	c.b.m.outcome(outcome)
}

// settle reports the outcome of err and gives the slot back; the call's
// context stays alive until cancelled (the transport cancels it when the
// body is closed).
func (c *call) settle(err error) {
	c.end(c.b.classify(c.parent, err))
	c.b.giveSlot(c.slot)
}

// classify returns the outcome of a call's error: nil (a success),
// errNeutral or errFailure. parent is the caller's context.
func (b *Breaker) classify(parent context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case err == errFailure:
		return errFailure
	case parent.Err() != nil && errors.Is(context.Cause(parent), context.Canceled):
		// The caller gave up: says nothing about the dependency.
		return errNeutral
	case b.opts.IsSuccessful != nil && b.opts.IsSuccessful(err):
		return nil
	}
	return errFailure
}

// Do runs fn through the breaker b: at once with a [*RejectedError] when
// the breaker is open, held open, or MaxConcurrent calls are in flight;
// otherwise with a context bounded by CallTimeout, and counts the outcome:
// nil is a success; an error after the caller's context was cancelled is
// neutral; a deadline, or any other error that Options.IsSuccessful does
// not accept, is a failure. A call still running at its deadline counts
// as a failure at that moment; Do still waits for fn to return.
//
// fn's context ends when Do returns. It is the breaker's own, not one of
// the context package's, with one difference from context.WithTimeout's:
// once the caller's context has ended with a cause, context.Cause of
// fn's context returns that cause, even if the call timeout ended fn's
// context first (its Err is still context.DeadlineExceeded).
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (v T, err error) {
	if b.direct == nil {
		return doTimed(ctx, b, fn)
	}
	// Without a call timeout fn runs in gobreaker's one-step Execute, which
	// counts a panic as a failure and panics on.
	mode := Mode(b.mode.Load())
	if mode != Auto {
		return doForced(ctx, b, mode, fn)
	}
	if _, err = b.takeSlot(); err != nil {
		return v, err
	}
	outcome := outcomeNone // until fn runs; a failure if it panics
	defer b.endDirect(&outcome)
	_, gerr := b.direct.Execute(func() (struct{}, error) {
		outcome = outcomeFailure
		if v, err = fn(ctx); err == nil {
			outcome = outcomeSuccess
			return struct{}{}, nil
		}
		outcome = b.outcomeOf(ctx, err)
		return struct{}{}, outcomeErrors[outcome]
	})
	if outcome == outcomeNone { // fn never ran: Execute rejected the call
		return v, b.rejectedBy(gerr)
	}
	return v, err
}

// doForced is Do without a call timeout while an operator holds the
// breaker: open rejects the call, closed runs it without gobreaker.
func doForced[T any](ctx context.Context, b *Breaker, mode Mode, fn func(context.Context) (T, error)) (v T, err error) {
	if mode == HoldOpen {
		b.m.reject(rejectForced)
		return v, b.rejected[rejectForced]
	}
	if _, err = b.takeSlot(); err != nil {
		return v, err
	}
	outcome := outcomeFailure // unless fn returns: a panic
	defer b.endDirect(&outcome)
	v, err = fn(ctx)
	outcome = b.outcomeOf(ctx, err)
	return v, err
}

// doTimed is Do with a call timeout.
func doTimed[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (v T, err error) {
	c, err := b.begin(ctx)
	if err != nil {
		return v, err
	}
	returned := false
	defer func() {
		if !returned { // a panic: a failure, and it goes on up
			c.settle(errFailure)
		}
		c.cancel(context.Canceled)
	}()
	v, err = fn(c)
	returned = true
	c.settle(err)
	return v, err
}
