package capture

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferKeepsTheFirstLimitBytes: concurrent writers, every write
// reported whole, nothing kept past Limit.
func TestBufferKeepsTheFirstLimitBytes(t *testing.T) {
	var b Buffer
	chunk := []byte(strings.Repeat("x", 1<<20))
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if n, err := b.Write(chunk); n != len(chunk) || err != nil {
				t.Errorf("Write: %d, %v", n, err)
			}
		})
	}
	wg.Wait()
	if got := len(b.String()); got != Limit {
		t.Errorf("kept %d bytes, want %d", got, Limit)
	}
}
