// Package loggingtest checks that a slog.Handler keeps the rules of the
// contract's log format, for a team that puts a handler of its own (a
// vendor's, a wrapper) where the service logs:
//
//   - slog: every rule of testing/slogtest;
//   - json-lines: one JSON object per record, on one line, with time, level
//     and msg;
//   - ids: the context's request_id, trace_id and span_id at the top level of
//     the line, whatever groups are open;
//   - redaction: a planted secret never appears: under a sensitive key, in a
//     group, in an http.Header, in a secret-shaped value (a bearer token in a
//     URL's query), or as a known value inside any text.
//
// Like testing/slogtest, it comes in two forms: [TestHandler] returns one
// error that lists every broken rule, each naming it, and [Run] runs each
// rule as a subtest, so that a rule that cannot apply can be skipped.
// logging.New's handlers pass it (see the package's tests).
package loggingtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/slogtest"

	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/logging"
)

// NewHandler makes the handler under test, writing to w, that must mask
// the values in known (what a service gives logging.Options.Known).
type NewHandler func(w io.Writer, known *logging.KnownValues) slog.Handler

// rule is one rule of the kit.
type rule struct {
	name  string
	check func(NewHandler) error
}

var rules = []rule{
	{"slog", checkSlog},
	{"json-lines", checkJSONLines},
	{"ids", checkIDs},
	{"redaction", checkRedaction},
}

// TestHandler checks handlers made by newHandler against every rule and
// returns nil, or one error listing each broken rule as "rule: what".
func TestHandler(newHandler NewHandler) error {
	var errs []error
	for _, r := range rules {
		if err := r.check(newHandler); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

// Run checks each rule as a subtest of t named after it.
func Run(t *testing.T, newHandler NewHandler) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(newHandler); err != nil {
				t.Error(err)
			}
		})
	}
}

// lines parses each line of buf as a JSON object.
func lines(buf *bytes.Buffer) ([]map[string]any, error) {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return out, fmt.Errorf("line %d is not a JSON object: %w", n, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

func checkSlog(newHandler NewHandler) error {
	var buf bytes.Buffer
	h := newHandler(&buf, &logging.KnownValues{})
	return slogtest.TestHandler(h, func() []map[string]any {
		ms, _ := lines(&buf) // a line that is not JSON is json-lines' to report
		return ms
	})
}

func checkJSONLines(newHandler NewHandler) error {
	var buf bytes.Buffer
	l := slog.New(newHandler(&buf, &logging.KnownValues{}))
	l.Info("first", "n", 1, "text", "two\nlines")
	l.Warn("second", slog.Group("g", "a", "b"))
	l.Error("third", "error", errors.New("boom"))
	ms, err := lines(&buf)
	if err != nil {
		return err
	}
	if len(ms) != 3 {
		return fmt.Errorf("3 records made %d lines, want 3", len(ms))
	}
	var errs []error
	for i, m := range ms {
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				errs = append(errs, fmt.Errorf("line %d has no %q", i+1, k))
			}
		}
	}
	return errors.Join(errs...)
}

func checkIDs(newHandler NewHandler) error {
	var buf bytes.Buffer
	l := slog.New(newHandler(&buf, &logging.KnownValues{}))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = logging.ContextWithRequestID(ctx, "req-42")
	l.InfoContext(ctx, "flat")
	l.WithGroup("g").With("a", 1).InfoContext(ctx, "grouped", "b", 2)
	ms, err := lines(&buf)
	if err != nil {
		return err
	}
	if len(ms) != 2 {
		return fmt.Errorf("2 records made %d lines", len(ms))
	}
	var errs []error
	for i, m := range ms {
		for k, want := range map[string]string{"request_id": "req-42", "trace_id": tid.String(), "span_id": sid.String()} {
			if m[k] != want {
				errs = append(errs, fmt.Errorf("line %d (%v): %s = %v at the top level, want %s", i+1, m["msg"], k, m[k], want))
			}
		}
	}
	return errors.Join(errs...)
}

func checkRedaction(newHandler NewHandler) error {
	const (
		password = "pl4nted-password-1"
		grouped  = "pl4nted-token-2"
		header   = "pl4nted-header-3"
		bearer   = "pl4nted-bearer-4"
		known    = "pl4nted-known-value-5"
	)
	kv := &logging.KnownValues{}
	kv.Add(known)
	var buf bytes.Buffer
	l := slog.New(newHandler(&buf, kv))
	cases := []struct {
		planted, where string
		log            func()
	}{
		{password, "under the key password", func() { l.Info("login", "user", "ann", "password", password) }},
		{grouped, "under token in a group", func() { l.Info("call", slog.Group("upstream", "token", grouped)) }},
		{header, "in an http.Header's Authorization", func() { l.Info("request", "headers", http.Header{"Authorization": {"Basic " + header}}) }},
		{bearer, "in a URL's access_token parameter", func() { l.Info("redirect", "url", "https://example.com/cb?access_token="+bearer+"&state=1") }},
		{known, "as a known value inside the message", func() { l.Info("loaded " + known + " from the vault") }},
		{known, "as a known value inside an error", func() { l.Error("failed", "error", errors.New("db said "+known)) }},
	}
	var errs []error
	for _, c := range cases {
		buf.Reset()
		c.log()
		if buf.Len() == 0 {
			errs = append(errs, fmt.Errorf("a record with a secret %s wrote nothing (it must be written, masked)", c.where))
			continue
		}
		if strings.Contains(buf.String(), c.planted) {
			errs = append(errs, fmt.Errorf("a secret %s is in the output", c.where))
		}
	}
	return errors.Join(errs...)
}
