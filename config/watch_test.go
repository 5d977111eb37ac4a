package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/config/configtest"
	"github.com/operable-go/operable/secrets"
)

type liveConfig struct {
	Addr     string         `env:"ADDR" envDefault:":8080" reload:"restart"`
	Greeting string         `env:"GREETING" envDefault:"hello"`
	Limit    int            `env:"LIMIT" envDefault:"10"`
	Token    secrets.Secret `env:"TOKEN"`
}

func (c *liveConfig) Validate() error {
	if c.Limit < 1 {
		return &config.Problem{Field: "Limit", Reason: "must be at least 1"}
	}
	return nil
}

// changes collects a watcher's changes, for waiting on them.
type changes struct {
	mu  sync.Mutex
	all []config.Change[liveConfig]
}

func (c *changes) add(ch config.Change[liveConfig]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, ch)
}

func (c *changes) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.all)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadFollowsConfigMapSwapsAndKeepsACorruptWriteOut: three ..data
// swaps make three reloads, each seen whole; a corrupt file is kept out
// (the last good configuration stays, Err says why) until it is fixed.
func TestReloadFollowsConfigMapSwapsAndKeepsACorruptWriteOut(t *testing.T) {
	cm := configtest.NewConfigMap(t, map[string]string{"base.yaml": "GREETING: one\nLIMIT: 1\n"})
	var errs []error
	var errMu sync.Mutex
	w, err := config.Watch[liveConfig](t.Context(), configtest.Options(cm.Path, nil), config.WatchOptions{
		Settle: 20 * time.Millisecond,
		OnError: func(err error) {
			errMu.Lock()
			errs = append(errs, err)
			errMu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen changes
	w.Subscribe(seen.add)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // the watch is set up

	for i := 2; i <= 4; i++ {
		cm.Update(map[string]string{"base.yaml": fmt.Sprintf("GREETING: v%d\nLIMIT: %d\n", i, i)})
		waitUntil(t, fmt.Sprintf("reload %d", i-1), func() bool { return seen.n() == i-1 })
		if got := w.Current(); got.Greeting != fmt.Sprintf("v%d", i) || got.Limit != i {
			t.Fatalf("after swap %d: %+v", i-1, got)
		}
	}
	last := seen.all[len(seen.all)-1]
	if !slices.Equal(last.Changed, []string{"Greeting", "Limit"}) || last.Old.Greeting != "v3" || len(last.Restart) != 0 {
		t.Errorf("last change = %+v", last)
	}

	// Corrupt: kept out.
	cm.Update(map[string]string{"base.yaml": "GREETING: [broken\n"})
	waitUntil(t, "the corrupt write reported", func() bool { return w.Err() != nil })
	if got := w.Current(); got.Greeting != "v4" || seen.n() != 3 {
		t.Errorf("after a corrupt write: %+v, %d changes; want v4 kept", got, seen.n())
	}
	// Invalid though well-formed: kept out too.
	cm.Update(map[string]string{"base.yaml": "GREETING: v5\nLIMIT: 0\n"})
	waitUntil(t, "the invalid value reported", func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return len(errs) >= 2
	})
	if got := w.Current(); got.Greeting != "v4" {
		t.Errorf("after an invalid write: %+v; want v4 kept", got)
	}
	// Fixed: taken, and a restart-only field is reported as such.
	cm.Update(map[string]string{"base.yaml": "GREETING: v6\nLIMIT: 6\nADDR: :9999\n"})
	waitUntil(t, "the fix reloaded", func() bool { return seen.n() == 4 })
	if w.Err() != nil || w.Current().Greeting != "v6" {
		t.Errorf("after the fix: err %v, %+v", w.Err(), w.Current())
	}
	if ch := seen.all[3]; !slices.Equal(ch.Restart, []string{"Addr"}) {
		t.Errorf("restart-only changes = %v, want [Addr]", ch.Restart)
	}
}

// TestBurstsCoalesce: many writes in a row make one reload.
func TestBurstsCoalesce(t *testing.T) {
	dir := configtest.WriteDir(t, map[string]string{"base.yaml": "LIMIT: 1\n"})
	w, err := config.Watch[liveConfig](t.Context(), configtest.Options(dir, nil), config.WatchOptions{Settle: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var seen changes
	w.Subscribe(seen.add)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	for i := 2; i <= 20; i++ {
		if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(fmt.Sprintf("LIMIT: %d\n", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "a reload", func() bool { return seen.n() >= 1 })
	time.Sleep(300 * time.Millisecond)
	if n := seen.n(); n != 1 || w.Current().Limit != 20 {
		t.Errorf("%d reloads for a burst of 19 writes (limit %d), want 1 reload to 20", n, w.Current().Limit)
	}
}

func TestDiffNamesChangedFieldsSecretsIncluded(t *testing.T) {
	a := liveConfig{Addr: ":1", Greeting: "x", Token: secrets.New("one")}
	b := a
	b.Token = secrets.New("two")
	b.Addr = ":2"
	changed, restart := config.Diff(&a, &b)
	if !slices.Equal(changed, []string{"Addr", "Token"}) || !slices.Equal(restart, []string{"Addr"}) {
		t.Errorf("Diff = %v, %v", changed, restart)
	}
	if c, _ := config.Diff(&a, &a); len(c) != 0 {
		t.Errorf("Diff of a value with itself = %v", c)
	}
}

// TestDiffTakesANestedStructsRestartTag: a reload:"restart" tag on a
// struct field covers the fields inside it, unless one of them says
// otherwise.
func TestDiffTakesANestedStructsRestartTag(t *testing.T) {
	type inner struct {
		A int `env:"A"`
		B int `env:"B" reload:""`
	}
	type outer struct {
		In  inner `envPrefix:"IN_" reload:"restart"`
		Top int   `env:"TOP"`
	}
	changed, restart := config.Diff(&outer{}, &outer{In: inner{A: 1, B: 1}, Top: 1})
	if fmt.Sprint(changed) != "[In.A In.B Top]" || fmt.Sprint(restart) != "[In.A]" {
		t.Errorf("Diff = %v, restart %v; want [In.A In.B Top], restart [In.A]", changed, restart)
	}
}
