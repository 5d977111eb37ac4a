package logging_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/operable-go/operable/logging"
)

// TestKeysFromOutsideCostNoAllocation: records whose keys are new every
// time (a service logging names it was sent as keys) allocate no more
// than a handler that does nothing, once the logger has seen a few
// thousand keys: the cache of key verdicts stops taking keys when its
// slots are full instead of growing or turning them over. Their sensitive
// keys are still masked.
func TestKeysFromOutsideCostNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; make test runs this test without it")
	}
	var out bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &out})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5000 {
		l.LogAttrs(ctx, slog.LevelInfo, "m", slog.String(fmt.Sprintf("seen%d", i), "v"))
	}
	fresh := make([]string, 300)
	for i := range fresh {
		fresh[i] = fmt.Sprintf("x-%d-token", i)
	}
	i := 0
	record := func(l *slog.Logger) func() {
		return func() {
			l.LogAttrs(ctx, slog.LevelInfo, "m", slog.String(fresh[i%len(fresh)], "v4lue"))
			i++
		}
	}
	out.Reset()
	base := testing.AllocsPerRun(200, record(slog.New(dropHandler{})))
	got := testing.AllocsPerRun(200, record(l))
	if got > base {
		t.Errorf("%.0f allocations per record with a new key, a handler that does nothing %.0f: budget is no more", got, base)
	}
	if strings.Contains(out.String(), "v4lue") {
		t.Errorf("a value under a sensitive key was written: %.200s", out.String())
	}
}
