package logging

// Redactor applies the rules of this package's loggers to text outside the
// logs: span and resource attributes, debug pages, error bodies. It masks
// what [NewRedactHandler] masks in a string (secret shapes, the values of
// sensitive URL and "key=value" parameters and JSON fields, the known
// values in any of their encoded forms) and, with [Redactor.Attr] and
// [Redactor.Header], whole values under a sensitive key or header name.
//
// The zero value, and a nil *Redactor, use the keys of
// [DefaultSensitiveKeys] and no known values. A Redactor is safe for
// concurrent use; values added to its [KnownValues] later are masked from
// then on. Its methods do not allocate unless they mask something.
type Redactor struct {
	r *redactor
}

// NewRedactor returns a Redactor with the keys of [DefaultSensitiveKeys]
// and opts.Keys, masking the values of opts.Known. Give it the
// SensitiveKeys and Known of the logger's [Options] to mask as the logger
// does.
func NewRedactor(opts RedactOptions) *Redactor {
	return &Redactor{r: newRedactor(opts)}
}

func (r *Redactor) rules() *redactor {
	if r == nil || r.r == nil {
		return defaultRedactor
	}
	return r.r
}

// String returns s with every secret it holds replaced by [REDACTED]; only
// the matched parts are replaced: "GET /items?api_key=[REDACTED]&page=2".
func (r *Redactor) String(s string) string {
	rr := r.rules()
	out, _ := rr.scrub(s, rr.known.snapshot())
	return out
}

// Attr returns the value to show for an attribute, a header or a field:
// [REDACTED] when key is sensitive (see [Redactor.Sensitive]) and value is
// not empty, otherwise value as [Redactor.String] masks it.
func (r *Redactor) Attr(key, value string) string {
	rr := r.rules()
	if rr.sensitive(key) {
		if value == "" {
			return value
		}
		return redacted
	}
	out, _ := rr.scrub(value, rr.known.snapshot())
	return out
}

// Header returns the value to show for an HTTP header: [REDACTED] when
// the name is sensitive as a key is, or holds one of the words auth,
// cookie, credential, key, passw, secret, session, signature or token in
// any case (X-Functions-Key, X-Auth-User), as the header maps logged with
// slog.Any (http.Header, url.Values, any map[string][]string) are masked;
// otherwise value as [Redactor.String] masks it. Attr does the same for
// the keys of the OpenTelemetry semantic conventions
// http.request.header.<name> and http.response.header.<name>.
func (r *Redactor) Header(name, value string) string {
	rr := r.rules()
	if rr.sensitiveHeader(name) {
		if value == "" {
			return value
		}
		return redacted
	}
	out, _ := rr.scrub(value, rr.known.snapshot())
	return out
}

// Sensitive reports whether values under key are masked whole: key is one
// of the Redactor's keys, ends in "_" and one of them, or holds a word
// such as secret or password (see [DefaultSensitiveKeys]), compared
// without case and with "-" and "." read as "_" ("auth.token",
// "X-Secret-Key"), or key is a header attribute of the OpenTelemetry
// semantic conventions whose header name [Redactor.Header] masks.
func (r *Redactor) Sensitive(key string) bool {
	return r.rules().sensitive(key)
}
