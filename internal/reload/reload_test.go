package reload_test

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

	"go.uber.org/goleak"

	"github.com/operable-go/operable/internal/reload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source is a value a test sets; "bad" makes the load fail.
type source struct {
	mu  sync.Mutex
	val string
}

func (s *source) set(v string) { s.mu.Lock(); s.val = v; s.mu.Unlock() }

func (s *source) load(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.val == "bad" {
		return "", errors.New("bad source")
	}
	return s.val, nil
}

func diff(old, new string) []string {
	if old == new {
		return nil
	}
	return []string{old + "->" + new}
}

// TestKeepsTheLastGoodValueAndTellsEachAttempt walks a source through
// good, unchanged, bad, bad again, recovered-unchanged and changed, and
// checks the value, Err and what the subscriber is told at each step.
func TestKeepsTheLastGoodValueAndTellsEachAttempt(t *testing.T) {
	src := &source{val: "a"}
	v, err := reload.New(t.Context(), reload.Options[string]{Load: src.load, Diff: diff})
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	v.Subscribe(func(e reload.Event[string]) {
		switch {
		case e.Err != nil:
			told = append(told, "err:"+e.Err.Error()+" kept "+e.Old)
		case e.Recovered:
			told = append(told, "recovered:"+strings.Join(e.Changed, ","))
		default:
			told = append(told, strings.Join(e.Changed, ","))
		}
	})
	steps := []struct {
		set, want string
		wantErr   bool
	}{
		{"b", "b", false},
		{"b", "b", false}, // unchanged: told with nothing changed
		{"bad", "b", true},
		{"bad", "b", true},
		{"b", "b", false}, // recovered with the same value: told once
		{"c", "c", false},
	}
	for i, s := range steps {
		src.set(s.set)
		err := v.Reload(t.Context())
		if (err != nil) != s.wantErr || (v.Err() != nil) != s.wantErr {
			t.Fatalf("step %d (%s): Reload = %v, Err = %v", i, s.set, err, v.Err())
		}
		if got := v.Current(); got != s.want {
			t.Fatalf("step %d (%s): Current = %q, want %q", i, s.set, got, s.want)
		}
	}
	want := []string{"a->b", "", "err:bad source kept b", "err:bad source kept b", "recovered:", "b->c"}
	if !slices.Equal(told, want) {
		t.Errorf("subscriber was told\n%q\nwant\n%q", told, want)
	}
}

func TestNewFailsOnABadSource(t *testing.T) {
	src := &source{val: "bad"}
	if _, err := reload.New(t.Context(), reload.Options[string]{Load: src.load}); err == nil {
		t.Fatal("New on a bad source succeeded")
	}
}

// TestRunReloadsOnceASettledBurstOfWrites: several writes into the watched
// directory make one reload, after the settle time, and Run ends with its
// context.
func TestRunReloadsOnceASettledBurstOfWrites(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v")
	if err := os.WriteFile(file, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	loads := 0
	v, err := reload.New(t.Context(), reload.Options[string]{
		Load: func(context.Context) (string, error) {
			mu.Lock()
			loads++
			mu.Unlock()
			b, err := os.ReadFile(file)
			return string(b), err
		},
		Dir:    dir,
		Settle: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	// Probe until the watch sees a write, so that the burst below is not
	// written before the watch exists.
	for i := 0; v.Current() != "ready"; i++ {
		if i == 100 {
			t.Fatal("the watch saw no write within 10s")
		}
		if err := os.WriteFile(file, []byte("ready"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the probe's own bursts settle
	mu.Lock()
	loads = 0
	mu.Unlock()
	for i := range 5 {
		if err := os.WriteFile(file, []byte{byte('1' + i)}, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); v.Current() != "5"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Current = %q after the writes, want 5", v.Current())
		}
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	if loads != 1 {
		t.Errorf("%d loads for one burst of writes, want 1: the burst was not coalesced", loads)
	}
	mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestRunCatchesUpOnAChangeMadeBeforeTheWatch: a write between New and the
// watch being set up raises no event; Run's catch-up load sees it anyway,
// and tells the subscriber, while a catch-up that finds nothing tells
// nobody.
func TestRunCatchesUpOnAChangeMadeBeforeTheWatch(t *testing.T) {
	for _, changeFirst := range []bool{true, false} {
		dir := t.TempDir()
		file := filepath.Join(dir, "v")
		if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := reload.New(t.Context(), reload.Options[string]{
			Load: func(context.Context) (string, error) { b, err := os.ReadFile(file); return string(b), err },
			Diff: diff,
			Dir:  dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var told []string
		v.Subscribe(func(e reload.Event[string]) { mu.Lock(); told = append(told, e.Changed...); mu.Unlock() })
		want := "old"
		if changeFirst {
			want = "new"
			if err := os.WriteFile(file, []byte(want), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- v.Run(ctx) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if got := v.Current(); got != want || changeFirst != (len(told) == 1) {
			t.Errorf("changed before the watch: %v; Current = %q, told %q", changeFirst, got, told)
		}
		mu.Unlock()
	}
}
