// Package reload keeps the last good value of a watched source: it loads
// the source, validates it (a load that fails is a bad source), diffs it
// against the current value, swaps it in atomically, and tells the
// subscribers. While the source is bad the last good value stays and
// [Value.Err] says why, for a health check to warn with. It is the one
// implementation behind config.Watcher, featureflags.File and the root
// package's reload of its configuration.
package reload

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/operable-go/operable/internal/dirwatch"
)

// Settle is how long a watched directory must stay quiet after a change
// before the source is loaded again, so that a burst of events (a
// ConfigMap's ..data symlink swap, an editor's temp file and rename) makes
// one reload.
const Settle = 100 * time.Millisecond

// Options describe a source to [New].
type Options[T any] struct {
	// Load reads and validates the source. An error keeps the last good
	// value. Required.
	Load func(ctx context.Context) (T, error)
	// Diff names what changed between two good values, for
	// [Event.Changed]. Default: nil, Changed is always nil.
	Diff func(old, new T) []string
	// Dir is the directory [Value.Run] watches. Default: none, Run only
	// waits for its context (call [Value.Reload] yourself).
	Dir string
	// MoreDirs are watched with Dir, when the source spans directories
	// (a TLS key kept apart from its certificate). Default: none.
	MoreDirs []string
	// Settle overrides [Settle], for tests. Default: Settle.
	Settle time.Duration
}

// Event is one reload attempt, as subscribers see it: either Err is set
// (the source is bad; Old is the value kept), or New is the value swapped
// in, Changed names what differs from Old, and Recovered says the source
// was bad before.
type Event[T any] struct {
	Old, New  T
	Changed   []string
	Recovered bool
	Err       error
}

// Value holds the current good value of one source. It is safe for
// concurrent use; subscribers are called from the goroutine that reloads,
// one reload at a time.
type Value[T any] struct {
	opts Options[T]
	cur  atomic.Pointer[T]
	bad  atomic.Pointer[error]
	mu   sync.Mutex // one reload at a time; guards subs
	subs []func(Event[T])
}

// New loads the source once; its error is New's (a service should not start
// on a source it cannot read). Load is never called concurrently with
// itself.
func New[T any](ctx context.Context, opts Options[T]) (*Value[T], error) {
	if opts.Settle <= 0 {
		opts.Settle = Settle
	}
	v := &Value[T]{opts: opts}
	first, err := opts.Load(ctx)
	if err != nil {
		return nil, err
	}
	v.cur.Store(&first)
	return v, nil
}

// Current returns the current good value.
func (v *Value[T]) Current() T { return *v.cur.Load() }

// Err returns why the last reload failed, or nil while the current value is
// what the source holds.
func (v *Value[T]) Err() error {
	if p := v.bad.Load(); p != nil {
		return *p
	}
	return nil
}

// Subscribe calls fn after each reload attempt, failed or good (a good one
// may have changed nothing: Changed is then empty).
func (v *Value[T]) Subscribe(fn func(Event[T])) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.subs = append(v.subs, fn)
}

// Reload loads the source now: a good value is swapped in, a bad one is
// kept out and returned.
func (v *Value[T]) Reload(ctx context.Context) error { return v.reload(ctx, false) }

// reload is Reload; a catch-up reload tells the subscribers only when it
// found something: a change, a bad source, a recovery.
func (v *Value[T]) reload(ctx context.Context, catchUp bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := *v.cur.Load()
	next, err := v.opts.Load(ctx)
	if err != nil {
		v.fail(old, err)
		return err
	}
	recovered := v.bad.Swap(nil) != nil
	var changed []string
	if v.opts.Diff != nil {
		changed = v.opts.Diff(old, next)
	}
	v.cur.Store(&next)
	if !catchUp || len(changed) > 0 || recovered || v.opts.Diff == nil {
		v.notify(Event[T]{Old: old, New: next, Changed: changed, Recovered: recovered})
	}
	return nil
}

// fail records err and tells the subscribers; the caller holds mu.
func (v *Value[T]) fail(kept T, err error) {
	v.bad.Store(&err)
	v.notify(Event[T]{Old: kept, New: kept, Err: err})
}

func (v *Value[T]) notify(e Event[T]) {
	for _, fn := range v.subs {
		fn(e)
	}
}

// Run watches Options.Dir until ctx is done and reloads after each settled
// burst of changes, and once as soon as the watch is set up, for a change
// made between New and then (told only when it found one). When the watch reports an error (its event queue
// overflowed: changes may have been missed), it reloads at once, so that
// the value is what the source holds whatever was missed. It returns an
// error only when the watch cannot be set up.
func (v *Value[T]) Run(ctx context.Context) error {
	if v.opts.Dir == "" {
		<-ctx.Done()
		return nil
	}
	// Once the watch exists, one catch-up load sees what changed since New
	// loaded, before anything could be watched.
	catchUp := func() { _ = v.reload(ctx, true) }
	reload := func() { _ = v.Reload(ctx) }
	dirs := append([]string{v.opts.Dir}, v.opts.MoreDirs...)
	err := dirwatch.Run(ctx, dirs, v.opts.Settle, catchUp, reload, func(error) { reload() })
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return nil
}
