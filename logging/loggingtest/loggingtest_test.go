package loggingtest_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/logging/loggingtest"
)

// The SDK's own JSON pipeline, with and without a sink, keeps every rule.
func TestTheSDKsHandlersPass(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		loggingtest.Run(t, func(w io.Writer, known *logging.KnownValues) slog.Handler {
			l, err := logging.New(logging.Options{Writer: w, Known: known})
			if err != nil {
				t.Fatal(err)
			}
			return l.Handler()
		})
	})
	t.Run("composed by hand", func(t *testing.T) {
		// A vendor's JSON handler made to keep the rules with the SDK's
		// wrappers: ids from the context, then redaction.
		loggingtest.Run(t, func(w io.Writer, known *logging.KnownValues) slog.Handler {
			return logging.NewContextHandler(logging.NewRedactHandler(slog.NewJSONHandler(w, nil), logging.RedactOptions{Known: known}))
		})
	})
}

// TestTheKitCatchesBrokenHandlers: each rule fails on a handler that
// breaks it, and names itself.
func TestTheKitCatchesBrokenHandlers(t *testing.T) {
	cases := []struct {
		name    string
		handler loggingtest.NewHandler
		broken  []string // rules that must fail
	}{
		{"slog's JSON handler alone", func(w io.Writer, _ *logging.KnownValues) slog.Handler { return slog.NewJSONHandler(w, nil) },
			[]string{"ids:", "redaction:"}},
		{"a text handler", func(w io.Writer, _ *logging.KnownValues) slog.Handler { return slog.NewTextHandler(w, nil) },
			[]string{"json-lines:"}},
		{"a handler that drops groups", func(w io.Writer, known *logging.KnownValues) slog.Handler {
			return flatGroups{slog.NewJSONHandler(w, nil)}
		}, []string{"slog:"}},
	}
	for _, c := range cases {
		err := loggingtest.TestHandler(c.handler)
		for _, rule := range c.broken {
			if err == nil || !strings.Contains(err.Error(), rule) {
				t.Errorf("%s: TestHandler = %v, want the %s rule broken", c.name, err, rule)
			}
		}
	}
}

// flatGroups ignores WithGroup, against slog's rules.
type flatGroups struct{ slog.Handler }

func (h flatGroups) WithGroup(string) slog.Handler { return h }
func (h flatGroups) WithAttrs(as []slog.Attr) slog.Handler {
	return flatGroups{h.Handler.WithAttrs(as)}
}
