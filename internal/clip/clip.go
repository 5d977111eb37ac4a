// Package clip bounds text that comes from outside (a method name a caller
// made up, an error message, a health service name) before it goes into a
// log line, a span attribute or an answer: cut where no secret can be cut
// in two, the cut marked.
//
// The cut comes before the logger's redactor sees the text, and the
// redactor knows a secret by its whole shape (a JWT's three parts, a
// loaded secret's whole value): half of one would pass it. So a cut never
// falls inside a run of the characters tokens are written in (letters,
// digits and "+/=-_.~%"): it goes back to the last separator before the
// bound (a space, a quote, a comma, ...), and drops the run the bound fell
// in whole.
package clip

// Mark ends a cut string.
const Mark = "…"

// String returns s when it has at most n bytes, else the longest prefix of
// at most n bytes that ends at a separator (never inside a token-shaped run,
// so never inside a multi-byte rune either), followed by [Mark]. n below 0
// counts as 0.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !separator(s[n-1]) {
		n--
	}
	return s[:n] + Mark
}

// separator reports the bytes no token is written with: ASCII that is
// neither a letter, a digit nor one of "+/=-_.~%", and not a byte of a
// multi-byte rune.
func separator(b byte) bool {
	switch {
	case b >= 0x80: // inside a multi-byte rune
		return false
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return false
	}
	switch b {
	case '+', '/', '=', '-', '_', '.', '~', '%':
		return false
	}
	return true
}
