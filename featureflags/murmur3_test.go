package featureflags

import "testing"

// TestMurmur3 pins the hash to published MurmurHash3 x86 32 (seed 0)
// values, and the two-part form to the hash of the joined string.
func TestMurmur3(t *testing.T) {
	for s, want := range map[string]uint32{
		"":      0,
		"hello": 0x248bfa47,
		"The quick brown fox jumps over the lazy dog": 0x2e4ff723,
		// flagd-testbed's edge keys: 0, 1, MaxInt32, MaxInt32+1, MaxUint32.
		"ejOoVL": 0, "bY9fO-": 1, "SI7p-": 2147483647, "6LvT0": 2147483648, "ceQdGm": 4294967295,
	} {
		if got := murmur3(s, ""); got != want {
			t.Errorf("murmur3(%q) = %#x, want %#x", s, got, want)
		}
		for i := range len(s) + 1 {
			if got := murmur3(s[:i], s[i:]); got != want {
				t.Errorf("murmur3(%q, %q) = %#x, want %#x", s[:i], s[i:], got, want)
			}
		}
	}
}
