package logging_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/logging"
)

func TestSinksGetTheRedactedRecordAtTheirOwnLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	debug := new(slog.LevelVar)
	debug.Set(slog.LevelDebug)
	var stdout bytes.Buffer
	l, err := logging.New(logging.Options{Writer: &stdout, Sinks: []logging.Sink{
		{Handler: slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}), Level: debug},
	}})
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("only in the file", "password", "hunter2-file")
	l.Info("in both", "dsn", "postgres://u:hunter2-url@db/app")
	file, _ := os.ReadFile(path)
	if !strings.Contains(string(file), "only in the file") || !strings.Contains(string(file), "in both") {
		t.Errorf("file sink got %s", file)
	}
	if strings.Contains(stdout.String(), "only in the file") || !strings.Contains(stdout.String(), "in both") {
		t.Errorf("stdout got %s", stdout.String())
	}
	for _, out := range []string{string(file), stdout.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("a sink got the secret: %s", out)
		}
	}
}

// blockingHandler blocks in Handle until released, like a sink whose
// network has gone away.
type blockingHandler struct {
	slog.Handler
	release chan struct{}
}

func (h blockingHandler) Handle(ctx context.Context, r slog.Record) error {
	<-h.release
	return nil
}
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h blockingHandler) WithGroup(string) slog.Handler      { return h }

type failingHandler struct{ slog.Handler }

func (failingHandler) Handle(context.Context, slog.Record) error { panic("sink exploded") }
func (h failingHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h failingHandler) WithGroup(string) slog.Handler           { return h }

func TestASlowOrFailingSinkNeverBlocksOrDropsStdout(t *testing.T) {
	release := make(chan struct{})
	slow := logging.NewAsync(blockingHandler{slog.NewJSONHandler(&bytes.Buffer{}, nil), release}, logging.AsyncOptions{Queue: 4})
	var stdout syncWriter
	l, err := logging.New(logging.Options{Writer: &stdout, Sinks: []logging.Sink{
		{Handler: slow.Handler()},
		{Handler: failingHandler{slog.NewJSONHandler(&bytes.Buffer{}, nil)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 100 {
		l.Info("record", "i", i)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 records took %s with a blocked sink", d)
	}
	if n := strings.Count(stdout.String(), `"msg":"record"`); n != 100 {
		t.Errorf("stdout got %d records, want 100", n)
	}
	if d := slow.Dropped(); d < 90 {
		t.Errorf("the blocked sink dropped %d records, want the overflow (at least 90) counted", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := slow.Close(ctx); err == nil {
		t.Error("Close of a blocked sink reported nothing left")
	}
	close(release)
	if err := slow.Close(context.Background()); err != nil {
		t.Errorf("Close after release = %v", err)
	}
	l.Info("after close") // counted as dropped, not a panic on a closed queue
	if slow.Dropped() < 91 {
		t.Errorf("a record after Close was not counted as dropped")
	}
}

func TestAsyncWritesEverythingItQueued(t *testing.T) {
	var out syncWriter
	a := logging.NewAsync(slog.NewJSONHandler(&out, nil), logging.AsyncOptions{Queue: 1000})
	l := slog.New(a.Handler()).With("k", "v").WithGroup("g")
	for i := range 500 {
		l.Info("m", "i", i)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"k":"v","g":{"i":`); n != 500 || a.Dropped() != 0 {
		t.Errorf("wrote %d of 500 (dropped %d)", n, a.Dropped())
	}
}
