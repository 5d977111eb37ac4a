package logging

import (
	"slices"
	"strings"

	"github.com/operable-go/operable/secrets"
)

// redacted replaces every masked part of a value.
const redacted = secrets.Redacted

// detectors are the shape finders, each run only when the first pass set
// its trigger.
var detectors = [...]struct {
	trigger int
	find    func(string, []span) []span
}{
	{trigJWT, findJWTs},
	{trigURL, findURLPasswords},
	{trigAWS, findAWSKeys},
	{trigPEM, findPEM},
	{trigAuth, findAuth},
	{trigCard, findCards},
}

// span is a half-open byte range of a string to mask.
type span struct{ start, end int }

// trigger bits: which detectors a first pass found reason to run.
const (
	trigJWT = 1 << iota
	trigURL
	trigAWS
	trigPEM
	trigAuth
	trigCard
	trigParam
	trigJSON
	// trigEscape is no detector: s holds a byte that JSON escaping must
	// look at (see appendEscaped).
	trigEscape
)

// class marks the bytes that can anchor a secret shape, chosen among the
// rarer ones of ordinary text so that most bytes cost the first pass one
// table lookup: 'J' (the "eyJ" of a JWT), ':' (a URL's "://"), 'A' (AKIA,
// ASIA), '-' (PEM armour), 'b' and 'B' (Bearer, Basic), '=' and '%' (a
// parameter's "key=value", also percent-encoded as "key%3Dvalue"); ':'
// also ends a JSON field's name ("key":); digits are counted for card
// numbers.
// Class 3 marks the bytes a JSON string cannot hold as they are (control
// bytes, quote, backslash) and those that start a multi-byte character, so
// that the same pass tells the JSON handler whether the string needs
// escaping at all.
var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for _, c := range "J:A-bB=%" {
		t[c] = 2
	}
	for c := range 0x20 {
		t[c] = 3
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = 3
	}
	t['"'], t['\\'] = 3, 3
	return t
}()

// triggers makes one pass over s and reports which detectors may match, so
// that an ordinary string runs no detector. Eight bytes at a time, it adds
// up their entries of scanWeight: a sum under markWeight is their count of
// digits, and only the eight bytes of a larger one, which holds a byte of
// class 2 or 3, are looked at one by one.
func triggers(s string) int {
	t, digits, i := 0, 0, 0
	for ; len(s)-i >= 8; i += 8 {
		w := s[i : i+8]
		sum := scanWeight[w[0]] + scanWeight[w[1]] + scanWeight[w[2]] + scanWeight[w[3]] +
			scanWeight[w[4]] + scanWeight[w[5]] + scanWeight[w[6]] + scanWeight[w[7]]
		if sum < markWeight {
			digits += int(sum)
			continue
		}
		for j := i; j < i+8; j++ {
			t, digits = triggerByte(s, j, t, digits)
		}
	}
	for ; i < len(s); i++ {
		t, digits = triggerByte(s, i, t, digits)
	}
	if digits >= 13 {
		t |= trigCard
	}
	return t
}

// markWeight is the weight of a byte of class 2 or 3 in scanWeight: more
// than the weights of eight digits.
const markWeight = 16

// scanWeight is 1 for a digit (class 1), markWeight for a byte of class 2
// or 3, else 0. Eight of them add up to at most 128: a byte does not
// overflow.
var scanWeight = func() (t [256]uint8) {
	for c, k := range class {
		switch k {
		case 1:
			t[c] = 1
		case 2, 3:
			t[c] = markWeight
		}
	}
	return t
}()

// triggerByte adds what the byte s[i] sets to t and digits.
func triggerByte(s string, i, t, digits int) (int, int) {
	switch class[s[i]] {
	case 0:
	case 1:
		digits++
	default:
		t |= trigger(s, i)
	}
	return t, digits
}

// trigger returns what the byte s[i] sets: nothing for a byte of class 0
// or 1.
func trigger(s string, i int) int {
	c := s[i]
	switch class[c] {
	case 0, 1:
		return 0
	case 3:
		return trigEscape
	}
	t := 0
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
		if len(s)-i < 6 {
			break
		}
		if next := s[i+1] | 0x20; next == 'e' && len(s)-i >= 7 && equalFoldASCII(s[i+1:i+7], "earer ") ||
			next == 'a' && equalFoldASCII(s[i+1:i+6], "asic ") {
			t |= trigAuth
		}
	case '=':
		t |= trigParam
	case '%':
		if len(s)-i >= 3 && s[i+1] == '3' && s[i+2]|0x20 == 'd' {
			t |= trigParam
		}
	}
	return t
}

// equalFoldASCII reports whether a equals b, whose letters are lower-case
// ASCII, in any case.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}

// scrub masks, in s, every secret-shaped part, the value of every
// parameter with a sensitive name and every known value, and reports
// whether it masked anything. Only the matched part is masked:
// "postgres://app:[REDACTED]@db/app", "/items?api_key=[REDACTED]&page=2".
func (r *redactor) scrub(s string, known *knownSet) (string, bool) {
	s, masked, _ := r.scrubEscape(s, known)
	return s, masked
}

// scrubEscape is scrub that also reports whether the string it returns may
// need escaping in JSON: false only when the pass that looks for secret
// shapes saw no byte that escaping changes, so that the JSON handler can
// copy the string as it is instead of scanning it a second time.
func (r *redactor) scrubEscape(s string, known *knownSet) (out string, masked, escape bool) {
	if len(s) < MinKnownLen {
		return s, false, true
	}
	var spans []span
	t := triggers(s)
	if t&^trigEscape != 0 {
		for _, d := range detectors {
			if t&d.trigger != 0 {
				spans = d.find(s, spans)
			}
		}
		if t&trigParam != 0 {
			spans = r.findParams(s, spans)
		}
		if t&trigJSON != 0 {
			spans = r.findJSONFields(s, spans)
		}
	}
	if known != nil {
		spans = known.find(s, spans)
	}
	if len(spans) == 0 {
		return s, false, t&trigEscape != 0
	}
	return mask(s, spans), true, true
}

// mask replaces the spans of s, merged where they overlap.
func mask(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for i := 0; i < len(spans); i++ {
		sp := spans[i]
		for i+1 < len(spans) && spans[i+1].start <= sp.end {
			sp.end = max(sp.end, spans[i+1].end)
			i++
		}
		if sp.start < pos {
			sp.start = pos
		}
		b.WriteString(s[pos:sp.start])
		b.WriteString(redacted)
		pos = sp.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// findJWTs finds header.payload.signature tokens whose header starts "eyJ"
// (base64 of `{"`).
func findJWTs(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.Index(s[off:], "eyJ")
		if i < 0 {
			return spans
		}
		start := off + i
		end, dots := start, 0
		for end < len(s) && (isB64URL(s[end]) || s[end] == '.') {
			if s[end] == '.' {
				dots++
			}
			end++
		}
		if dots == 2 && end-start >= 16 && (start == 0 || !isB64URL(s[start-1])) {
			spans = append(spans, span{start, end})
		}
		off = max(end, start+3)
	}
}

// findURLPasswords finds scheme://user:password@host and masks the password.
func findURLPasswords(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.Index(s[off:], "://")
		if i < 0 {
			return spans
		}
		start := off + i + 3
		end := start
		for end < len(s) && !strings.ContainsRune("/?# \t\r\n\"'<>", rune(s[end])) {
			end++
		}
		if at := strings.LastIndexByte(s[start:end], '@'); at > 0 {
			if colon := strings.IndexByte(s[start:start+at], ':'); colon >= 0 && colon+1 < at {
				spans = append(spans, span{start + colon + 1, start + at})
			}
		}
		off = start
	}
}

// findAWSKeys finds access key ids: AKIA or ASIA and 16 upper-case letters
// or digits, as a whole word.
func findAWSKeys(s string, spans []span) []span {
	for off := 0; off+20 <= len(s); {
		i := strings.IndexByte(s[off:], 'A')
		if i < 0 {
			return spans
		}
		start := off + i
		off = start + 1
		if start+20 > len(s) || !(strings.HasPrefix(s[start:], "AKIA") || strings.HasPrefix(s[start:], "ASIA")) {
			continue
		}
		ok := start == 0 || !isAlnum(s[start-1])
		for j := start + 4; ok && j < start+20; j++ {
			c := s[j]
			ok = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		}
		if ok && (start+20 == len(s) || !isAlnum(s[start+20])) {
			spans = append(spans, span{start, start + 20})
			off = start + 20
		}
	}
	return spans
}

// findPEM masks the body of PEM private key blocks, keeping the BEGIN and
// END lines readable. A block with no END is masked to the end of s.
func findPEM(s string, spans []span) []span {
	for off := 0; ; {
		i := strings.Index(s[off:], "-----BEGIN ")
		if i < 0 {
			return spans
		}
		begin := off + i
		lineEnd := strings.Index(s[begin+11:], "-----")
		if lineEnd < 0 {
			return spans
		}
		header := s[begin : begin+11+lineEnd+5]
		bodyStart := begin + len(header)
		off = bodyStart
		if !strings.Contains(header, "PRIVATE KEY") {
			continue
		}
		bodyEnd := len(s)
		if e := strings.Index(s[bodyStart:], "-----END "); e >= 0 {
			bodyEnd = bodyStart + e
		}
		spans = append(spans, span{bodyStart, bodyEnd})
		off = bodyEnd
	}
}

// findAuth masks the credentials after "Bearer " or "Basic " (any case).
func findAuth(s string, spans []span) []span {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			continue
		}
		var word int
		switch {
		case i >= 6 && equalFoldASCII(s[i-6:i], "bearer"):
			word = 6
		case i >= 5 && equalFoldASCII(s[i-5:i], "basic"):
			word = 5
		default:
			continue
		}
		if i-word > 0 && isAlnum(s[i-word-1]) {
			continue
		}
		start := i + 1
		end := start
		for end < len(s) && (isB64URL(s[end]) || strings.IndexByte(".~+/=", s[end]) >= 0) {
			end++
		}
		if end > start {
			spans = append(spans, span{start, end})
			i = end - 1 // the loop's i++ lands on the byte after the token
		}
	}
	return spans
}

// findCards finds card numbers: 13 to 19 digits that pass the Luhn check,
// written as a whole run of digits or as groups split by single spaces or
// dashes. Within a longer grouped run ("ref 0 4111 1111 1111 1111 0") the
// card may be any sequence of whole groups; an ungrouped run is a card only
// as a whole, so that long numeric ids are not cut into false cards.
func findCards(s string, spans []span) []span {
	type group struct{ start, end int }
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' || (i > 0 && isAlnum(s[i-1])) {
			i++
			continue
		}
		var groups [24]group
		ng, end := 0, i
		for ng < len(groups) {
			start := end
			for end < len(s) && s[end] >= '0' && s[end] <= '9' {
				end++
			}
			groups[ng] = group{start, end}
			ng++
			if end+1 < len(s) && (s[end] == ' ' || s[end] == '-') && s[end+1] >= '0' && s[end+1] <= '9' {
				end++
				continue
			}
			break
		}
		if end < len(s) && isAlnum(s[end]) {
			ng-- // the last group is glued to letters: part of an identifier
		}
		for gi := 0; gi < ng; gi++ {
			n := 0
			for gj := gi; gj < ng; gj++ {
				n += groups[gj].end - groups[gj].start
				if n > 19 {
					break
				}
				if n >= 13 && luhnDigits(s, groups[gi].start, groups[gj].end) {
					spans = append(spans, span{groups[gi].start, groups[gj].end})
					gi = gj
					break
				}
			}
		}
		i = max(end, i+1)
	}
	return spans
}

// luhnDigits runs the Luhn check over the digits of s[start:end], skipping
// separators.
func luhnDigits(s string, start, end int) bool {
	sum, pos := 0, 0
	for k := end - 1; k >= start; k-- {
		c := s[k]
		if c < '0' || c > '9' {
			continue
		}
		v := int(c - '0')
		if pos%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		pos++
	}
	return sum%10 == 0
}

// Mask returns s with every secret-shaped part, the value of every
// parameter with a name of [DefaultSensitiveKeys] ("?api_key=…",
// "X-Amz-Signature=…") and every value of known (which may be nil), in any
// of its encoded forms, replaced by [REDACTED]: the redactor's string rule,
// for text shown outside the logs (a debug page, an error body). A
// [Redactor] does the same with keys of its own.
func Mask(s string, known *KnownValues) string {
	out, _ := defaultRedactor.scrub(s, known.snapshot())
	return out
}

// isKeyByte reports whether c can be part of a parameter's name.
func isKeyByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// paramStart marks the bytes after which a parameter's name may start:
// the separators of query strings, fragments, form bodies, cookies,
// comma-separated lists (OTEL_EXPORTER_OTLP_HEADERS) and of "key=value"
// words in text.
var paramStart = func() (t [256]bool) {
	for _, c := range "?&#;, \t\r\n\"'([{" {
		t[c] = true
	}
	return t
}()

// paramEnd marks the bytes that end a parameter's value.
var paramEnd = func() (t [256]bool) {
	for _, c := range "&#;, \t\r\n\"'<>" {
		t[c] = true
	}
	return t
}()

// findParams masks the values of parameters whose names are sensitive by
// the redactor's key rules: "key=value" where the key starts the string or
// follows a separator (?, &, #, ;, a comma, a space, a quote, a bracket),
// as in URLs ("?api_key=…&page=2", presigned URLs' "X-Amz-Signature=…"),
// fragments, form bodies, cookies and text. Inside another URL's
// parameter, percent-encoded once ("%3Ftoken%3D…%26"), it is found too.
func (r *redactor) findParams(s string, spans []span) []span {
	for i := 0; i < len(s); i++ {
		var vstart int
		encoded := false
		switch {
		case s[i] == '=':
			vstart = i + 1
		case s[i] == '%' && len(s)-i >= 3 && s[i+1] == '3' && s[i+2]|0x20 == 'd':
			vstart, encoded = i+3, true
		default:
			continue
		}
		ks := i
		for ks > 0 && isKeyByte(s[ks-1]) {
			ks--
		}
		switch {
		case ks > 0 && s[ks-1] == '%' && i-ks > 2 && isHex(s[ks]) && isHex(s[ks+1]):
			ks += 2 // after an encoded separator: "%3Ftoken", "%26sig"
		case ks > 0 && !paramStart[s[ks-1]]:
			continue
		}
		if ks == i || !r.sensitive(s[ks:i]) {
			continue
		}
		end := vstart
		for end < len(s) && !paramEnd[s[end]] {
			if encoded && s[end] == '%' && len(s)-end >= 3 && encodedEnd(s[end+1], s[end+2]) {
				break
			}
			end++
		}
		if end > vstart && !strings.HasPrefix(s[vstart:], redacted) {
			spans = append(spans, span{vstart, end})
		}
		i = end - 1 // the loop's i++ lands on the byte after the value
	}
	return spans
}

// encodedEnd reports whether %hl is an encoded byte that ends a value
// inside an encoded URL: &, #, ;, a comma or a space.
func encodedEnd(h, l byte) bool {
	l |= 0x20
	return h == '2' && (l == '6' || l == '3' || l == 'c' || l == '0') || h == '3' && l == 'b'
}

// findJSONFields masks the values of the fields with sensitive names of
// JSON text inside a string (an error quoting a response body), also
// escaped, once or more, as %q writes it: "client_secret":"…" and
// \"client_secret\":\"…\". String values and numbers are masked; objects,
// arrays, booleans and null are left (the fields inside an object are
// judged by their own names).
func (r *redactor) findJSONFields(s string, spans []span) []span {
	for i := 1; i < len(s); i++ {
		if s[i] != ':' || s[i-1] != '"' {
			continue
		}
		// n backslashes escape the quotes of this JSON text.
		kend, n := i-1, 0
		for kend > 0 && s[kend-1] == '\\' && n < 16 {
			kend--
			n++
		}
		ks := kend
		for ks > 0 && s[ks-1] != '"' && kend-ks <= maxKeyLen {
			ks--
		}
		if ks == 0 || s[ks-1] != '"' || ks == kend || !r.sensitive(s[ks:kend]) {
			continue
		}
		v := i + 1
		for v < len(s) && s[v] == ' ' {
			v++
		}
		start, end := v, v
		switch {
		case quoteAt(s, v, n):
			start = v + n + 1
			end = len(s)
			for j := start; j < len(s); j++ {
				if n == 0 && s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '"' && j-n >= start && quoteAt(s, j-n, n) {
					end = j - n
					break
				}
			}
		case v < len(s) && (s[v] >= '0' && s[v] <= '9' || s[v] == '-' && v+1 < len(s) && s[v+1] >= '0' && s[v+1] <= '9'):
			for end < len(s) && strings.IndexByte("0123456789+-.eE", s[end]) >= 0 {
				end++
			}
		}
		if end > start && !strings.HasPrefix(s[start:], redacted) {
			spans = append(spans, span{start, end})
			i = end - 1
		}
	}
	return spans
}

// quoteAt reports whether s holds, at i, n backslashes and a quote.
func quoteAt(s string, i, n int) bool {
	if i+n >= len(s) || s[i+n] != '"' {
		return false
	}
	for _, c := range []byte(s[i : i+n]) {
		if c != '\\' {
			return false
		}
	}
	return true
}
