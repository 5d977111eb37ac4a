package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStringCutsOnARuneBoundary: a string within the bound is kept; a
// longer one is cut at or before it, never inside a rune, and marked.
func TestStringCutsOnARuneBoundary(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"", 0, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"abcd", 0, "…"},
		{"abcd", -1, "…"},
		{"aé", 2, "a…"}, // é is 2 bytes: cutting at 2 would split it
		{"aé", 3, "aé"},
		{"日本語", 4, "日…"},
	}
	for _, tt := range tests {
		if got := String(tt.s, tt.n); got != tt.want {
			t.Errorf("String(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// FuzzString: the result is the input when it fits, else a prefix of it
// of at most n bytes plus the mark, and valid UTF-8 when the input is.
func FuzzString(f *testing.F) {
	f.Add("abcd", 3)
	f.Add("日本語", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := String(s, n)
		if len(s) <= n {
			if got != s {
				t.Fatalf("String(%q, %d) = %q, want it kept", s, n, got)
			}
			return
		}
		prefix, ok := strings.CutSuffix(got, Mark)
		if !ok || !strings.HasPrefix(s, prefix) || len(prefix) > max(n, 0) {
			t.Fatalf("String(%q, %d) = %q, want a prefix of at most %d bytes and the mark", s, n, got, n)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q is not valid UTF-8", s, n, got)
		}
	})
}
