package featureflags

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/operable-go/operable/internal/dirwatch"
)

// FileOptions configure [OpenFile]. The zero value coalesces events over
// 100 ms and reports nothing.
type FileOptions struct {
	// Settle is how long the directory must stay quiet after an event
	// before the file is read again, so that a burst of events (an editor's
	// temp file and rename, a ConfigMap's symlink swap) makes one reload.
	// Default: 100ms.
	Settle time.Duration
	// OnReload, when set, is called after each reload attempt with the new
	// set and the keys of the flags that changed (nil on failure), and the
	// error (nil on success). Default: nil.
	OnReload func(set *Set, changed []string, err error)
	// Env holds FLAG_<KEY> overrides (see [Set.WithOverrides]), applied to
	// every version of the file. Default: nil, none.
	Env map[string]string
	// Metrics, when set, records the evaluations of every version of the
	// file. Default: nil.
	Metrics *Metrics
}

// File keeps the flags of one file current. It watches the file's
// directory, not the file, so that a rename into place and Kubernetes'
// ..data symlink swap are seen; it parses what changed and swaps it in only
// when it is valid: a bad file keeps the last good flags, and Err says why.
// It is safe for concurrent use; the watch runs in [File.Run].
type File struct {
	path    string
	opts    FileOptions
	current atomic.Pointer[Set]
	mu      sync.Mutex // guards last and err
	last    []byte     // the content of the current set
	err     error
}

// OpenFile reads and parses path. It fails when the file cannot be read or
// parsed: a service should not start on flags it cannot read.
func OpenFile(path string, opts FileOptions) (*File, error) {
	if opts.Settle <= 0 {
		opts.Settle = 100 * time.Millisecond
	}
	f := &File{path: path, opts: opts}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("featureflags: %w", err)
	}
	set, err := f.parse(data)
	if err != nil {
		return nil, fmt.Errorf("featureflags: %s: %w", path, err)
	}
	f.current.Store(set)
	f.last = data
	return f, nil
}

// Set returns the current flags.
func (f *File) Set() *Set { return f.current.Load() }

// Err returns why the last reload failed, or nil when the current flags
// are the file's content.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Run watches the file until ctx is done, reloading it when its directory
// changes. It returns an error only when the watch cannot be set up.
func (f *File) Run(ctx context.Context) error {
	err := dirwatch.Run(ctx, filepath.Dir(f.path), f.opts.Settle, f.reload, func(err error) {
		f.fail(fmt.Errorf("featureflags: %w", err))
	})
	if err != nil {
		return fmt.Errorf("featureflags: %w", err)
	}
	return nil
}

// reload reads the file (through any symlinks) and swaps in its flags when
// the content changed and parses.
func (f *File) reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.fail(fmt.Errorf("featureflags: %w", err))
		return
	}
	f.mu.Lock()
	same := bytes.Equal(data, f.last) && f.err == nil
	f.mu.Unlock()
	if same {
		return
	}
	set, err := f.parse(data)
	if err != nil {
		f.fail(fmt.Errorf("featureflags: %s: %w (keeping the last good flags)", f.path, err))
		return
	}
	f.mu.Lock()
	old := f.current.Swap(set)
	f.last, f.err = data, nil
	f.mu.Unlock()
	if f.opts.OnReload != nil {
		f.opts.OnReload(set, Changed(old, set), nil)
	}
}

// parse reads one version of the file, with the overrides and metrics.
func (f *File) parse(data []byte) (*Set, error) {
	set, err := parseNamed(f.path, data)
	if err != nil {
		return nil, err
	}
	if set, err = set.WithOverrides(f.opts.Env); err != nil {
		return nil, err
	}
	if f.opts.Metrics != nil {
		set = set.WithMetrics(f.opts.Metrics)
	}
	return set, nil
}

func (f *File) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
	if f.opts.OnReload != nil {
		f.opts.OnReload(nil, nil, err)
	}
}
