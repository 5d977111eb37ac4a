package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStringNeverCutsAToken: a string within the bound is kept; a longer
// one is cut back to the last separator before the bound, so that a token
// (a JWT, a key, a word) the bound falls in is dropped whole, never kept in
// part, and never a rune in two.
func TestStringNeverCutsAToken(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJl"
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"", 0, ""},
		{"abc", 3, "abc"},
		{"abc def", 5, "abc …"},
		{"abcd", 3, "…"}, // one token over the bound: nothing of it
		{"abcd", -1, "…"},
		{"invalid token " + jwt, 40, "invalid token …"},
		{"key=" + strings.Repeat("A", 40), 20, "…"}, // = is part of a token (base64 padding, key=value)
		{`{"secret":"wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}`, 30, `{"secret":"…`},
		{"aé b", 3, "…"},    // é is inside the word
		{"a é b", 3, "a …"}, // not cut in the rune
		{"日本 語", 8, "日本 …"},
	}
	for _, tt := range tests {
		if got := String(tt.s, tt.n); got != tt.want {
			t.Errorf("String(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// FuzzString: the result is the input when it fits, else a prefix of it
// of at most n bytes that ends at a separator, plus the mark: valid UTF-8
// when the input is, and never part of the token-shaped run the bound
// fell in.
func FuzzString(f *testing.F) {
	f.Add("abc def", 5)
	f.Add("日本 語", 4)
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
		if prefix != "" && !separator(prefix[len(prefix)-1]) {
			t.Fatalf("String(%q, %d) = %q ends inside a token", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q is not valid UTF-8", s, n, got)
		}
	})
}
