package logging

import (
	"strings"
	"testing"
)

// triggersBytewise is the first pass a byte at a time, as it was before it
// read eight bytes at a time, copied whole: the reference triggers must
// match.
func triggersBytewise(s string) int {
	t, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch class[c] {
		case 0:
			continue
		case 1:
			digits++
			continue
		case 3:
			t |= trigEscape
			continue
		}
		switch c {
		case 'J':
			if i >= 2 && s[i-2] == 'e' && s[i-1] == 'y' {
				t |= trigJWT
			}
		case ':':
			if len(s)-i >= 3 && s[i+1] == '/' && s[i+2] == '/' {
				t |= trigURL
			}
			if i > 0 && s[i-1] == '"' {
				t |= trigJSON
			}
		case 'A':
			if len(s)-i >= 4 && (s[i+1:i+4] == "KIA" || s[i+1:i+4] == "SIA") {
				t |= trigAWS
			}
		case '-':
			if len(s)-i >= 10 && s[i:i+10] == "-----BEGIN" {
				t |= trigPEM
			}
		case 'b', 'B':
			if len(s)-i >= 7 && equalFoldASCII(s[i+1:i+7], "earer ") ||
				len(s)-i >= 6 && equalFoldASCII(s[i+1:i+6], "asic ") {
				t |= trigAuth
			}
		case '=':
			t |= trigParam
		case '%':
			if len(s)-i >= 3 && s[i+1] == '3' && s[i+2]|0x20 == 'd' {
				t |= trigParam
			}
		}
	}
	if digits >= 13 {
		t |= trigCard
	}
	return t
}

// boundaryLengths are string lengths around the boundaries of the eight
// bytes triggers reads at once: under eight (read a byte at a time), eight,
// and tails of every length after one or more runs of eight.
var boundaryLengths = []int{1, 6, 7, 8, 9, 10, 15, 16, 17, 23, 24, 25, 31, 33}

// TestTriggersMatchBytewise: every byte value at every position of strings
// of every length around the boundaries of eight bytes, on a plain and on
// a digit background, sets what the byte-at-a-time pass sets.
func TestTriggersMatchBytewise(t *testing.T) {
	for _, n := range boundaryLengths {
		for _, bg := range []byte{'a', '7'} {
			for pos := range n {
				for c := range 256 {
					b := []byte(strings.Repeat(string(bg), n))
					b[pos] = byte(c)
					if got, want := triggers(string(b)), triggersBytewise(string(b)); got != want {
						t.Fatalf("triggers(%q) = %#x, want %#x", b, got, want)
					}
				}
			}
		}
	}
}

// TestTriggersAcrossWords: each shape's anchor, and the digits of a card
// number, at every offset of strings around the boundaries of eight bytes,
// so that they straddle two runs of eight, or a run and the tail.
func TestTriggersAcrossWords(t *testing.T) {
	cases := []struct {
		name  string
		piece string
		want  int
	}{
		{"jwt", "eyJ", trigJWT},
		{"url", "://", trigURL},
		{"json field", `"key":`, trigJSON | trigEscape},
		{"aws", "AKIA", trigAWS},
		{"aws session", "ASIA", trigAWS},
		{"pem", "-----BEGIN", trigPEM},
		{"bearer", "Bearer ", trigAuth},
		{"basic", "basic ", trigAuth},
		{"param", "k=v", trigParam},
		{"encoded param", "%3D", trigParam},
		{"encoded param lower", "%3d", trigParam},
		{"card digits", "4111111111111111", trigCard},
		{"twelve digits", "411111111111", 0},
		{"quote", `"`, trigEscape},
		{"backslash", `\`, trigEscape},
		{"newline", "\n", trigEscape},
		{"multi-byte", "é", trigEscape},
		{"invalid utf-8", "\xff", trigEscape},
		{"near misses", "ey AKI -----BEG Beare %3 :/", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range boundaryLengths {
				for pos := 0; pos+len(tc.piece) <= max(n, len(tc.piece)); pos++ {
					b := []byte(strings.Repeat("x", max(n, len(tc.piece))))
					copy(b[pos:], tc.piece)
					s := string(b)
					got, want := triggers(s), triggersBytewise(s)
					if got != want {
						t.Fatalf("triggers(%q) = %#x, bytewise %#x", s, got, want)
					}
					if got&tc.want != tc.want || tc.want == 0 && got != 0 {
						t.Fatalf("triggers(%q) = %#x, want %#x set", s, got, tc.want)
					}
				}
			}
		})
	}
}

// FuzzTriggersMatchBytewise holds the eight-bytes-at-a-time pass to the
// byte-at-a-time one on any string.
func FuzzTriggersMatchBytewise(f *testing.F) {
	for _, s := range []string{"", "request served", "dial tcp 10.0.0.7:5432: connection refused", "Bearer eyJabc.def.ghi",
		"https://u:p@h/?api_key=1", "4111 1111 1111 1111", "\"k\":\"v\"", "AKIAIOSFODNN7EXAMPLE", "é\x00\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := triggers(s), triggersBytewise(s); got != want {
			t.Fatalf("triggers(%q) = %#x, want %#x", s, got, want)
		}
	})
}
