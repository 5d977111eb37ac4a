package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// jsonHandler is how [New] writes stdout in the JSON format unless a
// ReplaceAttr is set, with sinks or without: the context's ids, redaction
// and JSON encoding in one pass. It writes what the chain
// NewContextHandler → NewRedactHandler → slog.NewJSONHandler writes (the
// chain that feeds the sinks), byte for byte: the same keys in the same
// order, request_id, trace_id and span_id right after msg, and the same
// values; the differential fuzz test holds it to that. Only the time is
// written its own way, with exactly three fractional digits where slog
// trims trailing zeros (New gives slog's handler a ReplaceAttr that writes
// it as here). One pass means one walk over the attributes, no record
// rebuilt, no attribute appended for the ids and floats formatted without
// encoding/json: this is what brings the whole redacting logger near the
// cost of slog's JSON handler alone (see BENCHMARKS.md).
type jsonHandler struct {
	r     *redactor
	level slog.Leveler
	w     io.Writer
	mu    *sync.Mutex
	// pre holds the attributes of WithAttrs, masked and encoded once,
	// starting with a comma, with the groups opened so far.
	pre []byte
	// groups are the names of WithGroup, outermost first; the first nOpen
	// of them are opened in pre.
	groups []string
	nOpen  int
	// masked, when positive, is 1 + the index in groups of the first group
	// with a sensitive name: everything logged inside it is masked, so
	// the group is written as "name":"[REDACTED]" when anything was logged
	// in it (held, for WithAttrs, in maskedAny), else left out.
	masked    int
	maskedAny bool
}

func newJSONHandler(w io.Writer, level slog.Leveler, r *redactor) *jsonHandler {
	return &jsonHandler{r: r, level: level, w: w, mu: new(sync.Mutex)}
}

func (h *jsonHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// encoder is one record being written.
type encoder struct {
	buf   []byte
	r     *redactor
	known *knownSet
	sep   bool // a comma goes before the next key
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuf keeps rare huge records from pinning memory in the pool.
const maxPooledBuf = 16 << 10

func (h *jsonHandler) Handle(ctx context.Context, rec slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	e := encoder{buf: (*bp)[:0], r: h.r, known: h.r.known.snapshot()}
	e.buf = append(e.buf, '{')
	if !rec.Time.IsZero() {
		e.rawKey(`"time":`)
		e.buf = append(e.buf, '"')
		e.buf = appendMillis(e.buf, rec.Time.UTC())
		e.buf = append(e.buf, '"')
	}
	e.rawKey(`"level":`)
	e.str(rec.Level.String())
	e.rawKey(`"msg":`)
	e.scrubbed(rec.Message)
	if id := RequestID(ctx); id != "" {
		e.rawKey(`"request_id":`)
		if h.r.idKeys.request {
			e.str(redacted)
		} else {
			e.scrubbed(id)
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		tid, sid := sc.TraceID(), sc.SpanID()
		e.rawKey(`"trace_id":`)
		e.hexID(tid[:], h.r.idKeys.trace)
		e.rawKey(`"span_id":`)
		e.hexID(sid[:], h.r.idKeys.span)
	}
	if len(h.pre) > 0 {
		e.buf = append(e.buf, h.pre...)
		e.sep = h.pre[len(h.pre)-1] != '{'
	}
	open := h.nOpen
	if h.masked > 0 {
		// A record holds no empty group: AddAttrs drops them.
		if h.maskedAny || rec.NumAttrs() > 0 {
			for _, g := range h.groups[h.nOpen : h.masked-1] {
				e.openGroup(g)
			}
			e.key(h.groups[h.masked-1])
			e.str(redacted)
			open = h.masked - 1
		}
	} else if rec.NumAttrs() > 0 {
		pos, sep := len(e.buf), e.sep
		for _, g := range h.groups[h.nOpen:] {
			e.openGroup(g)
		}
		wrote := false
		rec.Attrs(func(a slog.Attr) bool {
			if e.attr(a) {
				wrote = true
			}
			return true
		})
		if wrote {
			open = len(h.groups)
		} else {
			e.buf, e.sep = e.buf[:pos], sep
		}
	}
	for range open {
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '}', '\n')
	h.mu.Lock()
	_, err := h.w.Write(e.buf)
	h.mu.Unlock()
	if cap(e.buf) <= maxPooledBuf {
		*bp = e.buf
		bufPool.Put(bp)
	}
	return err
}

// WithAttrs masks and encodes the attributes once, here, so that records
// pay nothing for them. Values registered in Known later are not masked in
// them.
func (h *jsonHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if h.masked > 0 {
		if !h.maskedAny && slices.ContainsFunc(as, func(a slog.Attr) bool { return !isEmptyGroup(a) }) {
			h2 := *h
			h2.maskedAny = true
			return &h2
		}
		return h
	}
	e := encoder{buf: append([]byte(nil), h.pre...), r: h.r, known: h.r.known.snapshot(), sep: true}
	if len(h.pre) > 0 && h.pre[len(h.pre)-1] == '{' {
		e.sep = false
	}
	if !e.attrsIn(h.groups[h.nOpen:], as) {
		return h
	}
	h2 := *h
	h2.pre = e.buf
	h2.nOpen = len(h.groups)
	return &h2
}

func (h *jsonHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(h.groups[:len(h.groups):len(h.groups)], name)
	if h.masked == 0 && h.r.sensitive(name) {
		h2.masked = len(h2.groups)
	}
	return &h2
}

// isEmptyGroup reports whether a is a group with nothing in it, which
// slog.GroupValue and Record.AddAttrs drop.
func isEmptyGroup(a slog.Attr) bool {
	return a.Value.Kind() == slog.KindGroup && len(a.Value.Group()) == 0
}

func (e *encoder) key(k string) {
	if e.sep {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, '"')
	if plainPrefix(k) == len(k) { // most keys: nothing to escape
		e.buf = append(e.buf, k...)
	} else {
		e.buf = appendEscaped(e.buf, k)
	}
	e.buf = append(e.buf, '"', ':')
	e.sep = true
}

// attrKey writes the key of an attribute and reports whether it is
// sensitive, from the redactor's cache of keys when it has the key.
func (e *encoder) attrKey(k string) (sensitive bool) {
	if v := e.r.keys.lookup(e.r, k); v != nil {
		e.rawKey(v.quoted)
		return v.sensitive
	}
	e.key(k)
	return e.r.sensitive(k)
}

func (e *encoder) openGroup(name string) {
	e.key(name)
	e.buf = append(e.buf, '{')
	e.sep = false
}

// hexID writes a trace or span id as a JSON string of hex digits, or
// [REDACTED] when its key is sensitive (hex digits hold no secret shape).
func (e *encoder) hexID(id []byte, masked bool) {
	if masked {
		e.str(redacted)
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = appendHex(e.buf, id)
	e.buf = append(e.buf, '"')
}

// str writes s as a JSON string.
func (e *encoder) str(s string) {
	e.buf = append(e.buf, '"')
	e.buf = appendEscaped(e.buf, s)
	e.buf = append(e.buf, '"')
}

// scrubbed writes s as a JSON string with its secrets masked, escaped only
// when the scan for secrets saw a byte that escaping changes.
func (e *encoder) scrubbed(s string) {
	s, _, escape := e.r.scrubEscape(s, e.known)
	if escape {
		e.str(s)
		return
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"')
}

// rawKey writes a key given already quoted, with its colon: `"time":`.
func (e *encoder) rawKey(quoted string) {
	if e.sep {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, quoted...)
	e.sep = true
}

// attrsIn opens the groups and writes the attributes in them, or, when
// none of them writes anything, leaves the buffer as it was and reports
// false. The caller closes the groups.
func (e *encoder) attrsIn(groups []string, as []slog.Attr) bool {
	pos, sep := len(e.buf), e.sep
	for _, g := range groups {
		e.openGroup(g)
	}
	wrote := false
	for _, a := range as {
		if e.attr(a) {
			wrote = true
		}
	}
	if !wrote {
		e.buf, e.sep = e.buf[:pos], sep
	}
	return wrote
}

// attr writes a, masked, and reports whether it wrote anything (empty
// attributes and empty groups are left out, as slog does).
func (e *encoder) attr(a slog.Attr) bool {
	kind := a.Value.Kind()
	if kind == slog.KindLogValuer {
		// Resolve only what needs it: its deferred recover costs a record
		// more than the rest of an attribute's encoding.
		a.Value = a.Value.Resolve()
		kind = a.Value.Kind()
	}
	if a.Key == "" && kind == slog.KindAny && a.Value.Any() == nil {
		return false
	}
	if kind == slog.KindGroup {
		as := a.Value.Group()
		if len(as) == 0 {
			return false
		}
		if e.r.sensitive(a.Key) {
			e.key(a.Key)
			e.str(redacted)
			return true
		}
		var groups []string
		if a.Key != "" { // a group with an empty key is inlined
			groups = []string{a.Key}
		}
		if !e.attrsIn(groups, as) {
			return false
		}
		if a.Key != "" {
			e.buf = append(e.buf, '}')
			e.sep = true
		}
		return true
	}
	if e.attrKey(a.Key) {
		e.str(redacted)
		return true
	}
	e.value(a.Value, kind)
	return true
}

// value writes v, of kind k, resolved.
func (e *encoder) value(v slog.Value, k slog.Kind) {
	switch k {
	case slog.KindString:
		e.scrubbed(v.String())
	case slog.KindInt64:
		e.buf = strconv.AppendInt(e.buf, v.Int64(), 10)
	case slog.KindUint64:
		e.buf = strconv.AppendUint(e.buf, v.Uint64(), 10)
	case slog.KindFloat64:
		e.float(v.Float64())
	case slog.KindBool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case slog.KindDuration:
		// As its String, "25s", which the chain's redactor passes on.
		e.buf = append(e.buf, '"')
		e.buf = appendDuration(e.buf, v.Duration())
		e.buf = append(e.buf, '"')
	case slog.KindTime:
		e.time(v.Time())
	default:
		e.anyValue(v.Any())
	}
}

// float writes f as encoding/json does (slog's JSON handler calls it).
func (e *encoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.str("!ERROR:json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(e.buf); n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
}

// time writes an attribute's time as slog does: RFC 3339 with every
// fractional digit, in the value's own zone.
func (e *encoder) time(t time.Time) {
	if y := t.Year(); y < 0 || y >= 10000 {
		e.buf = append(e.buf, `"!ERROR:time.Time year outside of range [0,9999]"`...)
	}
	e.buf = append(e.buf, '"')
	e.buf = t.AppendFormat(e.buf, time.RFC3339Nano)
	e.buf = append(e.buf, '"')
}

// anyValue writes a value of slog.Any: masked as [NewRedactHandler] masks
// it, then an error as its text and anything else through encoding/json,
// with slog's answers to a failing or panicking value.
func (e *encoder) anyValue(v any) {
	defer func() {
		if p := recover(); p != nil {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
				e.str("<nil>")
				return
			}
			e.str(fmt.Sprintf("!PANIC: %v", p))
		}
	}()
	if err, ok := v.(error); ok {
		if _, jm := v.(json.Marshaler); !jm {
			e.scrubbed(err.Error())
			return
		}
	}
	if mv, c := e.r.anyValue(v, e.known, 0); c {
		v = mv
		if s, ok := v.(string); ok { // a masked error or string
			e.str(s)
			return
		}
	}
	if err := e.marshal(v); err != nil {
		e.str(fmt.Sprintf("!ERROR:%v", err))
	}
}

type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	j := new(jsonEncoder)
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}}

func (e *encoder) marshal(v any) error {
	j := jsonEncoders.Get().(*jsonEncoder)
	defer func() {
		if j.buf.Cap() <= maxPooledBuf {
			j.buf.Reset()
			jsonEncoders.Put(j)
		}
	}()
	if err := j.enc.Encode(v); err != nil {
		return err
	}
	b := j.buf.Bytes()
	e.buf = append(e.buf, b[:len(b)-1]...) // without Encode's newline
	return nil
}

// appendMillis appends t as RFC 3339 with exactly three fractional digits:
// 2006-01-02T15:04:05.000Z.
func appendMillis(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	b = append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	if _, off := t.Zone(); off == 0 {
		return append(b, 'Z')
	}
	return t.AppendFormat(b, "Z07:00")
}

// appendDuration appends d as d.String() writes it ("1h2m3.5s", "25ms",
// "0s"), without the allocation of the string: the algorithm of the time
// package, writing backwards into a buffer on the stack.
func appendDuration(b []byte, d time.Duration) []byte {
	var buf [32]byte
	w := len(buf)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		// Less than a second: a smaller unit, "1.2ms".
		var prec int
		w--
		buf[w] = 's'
		w--
		switch {
		case u == 0:
			return append(b, '0', 's')
		case u < uint64(time.Microsecond):
			prec = 0
			buf[w] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			// U+00B5 'µ' micro sign == 0xC2 0xB5.
			w--
			copy(buf[w:], "µ")
		default:
			prec = 6
			buf[w] = 'm'
		}
		w, u = fmtFrac(buf[:w], u, prec)
		w = fmtInt(buf[:w], u)
	} else {
		w--
		buf[w] = 's'
		w, u = fmtFrac(buf[:w], u, 9)
		w = fmtInt(buf[:w], u%60)
		u /= 60
		if u > 0 {
			w--
			buf[w] = 'm'
			w = fmtInt(buf[:w], u%60)
			u /= 60
			if u > 0 {
				w--
				buf[w] = 'h'
				w = fmtInt(buf[:w], u)
			}
		}
	}
	if neg {
		w--
		buf[w] = '-'
	}
	return append(b, buf[w:]...)
}

// fmtFrac writes the fraction of v/10^prec (with the dot, trailing zeros
// left out) at the end of buf, and returns where it starts and v/10^prec.
func fmtFrac(buf []byte, v uint64, prec int) (int, uint64) {
	w := len(buf)
	printed := false
	for range prec {
		digit := v % 10
		printed = printed || digit != 0
		if printed {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if printed {
		w--
		buf[w] = '.'
	}
	return w, v
}

// fmtInt writes v at the end of buf and returns where it starts.
func fmtInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
		return w
	}
	for v > 0 {
		w--
		buf[w] = byte(v%10) + '0'
		v /= 10
	}
	return w
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendEscaped appends s escaped for a JSON string as slog does: quote,
// backslash and control bytes escaped, invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped, HTML left alone.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if n := plainPrefix(s[i:]); n > 0 {
			i += n
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainPrefix returns the length of the longest prefix of s that JSON
// escaping leaves as it is: printable ASCII other than quote and
// backslash. Eight bytes at a time: a byte is flagged in the high bit of
// its lane when it is under 0x20, a quote, a backslash, or has the high bit
// set itself; the lowest flagged lane is always a real one (a borrow only
// flags lanes above a real match).
func plainPrefix(s string) int {
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^(lsb*'"'), x^(lsb*'\\')
		flags := ((x - lsb*0x20) | (q-lsb)&^q | (bs-lsb)&^bs | x) & msb
		if flags != 0 {
			return i + bits.TrailingZeros64(flags)/8
		}
	}
	for ; i < len(s); i++ {
		if !plainByte[s[i]] {
			return i
		}
	}
	return i
}

// plainByte marks the bytes plainPrefix lets through.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
