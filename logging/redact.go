package logging

import (
	"context"
	"log/slog"
	"slices"
	"strings"
)

// defaultSensitiveKeys is the list [DefaultSensitiveKeys] returns. It is
// not exported, so that no caller can turn off or change the default
// redaction of every logger made afterwards.
var defaultSensitiveKeys = [...]string{
	"password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token",
	"id_token", "api_key", "apikey", "authorization", "proxy_authorization", "cookie", "set_cookie",
	"private_key", "credential", "credentials", "session", "session_id", "x_api_key",
	"signature", "sig", "auth", "auth_key", "access_key", "session_key", "signing_key", "encryption_key",
	"master_key", "subscription_key", "passphrase", "jwt",
}

// DefaultSensitiveKeys returns the attribute keys, struct fields, map keys
// and parameter names (of URLs, form bodies, "key=value" text and JSON text
// inside strings) whose values are always masked, compared without case,
// with "-" and "." read as "_" and camelCase read word by word
// (accessToken as access_token, SessionID as session_id). A key also
// counts as sensitive when it ends in "_" and one of these (db_password,
// x_api_key, auth.token, X-Amz-Security-Token), or when it contains,
// anywhere and in any case, one of the words secret, password, passwd,
// credential, signature or cookie (X-Secret-Key, X-Aws-Secret-Access-Key,
// X-Amz-Credential, X-Goog-Signature, clientSecret).
//
// Header names are judged more broadly: the keys of header maps
// (http.Header, url.Values, any map[string][]string) and the header
// attributes of the OpenTelemetry semantic conventions
// (http.request.header.<name>) are also sensitive when the name holds
// auth, cookie, credential, key, passw, secret, session, signature or
// token (X-Functions-Key, X-Auth-User).
//
// The slice is a new copy on every call: changing it changes nothing
// else. Add keys with [RedactOptions].Keys or [Options].SensitiveKeys
// (they match whole or as a suffix, as the keys listed here do).
func DefaultSensitiveKeys() []string {
	return slices.Clone(defaultSensitiveKeys[:])
}

// RedactOptions configure [NewRedactHandler]. The zero value masks the
// keys of [DefaultSensitiveKeys], secrets.Secret values, secret-shaped
// strings, and no known values.
type RedactOptions struct {
	// Keys are sensitive keys added to those of [DefaultSensitiveKeys].
	Keys []string
	// Known holds the secret values the service loaded; every occurrence in
	// any string of a record is masked. Default: nil, none.
	Known *KnownValues
}

// redactor is the shared, immutable part of a redacting handler.
type redactor struct {
	// byLen holds the normalized sensitive keys by length, so that a key
	// is compared only with the few of its own length.
	byLen [maxKeyLen + 1][]string
	// tails marks the last two bytes of every sensitive key: a key that
	// ends otherwise cannot match, and most keys are turned away by this
	// one lookup.
	tails [128 * 128 / 8]byte
	known *KnownValues
	// idKeys tell whether the keys of the context's ids are sensitive
	// (only when the caller names them or a suffix of them, as "id"), so
	// that the single pass masks them as the chain masks any attribute.
	idKeys struct{ request, trace, span bool }
	// keys remembers the verdicts on the attribute keys the single pass
	// writes.
	keys keyCache
}

func tailIndex(a, b byte) int { return int(a&0x7f)<<7 | int(b&0x7f) }

// hasTail reports whether a sensitive key ends in a and b, normalized.
func (r *redactor) hasTail(a, b byte) bool {
	i := tailIndex(a, b)
	return r.tails[i/8]&(1<<(i%8)) != 0
}

// lowerKeyByte folds ASCII upper case and reads "-" and "." as "_".
func lowerKeyByte(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	case c == '-', c == '.':
		return '_'
	}
	return c
}

// maxKeyLen is the longest sensitive key (and attribute key) compared
// without allocating.
const maxKeyLen = 64

// NewRedactHandler returns a handler that masks secrets in every record
// before passing it to next, so that every output behind it (stdout, files,
// the OpenTelemetry bridge) gets the same clean record:
//
//   - by key, at any depth (attributes, groups, WithAttrs, struct fields,
//     map keys): the value becomes [REDACTED];
//   - by type: secrets.Secret, and any slog.LogValuer, resolve to what they
//     choose to show;
//   - inside structs and maps passed with slog.Any: a value that holds a
//     sensitive field or a secret-shaped string is replaced by a copy (a
//     map of its exported fields, by their JSON names) with only those
//     parts masked; fields tagged `redact:"true"` are masked whatever their
//     name;
//   - by shape, in every string including the message and error texts:
//     JWTs, Bearer and Basic credentials, AWS access key ids, PEM private
//     key bodies, passwords in URLs, and card numbers that pass Luhn; only
//     the matched part is masked;
//   - by parameter name, in every string: the value of a "key=value"
//     whose key is sensitive, in a URL's query or fragment
//     ("?api_key=[REDACTED]&page=2", a presigned URL's X-Amz-Signature,
//     X-Goog-Signature, sig), a form body, a cookie, a comma-separated
//     list or text ("retrying with token=[REDACTED]"), also
//     percent-encoded inside another URL's parameter; url.URL values are
//     written as their text, masked so;
//   - by value: every value registered in opts.Known, as written and in
//     its percent-encoded, base64 and JSON-escaped forms (see
//     [KnownValues]).
//
// It also turns every duration (slog.Duration, or a time.Duration passed
// with slog.Any) into a string value of its String form, "25s", so that
// the handlers behind, slog's JSON handler among them, write it as the
// logs of [New] do everywhere rather than as nanoseconds.
//
// Header maps passed with slog.Any (http.Header, url.Values, any
// map[string][]string) have the values of secret-ish names masked
// (Authorization, Cookie, X-Api-Key, X-Secret-Key, X-Aws-Secret-Access-Key,
// X-Amz-Security-Token, X-Functions-Key, ...; see [DefaultSensitiveKeys]),
// the others kept; a map[string]string is judged by the rules of keys.
//
// Known limits: values implementing json.Marshaler, encoding.TextMarshaler
// or fmt.Stringer (but url.URL) are trusted to render themselves safely; a
// struct that needs masking loses its unexported fields in the copy; in
// text, "key=value" pairs and the fields of JSON text are read by key, but
// "Key: value" lines (a dumped request) are not; shapes are not looked for
// in percent-encoded or base64 text (known values are).
func NewRedactHandler(next slog.Handler, opts RedactOptions) slog.Handler {
	return &redactHandler{r: newRedactor(opts), next: next}
}

func newRedactor(opts RedactOptions) *redactor {
	r := &redactor{known: opts.Known}
	for _, k := range slices.Concat(defaultSensitiveKeys[:], opts.Keys) {
		// Split as a key in camelCase is ("myKey" → "my_key"), and whole,
		// for the same key written in lower case ("mykey").
		split := normalizeKey(k)
		whole := make([]byte, len(k))
		for i := range len(k) {
			whole[i] = lowerKeyByte(k[i])
		}
		for _, k := range []string{split, string(whole)} {
			if len(k) < 2 || len(k) > maxKeyLen || slices.Contains(r.byLen[len(k)], k) {
				continue
			}
			r.byLen[len(k)] = append(r.byLen[len(k)], k)
			i := tailIndex(k[len(k)-2], k[len(k)-1])
			r.tails[i/8] |= 1 << (i % 8)
		}
	}
	r.idKeys.request, r.idKeys.trace, r.idKeys.span = r.sensitive("request_id"), r.sensitive("trace_id"), r.sensitive("span_id")
	return r
}

// normalizeKey returns k as sensitive compares keys: lower case, "-" and
// "." as "_", and camelCase words split ("accessToken", "APIKey" →
// "access_token", "api_key").
func normalizeKey(k string) string {
	return string(appendKey(nil, k))
}

// appendKey appends key normalized (see normalizeKey) to b.
func appendKey(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isUpper(c) && i > 0 && (isLower(key[i-1]) || isUpper(key[i-1]) && i+1 < len(key) && isLower(key[i+1])) {
			b = append(b, '_')
		}
		b = append(b, lowerKeyByte(c))
	}
	return b
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// defaultRedactor has the rules of a zero [RedactOptions]: the default
// keys, no known values. It is never changed.
var defaultRedactor = newRedactor(RedactOptions{})

// sensitive reports whether key names a secret: it is, or ends in "_" and,
// one of the sensitive keys, compared without case and with "-" and "."
// as "_", camelCase split, or it holds a word of hasSecretWord. It does
// not allocate.
func (r *redactor) sensitive(key string) bool {
	if len(key) < 2 {
		return false
	}
	if len(key) > len(headerAttrPrefix) && key[0] == 'h' {
		if name, ok := headerAttrName(key); ok && hasHeaderWord(name) {
			return true
		}
	}
	if !r.hasTail(keyFold[key[len(key)-2]], keyFold[key[len(key)-1]]) &&
		// A last word of one letter ("pinB") ends the split key in "_b".
		!(isLower(key[len(key)-2]) && isUpper(key[len(key)-1]) && r.hasTail('_', keyFold[key[len(key)-1]])) {
		return len(key) >= minWordLen && hasSecretWord(key)
	}
	if len(key) > maxKeyLen {
		key = key[len(key)-maxKeyLen:] // only a suffix can match
	}
	var buf [maxKeyLen]byte
	b := buf[:len(key)]
	camel := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		camel = camel || i > 0 && isUpper(c) && keyFold[key[i-1]] >= 'a'
		b[i] = keyFold[c]
	}
	if r.matchKey(b) {
		return true
	}
	if camel {
		var split [2 * maxKeyLen]byte
		b = appendKey(split[:0], key)
		if len(b) > maxKeyLen {
			b = b[len(b)-maxKeyLen:]
		}
		if r.matchKey(b) {
			return true
		}
	}
	return len(key) >= minWordLen && hasSecretWord(key)
}

// matchKey reports whether the normalized key b is, or ends in "_" and, a
// sensitive key.
func (r *redactor) matchKey(b []byte) bool {
	if r.match(b) {
		return true
	}
	for i := len(b) - 2; i > 0; i-- {
		if b[i] == '_' && r.match(b[i+1:]) {
			return true
		}
	}
	return false
}

// keyFold folds ASCII upper case and reads "-" and "." as "_".
var keyFold = func() (t [256]byte) {
	for c := range t {
		t[c] = lowerKeyByte(byte(c))
	}
	return t
}()

// minWordLen is the length of the shortest word of hasSecretWord.
const minWordLen = len("cookie")

// secretWordStart marks the first bytes of the words of hasSecretWord.
var secretWordStart = func() (t [256]bool) {
	for _, c := range "spcSPC" {
		t[c] = true
	}
	return t
}()

// hasSecretWord reports whether key holds, in any case, one of the words
// that make a key sensitive wherever they appear in it: secret, password,
// passwd, credential, signature, cookie.
func hasSecretWord(key string) bool {
	for i := 0; len(key)-i >= minWordLen; i++ {
		if !secretWordStart[key[i]] {
			continue
		}
		var w1, w2 string
		switch uint16(key[i]|0x20) | uint16(key[i+1]|0x20)<<8 {
		case 's' | 'e'<<8:
			w1 = "secret"
		case 's' | 'i'<<8:
			w1 = "signature"
		case 'p' | 'a'<<8:
			w1, w2 = "password", "passwd"
		case 'c' | 'r'<<8:
			w1 = "credential"
		case 'c' | 'o'<<8:
			w1 = "cookie"
		default:
			continue
		}
		if hasPrefixFold(key[i:], w1) || w2 != "" && hasPrefixFold(key[i:], w2) {
			return true
		}
	}
	return false
}

// headerWords make a header name sensitive wherever they appear in it, in
// any case: in header names they almost always mean a credential
// (X-Functions-Key, X-Auth-User, X-Session-Hash), though not in the keys
// of logs, where flag_key, token_count or auth_method are ordinary.
var headerWords = [...]string{"auth", "cookie", "credential", "key", "passw", "secret", "session", "signature", "token"}

// sensitiveHeader reports whether the values of the header name are
// masked: name is sensitive, or holds one of headerWords.
func (r *redactor) sensitiveHeader(name string) bool {
	return r.sensitive(name) || hasHeaderWord(name)
}

func hasHeaderWord(name string) bool {
	for i := range len(name) {
		for _, w := range headerWords {
			if w[0] == name[i]|0x20 && hasPrefixFold(name[i:], w) {
				return true
			}
		}
	}
	return false
}

// headerAttrPrefix is the shorter of the prefixes of the OpenTelemetry
// semantic conventions for header attributes.
const headerAttrPrefix = "http.request.header."

// headerAttrName returns the header name of an attribute key of the
// OpenTelemetry semantic conventions, http.request.header.<name> or
// http.response.header.<name>.
func headerAttrName(key string) (string, bool) {
	if name, ok := strings.CutPrefix(key, headerAttrPrefix); ok {
		return name, true
	}
	return strings.CutPrefix(key, "http.response.header.")
}

// hasPrefixFold reports whether s starts with w, a lower-case word, in any
// case.
func hasPrefixFold(s, w string) bool {
	return len(s) >= len(w) && equalFoldASCII(s[:len(w)], w)
}

func (r *redactor) match(b []byte) bool {
	for _, k := range r.byLen[len(b)] {
		if string(b) == k { // no allocation for a comparison
			return true
		}
	}
	return false
}

type redactHandler struct {
	r    *redactor
	next slog.Handler
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	known := h.r.known.snapshot()
	msg, msgChanged := h.r.scrub(rec.Message, known)
	changed := msgChanged
	rec.Attrs(func(a slog.Attr) bool {
		if _, c := h.r.attr(a, known, 0); c {
			changed = true
			return false
		}
		return true
	})
	if !changed {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		a, _ = h.r.attr(a, known, 0)
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks the attributes once, here, so that records pay nothing
// for them. Values registered in Known later are not masked in them.
func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	known := h.r.known.snapshot()
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i], _ = h.r.attr(a, known, 0)
	}
	return &redactHandler{r: h.r, next: h.next.WithAttrs(clean)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{r: h.r, next: h.next.WithGroup(name)}
}

// maxDepth bounds the walk into groups and nested values.
const maxDepth = 10

var redactedValue = slog.StringValue(redacted)

// attr returns a masked, and whether anything was masked.
func (r *redactor) attr(a slog.Attr, known *knownSet, depth int) (slog.Attr, bool) {
	if r.sensitive(a.Key) {
		if a.Value.Kind() == slog.KindGroup && len(a.Value.Group()) == 0 {
			return a, false
		}
		return slog.Attr{Key: a.Key, Value: redactedValue}, true
	}
	v, changed := r.value(a.Value, known, depth)
	if changed {
		a.Value = v
	}
	return a, changed
}

func (r *redactor) value(v slog.Value, known *knownSet, depth int) (slog.Value, bool) {
	switch v.Kind() {
	case slog.KindString:
		if s, c := r.scrub(v.String(), known); c {
			return slog.StringValue(s), true
		}
	case slog.KindLogValuer:
		// secrets.Secret resolves to [REDACTED] by itself; any other
		// LogValuer is masked in what it resolves to.
		if rv, c := r.value(v.Resolve(), known, depth); c {
			return rv, true
		}
	case slog.KindGroup:
		if depth >= maxDepth {
			return v, false
		}
		as := v.Group()
		var out []slog.Attr
		for i, a := range as {
			ca, c := r.attr(a, known, depth+1)
			if c && out == nil {
				out = append(make([]slog.Attr, 0, len(as)), as[:i]...)
			}
			if out != nil {
				out = append(out, ca)
			}
		}
		if out != nil {
			return slog.GroupValue(out...), true
		}
	case slog.KindDuration:
		// Written as its String, "25s", by every handler behind, as the
		// single pass writes it; slog's JSON handler would write
		// nanoseconds.
		return slog.StringValue(v.Duration().String()), true
	case slog.KindAny:
		if nv, c := r.anyValue(v.Any(), known, depth); c {
			return slog.AnyValue(nv), true
		}
	}
	return v, false
}
