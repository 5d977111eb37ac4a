package featureflags_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/featureflags"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func flagDoc(on bool) []byte {
	variant := "off"
	if on {
		variant = "on"
	}
	return []byte(fmt.Sprintf(`{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":%q}}}`, variant))
}

// watch opens path and runs its watch until the test ends; reloads counts
// the reload attempts.
func watch(t *testing.T, path string) (*featureflags.File, func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	f, err := featureflags.OpenFile(path, featureflags.FileOptions{Settle: 30 * time.Millisecond, OnReload: func(*featureflags.Set, []string, error) {
		mu.Lock()
		n++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // let the watch start
	return f, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

func TestFileReloadsAndKeepsTheLastGoodFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(path, flagDoc(false), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := watch(t, path)
	if f.Set().Bool("f", true, featureflags.EvalContext{}) {
		t.Fatal("initial flag is on")
	}
	// An editor's way: write a temp file, rename it into place.
	tmp := path + ".tmp"
	_ = os.WriteFile(tmp, flagDoc(true), 0o600)
	_ = os.Rename(tmp, path)
	eventually(t, "the flag turns on", func() bool { return f.Set().Bool("f", false, featureflags.EvalContext{}) })

	_ = os.WriteFile(path, []byte(`{"flags": {"f": `), 0o600) // corrupt, half written
	eventually(t, "the error is reported", func() bool { return f.Err() != nil })
	if !f.Set().Bool("f", false, featureflags.EvalContext{}) {
		t.Error("a corrupt file replaced the last good flags")
	}
	_ = os.WriteFile(path, flagDoc(false), 0o600)
	eventually(t, "the good file is read again", func() bool { return f.Err() == nil && !f.Set().Bool("f", true, featureflags.EvalContext{}) })
}

// TestFileFollowsConfigMapSwaps mimics the kubelet: the file is a symlink
// through ..data, which is swapped atomically to a new timestamped
// directory.
func TestFileFollowsConfigMapSwaps(t *testing.T) {
	dir := t.TempDir()
	version := func(i int, on bool) {
		v := filepath.Join(dir, fmt.Sprintf("..2026_11_26_%02d", i))
		if err := os.Mkdir(v, 0o700); err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(v, "flags.json"), flagDoc(on), 0o600)
		tmp := filepath.Join(dir, "..data_tmp")
		_ = os.Symlink(filepath.Base(v), tmp)
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version(0, false)
	if err := os.Symlink(filepath.Join("..data", "flags.json"), filepath.Join(dir, "flags.json")); err != nil {
		t.Fatal(err)
	}
	f, reloads := watch(t, filepath.Join(dir, "flags.json"))
	for i := 1; i <= 3; i++ {
		on := i%2 == 1
		version(i, on)
		eventually(t, fmt.Sprintf("swap %d", i), func() bool { return f.Set().Bool("f", !on, featureflags.EvalContext{}) == on })
	}
	if n := reloads(); n != 3 {
		t.Errorf("%d reloads for 3 swaps, want 3", n)
	}
}

func TestFileCoalescesBursts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	_ = os.WriteFile(path, flagDoc(true), 0o600)
	f, reloads := watch(t, path)
	start := time.Now()
	for i := range 20 { // ends on "off"
		_ = os.WriteFile(path, flagDoc(i%2 == 0), 0o600)
	}
	burst := time.Since(start)
	eventually(t, "the last write wins", func() bool { return !f.Set().Bool("f", true, featureflags.EvalContext{}) && reloads() > 0 })
	time.Sleep(100 * time.Millisecond)
	// One settle time (30ms) of quiet ends a burst: on a loaded machine the
	// 20 writes may take longer than that, and each settle time they span
	// may end one burst more.
	if n, limit := reloads(), 2+int(burst/(30*time.Millisecond)); n > limit {
		t.Errorf("%d reloads for a burst of 20 writes in %s, want at most %d", n, burst, limit)
	}
}

func TestOpenFileRefusesABadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"flags":{"x":{"state":"MAYBE"}}}`), 0o600)
	for _, p := range []string{bad, filepath.Join(dir, "missing.json")} {
		if _, err := featureflags.OpenFile(p, featureflags.FileOptions{}); err == nil {
			t.Errorf("OpenFile(%s) succeeded", p)
		}
	}
}

// TestFileSubscribeTellsEachReloadUntilCancelled: a subscriber hears what
// OnReload hears (a failure with its error, a change with the new set and
// the changed keys, nothing for a reload that changed nothing), and
// nothing once cancelled.
func TestFileSubscribeTellsEachReloadUntilCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(path, flagDoc(false), 0o600); err != nil {
		t.Fatal(err)
	}
	var onReload []string
	f, err := featureflags.OpenFile(path, featureflags.FileOptions{OnReload: func(_ *featureflags.Set, changed []string, err error) {
		onReload = append(onReload, fmt.Sprint(changed, err != nil))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	cancel := f.Subscribe(func(set *featureflags.Set, changed []string, err error) {
		got = append(got, fmt.Sprint(changed, err != nil, set != nil))
	})
	ctx := context.Background()
	_ = os.WriteFile(path, flagDoc(true), 0o600)
	_ = f.Reload(ctx)
	_ = f.Reload(ctx) // nothing changed
	_ = os.WriteFile(path, []byte(`{"flags": `), 0o600)
	_ = f.Reload(ctx)
	_ = os.WriteFile(path, flagDoc(true), 0o600)
	_ = f.Reload(ctx) // recovered, nothing changed
	cancel()
	_ = os.WriteFile(path, flagDoc(false), 0o600)
	_ = f.Reload(ctx)
	want := "[f] false true; [] true false; [] false true"
	if strings.Join(got, "; ") != want {
		t.Errorf("subscriber heard %v, want %s", got, want)
	}
	if len(onReload) != 4 {
		t.Errorf("OnReload heard %v, want every reload that changed something, the last included", onReload)
	}
}
