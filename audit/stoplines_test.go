package audit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// loggedInstance is an Instance that has written stdout and ended.
type loggedInstance string

func (l loggedInstance) Output() (string, string)     { return string(l), "" }
func (loggedInstance) Stop() error                    { return nil }
func (loggedInstance) Wait(time.Duration) (int, bool) { return 0, true }

// TestStopLinesAreTheStopsPhasesWarningsAndErrors: a failed stop check
// shows what the service logged of its stop: from "shutdown started" on,
// the shutdown lines and every warning and error, bounded; not the
// requests' lines, not what came before the stop.
func TestStopLinesAreTheStopsPhasesWarningsAndErrors(t *testing.T) {
	log := strings.Join([]string{
		`{"level":"WARN","msg":"before the stop"}`,
		`{"level":"INFO","msg":"request"}`,
		`{"level":"INFO","msg":"shutdown started"}`,
		`{"level":"INFO","msg":"request"}`,
		`not JSON`,
		`{"level":"ERROR","msg":"server did not drain in time"}`,
		`{"level":"INFO","msg":"shutdown complete"}`,
		`{"level":"INFO","msg":"cut sho`,
	}, "\n")
	p := &Process{inst: loggedInstance(log)}
	want := []string{
		`{"level":"INFO","msg":"shutdown started"}`,
		`{"level":"ERROR","msg":"server did not drain in time"}`,
		`{"level":"INFO","msg":"shutdown complete"}`,
	}
	if got := p.stopLines(); !slices.Equal(got, want) {
		t.Errorf("stopLines() = %q, want %q", got, want)
	}

	many := []string{`{"level":"INFO","msg":"shutdown started"}`}
	for i := range 3 * maxStopLines {
		many = append(many, fmt.Sprintf(`{"level":"WARN","msg":"w%d"}`, i))
	}
	p = &Process{inst: loggedInstance(strings.Join(many, "\n") + "\n")}
	if got := p.stopLines(); len(got) != maxStopLines+1 || got[maxStopLines] != "…" {
		t.Errorf("stopLines() of %d lines = %d lines ending %q, want %d and …", len(many), len(got), got[len(got)-1], maxStopLines+1)
	}
}
