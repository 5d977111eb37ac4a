package featureflags

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/operable-go/operable/internal/boundedread"
	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/internal/reload"
)

// FileOptions configure [OpenFile]. The zero value coalesces events over
// 100 ms, takes FLAG_<KEY> overrides from the process environment and
// reports nothing.
type FileOptions struct {
	// Settle is how long the directory must stay quiet after an event
	// before the file is read again, so that a burst of events (an editor's
	// temp file and rename, a ConfigMap's symlink swap) makes one reload.
	// Default: 100ms.
	Settle time.Duration
	// OnReload, when set, is called after each failed reload with the
	// error (the set and keys nil), and after each good one that changed a
	// flag or ended a bad spell with the new set and the keys of the flags
	// that changed (err nil). Default: nil.
	OnReload func(set *Set, changed []string, err error)
	// Environ holds the FLAG_<KEY> overrides (see [Set.WithOverrides]),
	// applied to every version of the file. Default: nil, the process
	// environment.
	Environ map[string]string
	// Metrics, when set, records the evaluations of every version of the
	// file. Default: nil.
	Metrics *Metrics
	// MaxFileSize is the size limit of the file, in bytes: each read takes
	// at most one byte more, and a larger file is refused (at open, or at a
	// reload, which keeps the last good flags) with an error naming the file
	// and the limit. Default: 1 MiB (1048576).
	MaxFileSize int64
}

// File keeps the flags of one file current. It watches the file's
// directory, not the file, so that a rename into place and Kubernetes'
// ..data symlink swap are seen; it parses what changed and swaps it in only
// when it is valid: a bad file keeps the last good flags, and Err says why.
// It is safe for concurrent use; the watch runs in [File.Run].
type File struct {
	v *reload.Value[*Set]

	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	fn func(set *Set, changed []string, err error)
}

// OpenFile reads and parses path. It fails when the file cannot be read or
// parsed: a service should not start on flags it cannot read.
func OpenFile(path string, opts FileOptions) (*File, error) {
	env := environ.Or(opts.Environ)
	first := true
	v, err := reload.New(context.Background(), reload.Options[*Set]{
		Load: func(context.Context) (*Set, error) {
			set, err := load(path, env, opts.Metrics, opts.MaxFileSize)
			if err != nil && !first {
				err = fmt.Errorf("%w (keeping the last good flags)", err)
			}
			first = false
			return set, err
		},
		Diff:   Changed,
		Dir:    filepath.Dir(path),
		Settle: opts.Settle,
	})
	if err != nil {
		return nil, err
	}
	f := &File{v: v, subs: map[*subscription]struct{}{}}
	v.Subscribe(func(e reload.Event[*Set]) {
		var set *Set
		var changed []string
		switch {
		case e.Err != nil:
		case len(e.Changed) > 0 || e.Recovered:
			set, changed = e.New, e.Changed
		default:
			return
		}
		if opts.OnReload != nil {
			opts.OnReload(set, changed, e.Err)
		}
		f.mu.Lock()
		subs := make([]*subscription, 0, len(f.subs))
		for s := range f.subs {
			subs = append(subs, s)
		}
		f.mu.Unlock()
		for _, s := range subs {
			s.fn(set, changed, e.Err)
		}
	})
	return f, nil
}

// Subscribe calls fn as FileOptions.OnReload is called (after each failed
// reload with the error; after each good one that changed a flag or ended
// a bad spell with the new set and the changed keys), until the returned
// cancel is called (a call already under way may end after it). fn is
// called from the goroutine that reloads, one reload at a time, and must
// not block; after OnReload, in no set order with other subscribers.
// Package featureflags/ofprovider uses it to turn reloads into OpenFeature
// events.
func (f *File) Subscribe(fn func(set *Set, changed []string, err error)) (cancel func()) {
	s := &subscription{fn: fn}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}
}

// Set returns the current flags.
func (f *File) Set() *Set { return f.v.Current() }

// Err returns why the last reload failed, or nil when the current flags
// are the file's content.
func (f *File) Err() error { return f.v.Err() }

// Reload reads the file now, as a change seen by Run does: a good file is
// swapped in, a bad one kept out (and returned, and told to OnReload).
func (f *File) Reload(ctx context.Context) error { return f.v.Reload(ctx) }

// Run watches the file until ctx is done, reloading it when its directory
// changes. It returns an error only when the watch cannot be set up.
func (f *File) Run(ctx context.Context) error {
	if err := f.v.Run(ctx); err != nil {
		return fmt.Errorf("featureflags: %w", err)
	}
	return nil
}

// load reads one version of the file (through any symlinks), at most limit
// bytes, with the overrides and metrics. A dangling symbolic link, a
// directory and a file it may not read are errors that say so.
func load(path string, env map[string]string, m *Metrics, limit int64) (*Set, error) {
	data, err := boundedread.ReadFile(path, limit)
	if err != nil {
		return nil, fmt.Errorf("featureflags: %w", err)
	}
	set, err := parseNamed(path, data)
	if err == nil {
		set, err = set.WithOverrides(env)
	}
	if err != nil {
		return nil, fmt.Errorf("featureflags: %s: %w", path, err)
	}
	if m != nil {
		set = set.WithMetrics(m)
	}
	return set, nil
}
