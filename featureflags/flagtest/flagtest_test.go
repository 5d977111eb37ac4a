package flagtest_test

import (
	"os"
	"path/filepath"
	"testing"

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
