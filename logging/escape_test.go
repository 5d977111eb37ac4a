package logging

import (
	"strings"
	"testing"
)

// TestPlainPrefixMatchesByteByByte: the eight-bytes-at-a-time scan stops
// where a byte-by-byte one does, for every byte value at every position of
// a string longer than two words, and before two stoppers.
func TestPlainPrefixMatchesByteByByte(t *testing.T) {
	naive := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return i
			}
		}
		return len(s)
	}
	for c := range 256 {
		for pos := range 19 {
			for _, second := range []int{-1, pos + 1, pos + 8} {
				b := []byte(strings.Repeat("a", 19))
				b[pos] = byte(c)
				if second >= 0 && second < len(b) {
					b[second] = '"'
				}
				if got, want := plainPrefix(string(b)), naive(string(b)); got != want {
					t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}
