package flagtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/featureflags/flagtest"
)

func TestParsedSetPassesTheKit(t *testing.T) {
	if err := flagtest.TestSource(func(doc []byte) (flagtest.Source, error) { return featureflags.Parse(doc) }); err != nil {
		t.Error(err)
	}
}

func TestFilePassesTheKit(t *testing.T) {
	flagtest.Run(t, func(t *testing.T, doc []byte) flagtest.Source {
		path := filepath.Join(t.TempDir(), "flags.json")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := featureflags.OpenFile(path, featureflags.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
}

// A source that loses the disabled state fails the kit, naming the rule.
func TestTheKitCatchesABrokenSource(t *testing.T) {
	err := flagtest.TestSource(func(doc []byte) (flagtest.Source, error) {
		return featureflags.Parse([]byte(`{"flags": {"static-bool": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}}`))
	})
	if err == nil {
		t.Fatal("a source missing most flags passed the kit")
	}
	for _, want := range []string{"a disabled flag gives the caller's default", "the listing names every flag"} {
		if !contains(err.Error(), want) {
			t.Errorf("the kit's error does not name %q: %v", want, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestStatic(t *testing.T) {
	set, err := flagtest.Static(map[string]any{"new-checkout": true, "greeting": "hi", "limit": 5, "ratio": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	none := featureflags.EvalContext{}
	if !set.Bool("new-checkout", false, none) || set.String("greeting", "", none) != "hi" ||
		set.Int("limit", 0, none) != 5 || set.Float("ratio", 0, none) != 0.5 {
		t.Errorf("Static flags: %+v", set.Flags())
	}
}

// fileSource is a watched file as a Reloader: Update writes the file and
// reloads it.
type fileSource struct {
	*featureflags.File
	path string
}

func (f fileSource) Update(doc []byte) error {
	if err := os.WriteFile(f.path, doc, 0o600); err != nil {
		return err
	}
	return f.Reload(context.Background())
}

func TestAWatchedFilePassesTheReloadRules(t *testing.T) {
	newSource := func(t *testing.T, doc []byte) flagtest.Source {
		path := filepath.Join(t.TempDir(), "flags.json")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := featureflags.OpenFile(path, featureflags.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fileSource{f, path}
	}
	flagtest.Run(t, newSource)
	if err := flagtest.TestSource(func(doc []byte) (flagtest.Source, error) { return newSource(t, doc), nil }); err != nil {
		t.Error(err)
	}
}

// brokenReloader swaps in half of each update first, and takes a bad
// document as no flags at all.
type brokenReloader struct {
	cur atomic.Pointer[featureflags.Set]
}

func (b *brokenReloader) Set() *featureflags.Set { return b.cur.Load() }

func (b *brokenReloader) Update(doc []byte) error {
	full, err := featureflags.Parse(doc)
	if err != nil {
		empty, _ := featureflags.Parse([]byte(`{"flags": {}}`))
		b.cur.Store(empty)
		return err
	}
	if half, err := featureflags.Parse([]byte(strings.Replace(string(doc), `"b": "beta"}, "defaultVariant": "a"`, `"b": "beta"}, "defaultVariant": "b"`, 1))); err == nil {
		b.cur.Store(half)
		time.Sleep(2 * time.Millisecond)
	}
	b.cur.Store(full)
	return nil
}

func TestTheKitCatchesABrokenReloader(t *testing.T) {
	err := flagtest.TestSource(func(doc []byte) (flagtest.Source, error) {
		b := &brokenReloader{}
		return b, b.Update(doc)
	})
	for _, rule := range []string{"a reload is seen whole by concurrent readers", "a bad update keeps the last good flags"} {
		if err == nil || !strings.Contains(err.Error(), rule+":") {
			t.Errorf("TestSource = %v, want %q broken", err, rule)
		}
	}
}
