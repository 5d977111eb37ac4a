package operable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/operable-go/operable/health"
)

// A StartupTask is work that must finish before the service is ready: a
// migration, a cache warm-up. See [Service.AddStartupTask].
type StartupTask struct {
	// Name names the task in logs and errors. Required.
	Name string
	// Timeout bounds the task, whether or not Func watches its context
	// (one that does not is abandoned at the timeout). Default: 1m.
	Timeout time.Duration
	// Func does the work; its context ends at the timeout or when the
	// service stops. Required.
	Func func(ctx context.Context) error
}

// DefaultStartupTaskTimeout is a StartupTask's Timeout when it sets none.
const DefaultStartupTaskTimeout = time.Minute

// startupTasksPart runs the service's start-up tasks once it serves, in
// order, and holds /startupz and /readyz at 503 until they are all done: the
// probes answer, the application's listener is open, and no traffic is sent
// to it before then.
type startupTasksPart struct {
	mu    sync.Mutex
	tasks []StartupTask
	done  atomic.Bool
}

// startStartupTasks registers the worker that runs the tasks and the
// "startup-tasks" check, in the startup and readiness groups, which fails
// until they are done.
func (s *Service) startStartupTasks(context.Context, Options) error {
	s.life.Go("startup tasks", s.runStartupTasks)
	return s.checks.Add(health.Check{Name: "startup-tasks", Groups: health.Startup | health.Readiness, ComponentType: "component",
		Func: func(context.Context) error {
			if !s.tasks.done.Load() {
				return errors.New("start-up tasks are running")
			}
			return nil
		}})
}

// AddStartupTask registers t to run after setup, once the service serves
// and before it reports ready, after the tasks registered before it. A task
// that fails or overruns its timeout stops the service (exit code 1), and
// the error names it. Call it before Run.
func (s *Service) AddStartupTask(t StartupTask) error {
	if t.Name == "" || t.Func == nil {
		return errors.New("operable: a start-up task needs a Name and a Func")
	}
	if t.Timeout <= 0 {
		t.Timeout = DefaultStartupTaskTimeout
	}
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != built {
		return fmt.Errorf("operable: start-up task %q added after Run or Close", t.Name)
	}
	s.tasks.mu.Lock()
	defer s.tasks.mu.Unlock()
	s.tasks.tasks = append(s.tasks.tasks, t)
	return nil
}

// runStartupTasks runs every task in order, each logged with its duration,
// and stops at the first that fails.
func (s *Service) runStartupTasks(ctx context.Context) error {
	s.tasks.mu.Lock()
	tasks := s.tasks.tasks
	s.tasks.mu.Unlock()
	for _, t := range tasks {
		if err := s.runStartupTask(ctx, t); err != nil {
			return err
		}
	}
	if len(tasks) > 0 {
		// The background checks that ran during the tasks may have seen
		// their work half-done (a table not migrated yet): readiness starts
		// from results taken now.
		s.checks.Refresh(ctx)
	}
	s.tasks.done.Store(true)
	if len(tasks) > 0 {
		s.logger.Info("start-up tasks done", slog.Int("tasks", len(tasks)))
	}
	return nil // a worker that returns nil has finished
}

// runStartupTask runs t within its timeout even when t ignores its
// context: past the timeout the task is abandoned (its goroutine may run
// on) and counted as failed. The error is flattened (%v) so that whatever
// t returned, a failed task is exit code 1.
func (s *Service) runStartupTask(ctx context.Context, t StartupTask) error {
	tctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	begin := time.Now()
	result := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				result <- fmt.Errorf("panic: %v", p)
			}
		}()
		result <- t.Func(tctx)
	}()
	var err error
	select {
	case err = <-result:
	case <-tctx.Done():
		err = tctx.Err()
	}
	d := slog.Float64("duration", time.Since(begin).Seconds())
	if err == nil {
		s.logger.Info("start-up task done", slog.String("task", t.Name), d)
		return nil
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%v (timeout %s)", err, t.Timeout)
	}
	err = fmt.Errorf("operable: start-up task %q: %v", t.Name, err)
	s.logger.Error("start-up task failed", slog.String("task", t.Name), d, slog.Any("error", err))
	return err
}
