package logging

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/operable-go/operable/secrets"
)

// MinKnownLen is the shortest secret value [KnownValues] will look for:
// shorter values would mask ordinary words and numbers.
const MinKnownLen = 6

// KnownValues is the set of secret values a service loaded (from its secret
// manager, from config fields marked secret), looked for and masked in every
// string of every record, as written and in the forms a value takes on its
// way into a URL, a header or a JSON document: percent-encoded (query and
// path escaping), base64 (standard and URL alphabets, padded or not, also
// inside a longer base64 text such as a Basic credential) and JSON-escaped.
// The zero value is empty and ready for use; it is safe for concurrent use,
// and adding is rare next to reading.
//
// Known limits: other encodings are not looked for: hex, lower-case
// percent escapes, the choices of other escapers (JavaScript's
// encodeURIComponent leaves !'()* as they are, Go escapes them), a value
// encoded twice.
type KnownValues struct {
	set atomic.Pointer[knownSet]
}

// Add registers s. Values shorter than MinKnownLen are ignored. The
// encoded forms of s are computed here, once, so that looking for them
// costs a record no more than looking for s.
func (k *KnownValues) Add(s string) {
	if len(s) < MinKnownLen {
		return
	}
	for {
		old := k.set.Load()
		if old != nil && slices.Contains(old.values, s) {
			return
		}
		next := old.with(s)
		if k.set.CompareAndSwap(old, next) {
			return
		}
	}
}

// AddSecret registers the value of s.
func (k *KnownValues) AddSecret(s secrets.Secret) { k.Add(s.Reveal()) }

// snapshot returns the values registered so far; nil when there are none.
func (k *KnownValues) snapshot() *knownSet {
	if k == nil {
		return nil
	}
	return k.set.Load()
}

// knownSet is an immutable snapshot of [KnownValues]: the raw values and
// every form looked for, with a filter on their first two bytes so that
// one pass over a string finds all of them.
type knownSet struct {
	values  []string // as registered
	needles []needle
	minLen  int
	// heads has a bit for the first two bytes of every needle; byHead
	// lists the needles that start with them.
	heads  [1 << 16 / 64]uint64
	byHead map[uint16][]int32
	// grams has a bit for every two bytes in a row among the first minLen
	// bytes of every needle: where a string's two bytes are not among
	// them, no needle starts at the minLen-1 positions that would hold
	// them in their first minLen bytes.
	grams [1 << 16 / 64]uint64
}

// needle is one form of a known value. A base64 form is the part of the
// encoding that does not depend on the bytes around the value; ext says
// by how many characters to widen a match on the left and on the right
// over the characters that mix the value with its neighbours (and the
// padding after it), so that no bit of the value stays readable.
type needle struct {
	s          string
	extL, extR int8
	b64        *[256]bool // the alphabet of a base64 form, else nil
}

var (
	b64Std = alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	b64URL = alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
)

func alphabet(chars string) *[256]bool {
	var t [256]bool
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return &t
}

func head(s string) uint16 { return uint16(s[0])<<8 | uint16(s[1]) }

// hasBits reports whether the bit of h is set in set.
func hasBits(set *[1 << 16 / 64]uint64, h uint16) bool { return set[h/64]&(1<<(h%64)) != 0 }

// with returns a new set: ks (which may be nil) and the forms of s.
func (ks *knownSet) with(s string) *knownSet {
	next := &knownSet{byHead: map[uint16][]int32{}}
	var old []needle
	if ks != nil {
		next.values = slices.Clip(ks.values)
		old = ks.needles
	}
	next.values = append(next.values, s)
	next.needles = append(slices.Clip(old), forms(s)...)
	next.minLen = len(next.needles[0].s)
	for i, n := range next.needles {
		next.minLen = min(next.minLen, len(n.s))
		h := head(n.s)
		next.heads[h/64] |= 1 << (h % 64)
		next.byHead[h] = append(next.byHead[h], int32(i))
	}
	for _, n := range next.needles {
		for j := 0; j+2 <= next.minLen; j++ {
			g := head(n.s[j:])
			next.grams[g/64] |= 1 << (g % 64)
		}
	}
	return next
}

// forms returns s and each of its encoded forms that differs from those
// before it.
func forms(s string) []needle {
	out := []needle{{s: s}}
	add := func(n needle) {
		if len(n.s) < 2 || slices.ContainsFunc(out, func(o needle) bool { return o.s == n.s }) {
			return
		}
		out = append(out, n)
	}
	add(needle{s: url.QueryEscape(s)})
	add(needle{s: url.PathEscape(s)})
	add(needle{s: string(appendEscaped(nil, s))}) // as slog and this package escape
	if b, err := json.Marshal(s); err == nil {
		add(needle{s: string(b[1 : len(b)-1])}) // as encoding/json escapes, HTML too
	}
	for _, enc := range []struct {
		e     *base64.Encoding
		alpha *[256]bool
	}{{base64.RawStdEncoding, b64Std}, {base64.RawURLEncoding, b64URL}} {
		// The value may start at any of three offsets in a longer base64
		// text: each gives its own characters.
		for k := range 3 {
			src := append(make([]byte, k, k+len(s)), s...)
			full := enc.e.EncodeToString(src)
			// Character j holds bits [6j, 6j+6) of src; those of s are
			// bits [8k, 8(k+len(s))).
			from := (8*k + 5) / 6
			to := 8 * (k + len(s)) / 6
			n := needle{s: full[from:to], b64: enc.alpha}
			if 8*k%6 != 0 {
				n.extL = 1
			}
			if 8*(k+len(s))%6 != 0 {
				n.extR = 1
			}
			if len(n.s) >= MinKnownLen {
				add(n)
			}
		}
	}
	return out
}

// find appends the spans of every form of every known value in s.
func (ks *knownSet) find(s string, spans []span) []span {
	if ks == nil || len(s) < ks.minLen {
		return spans
	}
	// Positions are skipped minLen-1 at a time by the two bytes that end
	// the first minLen at a position (see grams), then looked at one by
	// one from the first position whose first minLen hold them.
	for i := 0; i <= len(s)-ks.minLen; i++ {
		if q := i + ks.minLen - 2; !hasBits(&ks.grams, uint16(s[q])<<8|uint16(s[q+1])) {
			i += ks.minLen - 2 // and the loop's i++
			continue
		}
		h := uint16(s[i])<<8 | uint16(s[i+1])
		if !hasBits(&ks.heads, h) {
			continue
		}
		for _, ni := range ks.byHead[h] {
			n := &ks.needles[ni]
			if !strings.HasPrefix(s[i:], n.s) {
				continue
			}
			sp := span{i, i + len(n.s)}
			if n.b64 != nil {
				if n.extL > 0 && sp.start > 0 && n.b64[s[sp.start-1]] {
					sp.start--
				}
				if n.extR > 0 && sp.end < len(s) && n.b64[s[sp.end]] {
					sp.end++
				}
				for pad := 0; pad < 2 && sp.end < len(s) && s[sp.end] == '='; pad++ {
					sp.end++
				}
			}
			spans = append(spans, sp)
		}
	}
	return spans
}
