// Package dirwatch watches a directory for changes and reports each burst
// of them once, after it settles: the way a file that is renamed into
// place, rewritten by an editor through a temp file, or swapped by
// Kubernetes (a ConfigMap's ..data symlink) is seen reliably. Watching the
// file itself misses all three.
package dirwatch

import (
	"context"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches dirs until ctx is done, and calls settled once they have
// been quiet for settle after one or more events (a burst across several
// directories is one); errors of the watch
// go to failed. It calls ready, when not nil, once the watch is set up: a
// change made before then was not seen, and the caller may look again.
// It returns an error only when the watch cannot be set up.
func Run(ctx context.Context, dirs []string, settle time.Duration, ready, settled func(), failed func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	if ready != nil {
		ready()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			timer.Reset(settle)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			failed(fmt.Errorf("watch: %w", err))
		case <-timer.C:
			settled()
		}
	}
}
