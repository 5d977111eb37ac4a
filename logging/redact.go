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
}

// DefaultSensitiveKeys returns the attribute keys, struct fields and map
// keys whose values are always masked, compared without case and with "-"
// read as "_". A key also counts as sensitive when it ends in "_" and one
// of these (db_password, x_api_key, oauth_refresh_token). The slice is a
// new copy on every call: changing it changes nothing else. Add keys with
// [RedactOptions].Keys or [Options].SensitiveKeys.
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
}

func tailIndex(a, b byte) int { return int(a&0x7f)<<7 | int(b&0x7f) }

// lowerKeyByte folds ASCII upper case and reads "-" as "_".
func lowerKeyByte(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	case c == '-':
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
//   - by value: every value registered in opts.Known.
//
// It also turns every duration (slog.Duration, or a time.Duration passed
// with slog.Any) into a string value of its String form, "25s", so that
// the handlers behind, slog's JSON handler among them, write it as the
// logs of [New] do everywhere rather than as nanoseconds.
//
// Known limits: values implementing json.Marshaler, encoding.TextMarshaler
// or fmt.Stringer are trusted to render themselves safely; a struct that
// needs masking loses its unexported fields in the copy.
func NewRedactHandler(next slog.Handler, opts RedactOptions) slog.Handler {
	return &redactHandler{r: newRedactor(opts), next: next}
}

func newRedactor(opts RedactOptions) *redactor {
	r := &redactor{known: opts.Known}
	for _, k := range slices.Concat(defaultSensitiveKeys[:], opts.Keys) {
		if k = normalizeKey(k); len(k) >= 2 && len(k) <= maxKeyLen {
			r.byLen[len(k)] = append(r.byLen[len(k)], k)
			i := tailIndex(k[len(k)-2], k[len(k)-1])
			r.tails[i/8] |= 1 << (i % 8)
		}
	}
	r.idKeys.request, r.idKeys.trace, r.idKeys.span = r.sensitive("request_id"), r.sensitive("trace_id"), r.sensitive("span_id")
	return r
}

func normalizeKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "-", "_")
}

// sensitive reports whether key names a secret: it is, or ends in "_" and,
// one of the sensitive keys, compared without case and with "-" as "_". It
// does not allocate.
func (r *redactor) sensitive(key string) bool {
	if len(key) < 2 {
		return false
	}
	if i := tailIndex(lowerKeyByte(key[len(key)-2]), lowerKeyByte(key[len(key)-1])); r.tails[i/8]&(1<<(i%8)) == 0 {
		return false
	}
	if len(key) > maxKeyLen {
		key = key[len(key)-maxKeyLen:] // only a suffix can match
	}
	var buf [maxKeyLen]byte
	b := buf[:len(key)]
	for i := 0; i < len(key); i++ {
		b[i] = lowerKeyByte(key[i])
	}
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
	known := h.r.known.list()
	msg, msgChanged := scrub(rec.Message, known)
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
	known := h.r.known.list()
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
func (r *redactor) attr(a slog.Attr, known []string, depth int) (slog.Attr, bool) {
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

func (r *redactor) value(v slog.Value, known []string, depth int) (slog.Value, bool) {
	switch v.Kind() {
	case slog.KindString:
		if s, c := scrub(v.String(), known); c {
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
