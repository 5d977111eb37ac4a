package ofprovider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/flagtest"
	"github.com/operable-go/operable/featureflags/ofprovider"
)

func TestMain(m *testing.M) {
	// The OpenFeature SDK runs its event executor for the life of the API.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startEventListener.func1.1"),
		goleak.IgnoreTopFunction("github.com/open-feature/go-sdk/openfeature.(*eventExecutor).startEventListener.func1"))
}

func client(t *testing.T, src ofprovider.Source) *of.Client {
	t.Helper()
	api := isolated.NewAPI()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.SetProviderAndWait(ctx, ofprovider.New(src)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return api.NewClient()
}

// TestOpenFeatureCallsGetTheSameAnswers: through the OpenFeature client,
// the kit's flags resolve with the same values, variants, reasons and
// error codes as the native API.
func TestOpenFeatureCallsGetTheSameAnswers(t *testing.T) {
	set, err := featureflags.Parse([]byte(flagtest.Doc))
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, set)
	ctx := context.Background()
	b, _ := c.BooleanValueDetails(ctx, "static-bool", false, of.NewTargetlessEvaluationContext(nil))
	if !b.Value || b.Variant != "on" || b.Reason != of.StaticReason {
		t.Errorf("static-bool: %+v", b)
	}
	s, _ := c.StringValueDetails(ctx, "targeted", "x", of.NewEvaluationContext("user-1", map[string]any{"email": "ada@example.com"}))
	if s.Value != "yes" || s.Reason != of.TargetingMatchReason {
		t.Errorf("targeted: %+v", s)
	}
	i, _ := c.IntValueDetails(ctx, "static-int", 0, of.NewTargetlessEvaluationContext(nil))
	if i.Value != 2 || i.Variant != "two" {
		t.Errorf("static-int: %+v", i)
	}
	m, err := c.BooleanValueDetails(ctx, "no-such-flag", true, of.NewTargetlessEvaluationContext(nil))
	if m.Value != true || m.ErrorCode != of.FlagNotFoundCode || err == nil {
		t.Errorf("no-such-flag: %+v, %v", m, err)
	}
	tm, _ := c.BooleanValueDetails(ctx, "static-string", true, of.NewTargetlessEvaluationContext(nil))
	if tm.Value != true || tm.ErrorCode != of.TypeMismatchCode {
		t.Errorf("type mismatch: %+v", tm)
	}
	d, _ := c.BooleanValueDetails(ctx, "disabled", false, of.NewTargetlessEvaluationContext(nil))
	if d.Value || d.Reason != of.DisabledReason {
		t.Errorf("disabled: %+v", d)
	}
}

// TestTheProviderFollowsAWatchedFile: the provider reads the file's
// current flags at each call.
func TestTheProviderFollowsAWatchedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.yaml")
	write := func(variant string) {
		doc := "flags:\n  greeting:\n    state: ENABLED\n    variants: {hello: Hello, hi: Hi}\n    defaultVariant: " + variant + "\n"
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hello")
	f, err := featureflags.OpenFile(path, featureflags.FileOptions{Settle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := client(t, f)
	if v, _ := c.StringValue(context.Background(), "greeting", "", of.NewTargetlessEvaluationContext(nil)); v != "Hello" {
		t.Fatalf("greeting = %q", v)
	}
	time.Sleep(50 * time.Millisecond)
	write("hi")
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ := c.StringValue(context.Background(), "greeting", "", of.NewTargetlessEvaluationContext(nil))
		if v == "Hi" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("greeting still %q after the file changed", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events collects the OpenFeature events a handler is given.
type events chan of.EventDetails

func (ch events) callback() of.EventCallback {
	fn := func(d of.EventDetails) { ch <- d }
	return &fn
}

func (ch events) next(t *testing.T, what string) of.EventDetails {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event within 5s", what)
	}
	return of.EventDetails{}
}

func (ch events) none(t *testing.T, what string, wait time.Duration) {
	t.Helper()
	select {
	case d := <-ch:
		t.Fatalf("unexpected %s event: %+v", what, d)
	case <-time.After(wait):
	}
}

// TestTheProviderEmitsEventsAsTheFileReloads: over a watched file, through
// the real OpenFeature SDK's event API (an API-level handler and a client
// handler): each reload that changes flags is one
// PROVIDER_CONFIGURATION_CHANGED naming them; a file that stops parsing is
// one PROVIDER_STALE (the client's state is STALE, the last good flags
// still answer); the file parsing again is PROVIDER_READY, then the change.
func TestTheProviderEmitsEventsAsTheFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.yaml")
	write := func(greeting, banner string) {
		t.Helper()
		doc := "flags:\n  greeting:\n    state: ENABLED\n    variants: {hello: Hello, hi: Hi}\n    defaultVariant: " + greeting +
			"\n  banner:\n    state: ENABLED\n    variants: {on: true, off: false}\n    defaultVariant: " + banner + "\n"
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hello", "off")
	f, err := featureflags.OpenFile(path, featureflags.FileOptions{Settle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	api := isolated.NewAPI()
	changed, stale, ready := make(events, 16), make(events, 16), make(events, 16)
	api.AddHandler(of.ProviderConfigChange, changed.callback())
	if err := api.SetProviderAndWait(context.Background(), ofprovider.New(f)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	c := api.NewClient()
	c.AddHandler(of.ProviderStale, stale.callback())
	c.AddHandler(of.ProviderReady, ready.callback())
	ready.next(t, "READY (on registration, the provider being ready)")
	time.Sleep(50 * time.Millisecond) // let the watch start

	write("hi", "off")
	if d := changed.next(t, "CONFIGURATION_CHANGED"); !slices.Equal(d.FlagChanges, []string{"greeting"}) || d.ProviderName != "operable-featureflags" {
		t.Errorf("CONFIGURATION_CHANGED %+v, want the changed key greeting", d)
	}
	if v, _ := c.StringValue(ctx, "greeting", "", of.NewTargetlessEvaluationContext(nil)); v != "Hi" {
		t.Errorf("after the event, greeting = %q, want the new value", v)
	}

	if err := os.WriteFile(path, []byte("flags: {greeting: "), 0o600); err != nil { // half written
		t.Fatal(err)
	}
	if d := stale.next(t, "STALE"); !strings.Contains(d.Message, "keeping the last good flags") {
		t.Errorf("STALE %+v, want the reload error", d)
	}
	if c.State() != of.StaleState {
		t.Errorf("state %s, want STALE", c.State())
	}
	if v, _ := c.StringValue(ctx, "greeting", "", of.NewTargetlessEvaluationContext(nil)); v != "Hi" {
		t.Errorf("while stale, greeting = %q, want the last good value", v)
	}
	if err := os.WriteFile(path, []byte("flags: {greeting: "), 0o600); err != nil { // still bad: no second STALE
		t.Fatal(err)
	}
	stale.none(t, "second STALE", 200*time.Millisecond)

	write("hi", "on")
	ready.next(t, "READY")
	if d := changed.next(t, "CONFIGURATION_CHANGED"); !slices.Equal(d.FlagChanges, []string{"banner"}) {
		t.Errorf("CONFIGURATION_CHANGED %+v, want the changed key banner", d)
	}
	if c.State() != of.ReadyState {
		t.Errorf("state %s, want READY", c.State())
	}
	write("hi", "on") // the same flags: no event
	changed.none(t, "CONFIGURATION_CHANGED for an unchanged file", 200*time.Millisecond)
}

// fakeNotifier is a Notifier whose reloads the test makes.
type fakeNotifier struct {
	mu  sync.Mutex
	fn  func(*featureflags.Set, []string, error)
	err error
}

func (n *fakeNotifier) Set() *featureflags.Set { return nil }
func (n *fakeNotifier) Err() error             { return n.err }
func (n *fakeNotifier) Subscribe(fn func(*featureflags.Set, []string, error)) func() {
	n.mu.Lock()
	n.fn = fn
	n.mu.Unlock()
	return func() { n.mu.Lock(); n.fn = nil; n.mu.Unlock() }
}

func (n *fakeNotifier) reload(changed []string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fn != nil {
		n.fn(nil, changed, err)
	}
}

// TestEventsNeverBlockAReloadAndMerge: with nobody reading the events,
// reloads still return at once; what was not delivered merges (changes
// join their keys, a STALE then READY cancel out), and Shutdown ends the
// delivery and the subscription.
func TestEventsNeverBlockAReloadAndMerge(t *testing.T) {
	n := &fakeNotifier{err: errors.New("featureflags: bad file")}
	p := ofprovider.New(n)
	if err := p.Init(of.EvaluationContext{}); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("featureflags: bad file")
	finished := make(chan struct{})
	go func() {
		for i := range 1000 {
			n.reload([]string{"f" + string(rune('a'+i%3))}, nil)
			n.reload(nil, bad)
			n.reload(nil, bad)
		}
		n.reload(nil, nil) // good again, nothing changed
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("reloads blocked while nobody read the events")
	}
	var got []string
	for {
		select {
		case ev := <-p.EventChannel():
			got = append(got, string(ev.EventType)+" "+strings.Join(ev.FlagChanges, ","))
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	// The file was bad at Init: STALE and READY (unless the recovery
	// cancelled the STALE before it was delivered); then the changes, merged:
	// one event held by the delivery and one queued behind it at most, each
	// failure and recovery after them having cancelled out undelivered.
	if len(got) >= 2 && got[0] == "PROVIDER_STALE " && got[1] == "PROVIDER_READY " {
		got = got[2:]
	}
	keys := map[string]bool{}
	for _, ev := range got {
		k, ok := strings.CutPrefix(ev, "PROVIDER_CONFIGURATION_CHANGED ")
		for _, key := range strings.Split(k, ",") {
			keys[key] = ok
		}
	}
	if len(got) == 0 || len(got) > 2 || len(keys) != 3 || !keys["fa"] || !keys["fb"] || !keys["fc"] {
		t.Errorf("events %q: want STALE, READY, then the changes merged (fa, fb, fc)", got)
	}
	p.Shutdown()
	n.mu.Lock()
	subscribed := n.fn != nil
	n.mu.Unlock()
	if subscribed {
		t.Error("Shutdown left the subscription")
	}
	p.Shutdown() // idempotent
}
