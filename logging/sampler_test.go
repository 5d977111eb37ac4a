package logging_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/operable-go/operable/logging"
)

func TestSamplerSummarizesFloods(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	var buf bytes.Buffer
	l := slog.New(logging.NewSampler(slog.NewJSONHandler(&buf, nil), logging.SamplerOptions{PerSecond: 3, Now: now}))
	for range 1000 {
		l.Error("database unreachable")
	}
	l.Info("a different message")
	l.Warn("database unreachable") // another level: its own count
	if n := strings.Count(buf.String(), `"msg":"database unreachable"`); n != 4 {
		t.Errorf("%d flood lines written in the first second, want 3 + 1 at another level", n)
	}
	clock.Add(1)
	l.Error("database unreachable")
	out := buf.String()
	if !strings.Contains(out, `"msg":"log records suppressed","message":"database unreachable","suppressed":997,"per_second":3`) {
		t.Errorf("no summary of the 997 suppressed records:\n%s", out)
	}
	if n := strings.Count(out, `"msg":"database unreachable"`); n != 5 {
		t.Errorf("%d flood lines after the second ended, want 5", n)
	}
}

func TestSamplerPassesSlogtest(t *testing.T) {
	var buf bytes.Buffer
	h := logging.NewSampler(slog.NewJSONHandler(&buf, nil), logging.SamplerOptions{PerSecond: 100})
	if err := slogtestHandler(h, &buf); err != nil {
		t.Error(err)
	}
}

func TestNewSamplesWhenAsked(t *testing.T) {
	var buf bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &buf, SamplePerSecond: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		l.Info("retrying")
	}
	if n := strings.Count(buf.String(), `"msg":"retrying"`); n > 4 { // 2, or 4 across a second boundary
		t.Errorf("%d of 50 identical records written with a limit of 2 a second", n)
	}
}
