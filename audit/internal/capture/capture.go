// Package capture keeps what a service under audit writes, bounded: the
// stdout and stderr of a process the audit started, or the Options.Stdout
// and Options.Stderr of a service it runs in process.
package capture

import (
	"bytes"
	"sync"
)

// Limit is how much a Buffer keeps: 32 MiB, far more than an audit makes
// a service write.
const Limit = 32 << 20

// Buffer keeps the first Limit bytes written to it and drops the rest,
// reporting every write as whole so that the writer goes on. The zero
// value is empty and ready for use; it is safe for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends what of p fits under Limit.
func (w *Buffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < Limit {
		w.b.Write(p[:min(len(p), Limit-w.b.Len())])
	}
	return len(p), nil
}

// String returns what was kept.
func (w *Buffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
