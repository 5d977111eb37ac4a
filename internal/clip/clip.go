// Package clip bounds text that comes from outside (a method name a caller
// made up, an error message, a health service name) before it goes into a
// log line, a span attribute or an answer: cut on a rune boundary, the cut
// marked.
package clip

import "unicode/utf8"

// Mark ends a cut string.
const Mark = "…"

// String returns s when it has at most n bytes, else its first bytes, cut
// at a rune boundary at or before n, followed by [Mark]. n below 0 counts
// as 0.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Mark
}
