package config

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/operable-go/operable/internal/reload"
)

// Diff returns the paths of the fields whose values differ between two
// structs of the same type (secrets compared by value, never shown), and
// which of them are tagged `reload:"restart"`: settings a running service
// cannot take (a listen address), which need a restart to apply.
func Diff(old, new any) (changed, restart []string) {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	for ov.Kind() == reflect.Pointer && nv.Kind() == reflect.Pointer && !ov.IsNil() && !nv.IsNil() {
		ov, nv = ov.Elem(), nv.Elem()
	}
	if ov.Kind() != reflect.Struct || ov.Type() != nv.Type() {
		return nil, nil
	}
	for _, f := range typeFields(ov.Type()) {
		a, b := fieldByPath(ov, f.Path), fieldByPath(nv, f.Path)
		if a.IsValid() != b.IsValid() || a.IsValid() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
			changed = append(changed, f.Path)
			if tagAt(ov.Type(), f.Path, "reload") == "restart" {
				restart = append(restart, f.Path)
			}
		}
	}
	return changed, restart
}

// tagAt returns the tag key of the field at path in t.
// A nested struct's tag holds for every field inside it (a
// `reload:"restart"` on a breaker.Settings field covers its MinCalls),
// unless a field nearer the leaf sets its own.
func tagAt(t reflect.Type, path, key string) string {
	tag := ""
	for _, name := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		sf, ok := t.FieldByName(name)
		if !ok {
			return ""
		}
		if v, set := sf.Tag.Lookup(key); set {
			tag = v
		}
		t = sf.Type
	}
	return tag
}

// Change is one successful reload.
type Change[T any] struct {
	// Old and New are the configurations before and after.
	Old, New *T
	// Changed are the paths of the fields whose values changed.
	Changed []string
	// Restart are those of them tagged `reload:"restart"`: New holds them,
	// but the running service keeps using the old values until restarted.
	Restart []string
}

// WatchOptions configure [Watch].
type WatchOptions struct {
	// Settle is how long the directory must stay quiet after a change
	// before the files are read again, so that a burst of events (a
	// ConfigMap's symlink swap, an editor's temp file) makes one reload.
	// Default: 100ms.
	Settle time.Duration
	// OnError is called with each failed reload; the last good
	// configuration stays. Default: nil.
	OnError func(error)
}

// Watcher keeps a configuration current as its files change. A reload
// reads every layer again, validates, and only then swaps the new value in
// atomically; a reload that fails keeps the last good value and is
// reported. A file the last good load read that is gone (deleted, or a
// symbolic link left dangling) fails the reload: a running service never
// falls back to the defaults silently. It is safe for concurrent use.
type Watcher[T any] struct {
	v *reload.Value[loaded[T]]
}

// loaded is one good load: the values and where they came from.
type loaded[T any] struct {
	val *T
	src *Sources
}

// Watch loads T as [LoadAll] does and returns a Watcher holding it; Run
// keeps it current. It fails as LoadAll does.
func Watch[T any](ctx context.Context, opts Options, wopts WatchOptions) (*Watcher[T], error) {
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir
	}
	first := true
	// Load is never called concurrently with itself, and a load that
	// succeeds is swapped in: prev is the current value's Sources.
	prev := opts.Previous
	v, err := reload.New(ctx, reload.Options[loaded[T]]{
		Load: func(ctx context.Context) (loaded[T], error) {
			val := new(T)
			o := opts
			o.Previous = prev
			src, err := LoadAll(ctx, o, val)
			if err != nil && !first {
				err = fmt.Errorf("config: reload failed, keeping the last good configuration: %w", err)
			}
			if err == nil {
				prev = src
			}
			first = false
			return loaded[T]{val, src}, err
		},
		Diff:   func(old, new loaded[T]) []string { changed, _ := Diff(old.val, new.val); return changed },
		Dir:    filepath.Clean(dir),
		Settle: wopts.Settle,
	})
	if err != nil {
		return nil, err
	}
	if wopts.OnError != nil {
		v.Subscribe(func(e reload.Event[loaded[T]]) {
			if e.Err != nil {
				wopts.OnError(e.Err)
			}
		})
	}
	return &Watcher[T]{v: v}, nil
}

// Current returns the current configuration. It must not be modified.
func (w *Watcher[T]) Current() *T { return w.v.Current().val }

// Sources returns where the current values came from.
func (w *Watcher[T]) Sources() *Sources { return w.v.Current().src }

// Err returns why the last reload failed, or nil when the current value
// is what the files say.
func (w *Watcher[T]) Err() error { return w.v.Err() }

// Subscribe calls fn after every reload that changed something, from
// Run's goroutine.
func (w *Watcher[T]) Subscribe(fn func(Change[T])) {
	w.v.Subscribe(func(e reload.Event[loaded[T]]) {
		if e.Err != nil || len(e.Changed) == 0 {
			return
		}
		_, restart := Diff(e.Old.val, e.New.val)
		fn(Change[T]{Old: e.Old.val, New: e.New.val, Changed: e.Changed, Restart: restart})
	})
}

// Run watches the configuration directory until ctx is done and reloads
// after each settled burst of changes. It returns an error only when the
// watch cannot be set up.
func (w *Watcher[T]) Run(ctx context.Context) error {
	if err := w.v.Run(ctx); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Reload reads every layer now; see [Watcher].
func (w *Watcher[T]) Reload(ctx context.Context) error { return w.v.Reload(ctx) }
