package operable_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
)

// TestStartupTasksRunInOrderBeforeReady: the tasks run one after the other
// once the service serves; /startupz and /readyz answer 503 while they run
// and 200 once they are done.
func TestStartupTasksRunInOrderBeforeReady(t *testing.T) {
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var order []string
	for _, name := range []string{"migrate", "warm cache"} {
		if err := s.AddStartupTask(operable.StartupTask{Name: name, Func: func(ctx context.Context) error {
			order = append(order, name)
			if name == "warm cache" {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddStartupTask(operable.StartupTask{Func: func(context.Context) error { return nil }}); err == nil {
		t.Error("a task without a name was accepted")
	}
	probe := func(path string) int {
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), `"task":"migrate"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first task did not run:\n%s", out.String())
		}
	}
	time.Sleep(20 * time.Millisecond)
	for _, path := range []string{"/startupz", "/readyz"} {
		if code := probe(path); code != http.StatusServiceUnavailable {
			t.Errorf("%s while a task runs = %d, want 503", path, code)
		}
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); probe("/startupz") != http.StatusOK || probe("/readyz") != http.StatusOK; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/startupz or /readyz never passed after the tasks")
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if strings.Join(order, ",") != "migrate,warm cache" {
		t.Errorf("tasks ran as %v", order)
	}
}

// TestAFailingStartupTaskStopsTheService: an error, a panic and an overrun
// timeout each stop the service with exit code 1 and an error naming the
// task; the tasks after it never run.
func TestAFailingStartupTaskStopsTheService(t *testing.T) {
	cases := map[string]struct {
		task operable.StartupTask
		want string
	}{
		"error":   {operable.StartupTask{Func: func(context.Context) error { return errors.New("no database") }}, "no database"},
		"panic":   {operable.StartupTask{Func: func(context.Context) error { panic("boom") }}, "panic: boom"},
		"timeout": {operable.StartupTask{Timeout: 20 * time.Millisecond, Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}, "timeout 20ms"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			c.task.Name = "migrate"
			after := false
			for _, task := range []operable.StartupTask{c.task, {Name: "after", Func: func(context.Context) error { after = true; return nil }}} {
				if err := s.AddStartupTask(task); err != nil {
					t.Fatal(err)
				}
			}
			err = s.Run(context.Background())
			if operable.ExitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), `start-up task "migrate"`) || !strings.Contains(fmt.Sprint(err), c.want) {
				t.Errorf("Run = %v, want exit code 1 naming the task and saying %q", err, c.want)
			}
			if after {
				t.Error("the task after the failed one ran")
			}
		})
	}
}

// TestAStartupTaskThatIgnoresItsContextStillTimesOut: a task blocked on
// something that never ends, deaf to its context, is abandoned at its
// timeout and stops the service, instead of holding readiness forever.
func TestAStartupTaskThatIgnoresItsContextStillTimesOut(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) }) // lets the abandoned goroutine end before goleak looks
	if err := s.AddStartupTask(operable.StartupTask{Name: "lock", Timeout: 30 * time.Millisecond,
		Func: func(context.Context) error { <-stuck; return nil }}); err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	if operable.ExitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), `start-up task "lock"`) || !strings.Contains(fmt.Sprint(err), "timeout 30ms") {
		t.Errorf("Run = %v, want exit 1 naming the task's timeout", err)
	}
	if err := s.AddStartupTask(operable.StartupTask{Name: "late", Func: func(context.Context) error { return nil }}); err == nil {
		t.Error("a task added after Run was accepted")
	}
}
