package featureflags

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// fractionalNode is flagd's fractional: [bucketBy?, [variant, weight?]...].
// The bucketing string is the first argument when it is not a bucket
// (any expression: a var, a cat) and gives a string; when it gives null
// (an attribute the context lacks) or there is none, it is the flag key
// followed by the targeting key, and without a targeting key (or with an
// empty one) the result is null, so the flag gives its default variant, as
// flagd does. A bucketing expression that gives anything else (a number, a
// list) is null too. The string is hashed with MurmurHash3 x86 32-bit
// (seed 0) and mapped onto the total weight as flagd does since its
// high-precision bucketing: bucket = hash × total >> 32, then the first
// bucket whose running weight exceeds it wins. Weights default to 1, are
// whole numbers, negative ones count as 0; variants and weights may be
// expressions. A total weight of 0 gives null.
// The bucket list is worked out once when every bucket is a literal (the
// usual case): the weights, their total and the variants.
type fractionalNode struct {
	by       node // nil: the flag key and the targeting key
	buckets  []node
	weights  []uint64 // nil unless every bucket is a literal
	variants []value
	total    uint64
	none     bool // no arguments
}

func compileFractional(args []node) node {
	f := fractionalNode{buckets: args, none: len(args) == 0}
	if len(args) > 0 && !isBucket(args[0]) {
		f.by, f.buckets = args[0], args[1:]
	}
	for _, b := range f.buckets {
		if _, ok := b.(literal); !ok {
			return f
		}
	}
	f.weights, f.variants = make([]uint64, len(f.buckets)), make([]value, len(f.buckets))
	for i, b := range f.buckets {
		f.weights[i], f.variants[i] = bucketWeight(nil, b), bucketVariant(nil, b)
		f.total += f.weights[i]
	}
	return f
}

func (f fractionalNode) eval(e *env) value {
	if f.none {
		return null
	}
	// The bucketing string, in two parts so that the default (flag key and
	// targeting key) is hashed without concatenating them.
	var by1, by2 string
	byKey := true
	if f.by != nil {
		switch v := f.by.eval(e); v.k {
		case kStr:
			by1, byKey = v.s, false
		case kNull:
		default:
			return null
		}
	}
	if byKey {
		// The targeting key of the evaluation context, whatever the scope.
		tk, _ := e.lookup("targetingKey")
		if tk.k != kStr || tk.s == "" {
			return null
		}
		by1, by2 = e.flagKey, tk.s
	}
	if len(f.buckets) == 0 {
		return null
	}
	total := f.total
	if f.weights == nil {
		for _, b := range f.buckets {
			total += bucketWeight(e, b)
		}
	}
	if total == 0 || total > math.MaxInt32 {
		return null
	}
	bucket := (uint64(murmur3(by1, by2)) * total) >> 32
	var end uint64
	if f.weights != nil {
		for i, w := range f.weights {
			if end += w; bucket < end {
				return f.variants[i]
			}
		}
		return null
	}
	for _, b := range f.buckets {
		end += bucketWeight(e, b)
		if bucket < end {
			return bucketVariant(e, b)
		}
	}
	return null
}

// isBucket reports whether n is a bucket: [variant, weight?].
func isBucket(n node) bool {
	switch t := n.(type) {
	case arrayNode:
		return len(t) >= 1 && len(t) <= 2
	case literal:
		return t.v.k == kArr && t.v.len() >= 1 && t.v.len() <= 2
	}
	return false
}

func bucketWeight(e *env, n node) uint64 {
	switch t := n.(type) {
	case literal:
		if t.v.k == kArr {
			if t.v.len() < 2 {
				return 1
			}
			return weightOf(t.v.at(1))
		}
	case arrayNode:
		if len(t) < 2 {
			return 1
		}
		return weightOf(t[1].eval(e))
	}
	return 0
}

func weightOf(v value) uint64 {
	w, ok := v.number()
	if !ok || w <= 0 || math.IsNaN(w) {
		return 0
	}
	return uint64(math.Trunc(w))
}

func bucketVariant(e *env, n node) value {
	switch t := n.(type) {
	case literal:
		if t.v.k == kArr && t.v.len() > 0 {
			return t.v.at(0)
		}
	case arrayNode:
		if len(t) > 0 {
			return t[0].eval(e)
		}
	}
	return null
}

// murmur3 is MurmurHash3 x86 32-bit with seed 0 over the bytes of a
// followed by those of b.
func murmur3(a, b string) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	at := func(i int) byte {
		if i < len(a) {
			return a[i]
		}
		return b[i-len(a)]
	}
	var h uint32
	n := len(a) + len(b)
	i := 0
	block := func(k uint32) {
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	for ; i+4 <= len(a); i += 4 { // the fast path, within a
		block(uint32(a[i]) | uint32(a[i+1])<<8 | uint32(a[i+2])<<16 | uint32(a[i+3])<<24)
	}
	for ; i+4 <= n; i += 4 {
		block(uint32(at(i)) | uint32(at(i+1))<<8 | uint32(at(i+2))<<16 | uint32(at(i+3))<<24)
	}
	var k uint32
	switch n - i {
	case 3:
		k ^= uint32(at(i+2)) << 16
		fallthrough
	case 2:
		k ^= uint32(at(i+1)) << 8
		fallthrough
	case 1:
		k ^= uint32(at(i))
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// opSemVer is flagd's sem_ver: [version, operator, version] with =, !=,
// <, <=, >, >=, ~ (same major and minor) and ^ (same major), compared as
// flagd does (golang.org/x/mod/semver). Either version may be any value,
// read as text first as flagd does (a number 1.2 is "1.2"). A "v" prefix
// and build metadata are ignored; a partial version ("1", "1.2") is
// completed with zeros. A bad version, operator or argument count gives
// null.
func opSemVer(e *env, a []node) value {
	if len(a) != 3 {
		return null
	}
	op, ok := arg(e, a, 1).str()
	if !ok {
		return null
	}
	x, ok1 := parseSemVer(e, arg(e, a, 0))
	y, ok2 := parseSemVer(e, arg(e, a, 2))
	if !ok1 || !ok2 {
		return null
	}
	c := x.compare(y)
	switch op {
	case "=":
		return boolValue(c == 0)
	case "!=":
		return boolValue(c != 0)
	case "<":
		return boolValue(c < 0)
	case "<=":
		return boolValue(c <= 0)
	case ">":
		return boolValue(c > 0)
	case ">=":
		return boolValue(c >= 0)
	case "~":
		return boolValue(x.major == y.major && x.minor == y.minor)
	case "^":
		return boolValue(x.major == y.major)
	}
	return null
}

type semVer struct {
	major, minor, patch uint64
	pre                 string
}

func parseSemVer(e *env, v value) (semVer, bool) {
	if v.k == kNull {
		return semVer{}, false
	}
	s := e.text(v) // flagd: fmt.Sprintf("%v"); a number 1.2 is "1.2"
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	s, _, _ = strings.Cut(s, "+") // build metadata does not count
	core, pre, _ := strings.Cut(s, "-")
	var nums [3]uint64
	for i := 0; ; i++ {
		if i == 3 {
			return semVer{}, false // more than three parts
		}
		p, rest, more := strings.Cut(core, ".")
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return semVer{}, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return semVer{}, false
		}
		nums[i] = n
		if !more {
			break
		}
		core = rest
	}
	return semVer{major: nums[0], minor: nums[1], patch: nums[2], pre: pre}, true
}

// compare orders by major, minor, patch, then pre-release as semver says:
// a version without one is higher; identifiers compare numerically or by
// text.
func (x semVer) compare(y semVer) int {
	for _, p := range [][2]uint64{{x.major, y.major}, {x.minor, y.minor}, {x.patch, y.patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case x.pre == y.pre:
		return 0
	case x.pre == "":
		return 1
	case y.pre == "":
		return -1
	}
	xs, ys := strings.Split(x.pre, "."), strings.Split(y.pre, ".")
	for i := 0; i < len(xs) && i < len(ys); i++ {
		a, errA := strconv.ParseUint(xs[i], 10, 64)
		b, errB := strconv.ParseUint(ys[i], 10, 64)
		switch {
		case errA == nil && errB == nil:
			if a != b {
				if a < b {
					return -1
				}
				return 1
			}
		case errA == nil:
			return -1
		case errB == nil:
			return 1
		default:
			if c := strings.Compare(xs[i], ys[i]); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(xs) < len(ys):
		return -1
	case len(xs) > len(ys):
		return 1
	}
	return 0
}
