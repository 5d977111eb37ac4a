package featureflags

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// opFractional is flagd's fractional: [bucketBy?, [variant, weight?]...].
// The bucketing string is the first argument when it is not a bucket
// (any expression: a var, a cat), else the flag key followed by the
// targeting key. It is hashed with MurmurHash3 x86 32-bit (seed 0) and
// mapped onto the total weight as flagd does since its high-precision
// bucketing: bucket = hash × total >> 32, then the first bucket whose
// running weight exceeds it wins. Weights default to 1, are whole numbers,
// negative ones count as 0; variants and weights may be expressions. No
// bucketing string, or a total weight of 0, gives null.
func opFractional(e *env, a []node) value {
	if len(a) == 0 {
		return null
	}
	buckets := a
	// The bucketing string, in two parts so that the default (flag key and
	// targeting key) is hashed without concatenating them.
	var by1, by2 string
	if isBucket(a[0]) {
		// Without a targeting key, flagd buckets on the flag key alone.
		by1 = e.flagKey
		by2, _ = e.lookup("targetingKey").str()
	} else {
		v := a[0].eval(e)
		if v.k == kNull {
			return null
		}
		by1 = v.text()
		buckets = a[1:]
	}
	if len(buckets) == 0 {
		return null
	}
	var total uint64
	for _, b := range buckets {
		total += bucketWeight(e, b)
	}
	if total == 0 || total > math.MaxInt32 {
		return null
	}
	bucket := (uint64(murmur3(by1, by2)) * total) >> 32
	var end uint64
	for _, b := range buckets {
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
		return t.v.k == kArr && len(t.v.a) >= 1 && len(t.v.a) <= 2
	}
	return false
}

func bucketWeight(e *env, n node) uint64 {
	switch t := n.(type) {
	case literal:
		if t.v.k == kArr {
			if len(t.v.a) < 2 {
				return 1
			}
			return weightOf(t.v.a[1])
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
		if t.v.k == kArr && len(t.v.a) > 0 {
			return t.v.a[0]
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
// <, <=, >, >=, ~ (same major and minor, not lower), ^ (same major, not
// lower). A "v" prefix and build metadata are ignored; a partial version
// ("1", "1.2") is completed with zeros. A bad version, operator or argument
// count gives null.
func opSemVer(e *env, a []node) value {
	if len(a) != 3 {
		return null
	}
	op, ok := arg(e, a, 1).str()
	if !ok {
		return null
	}
	x, ok1 := parseSemVer(arg(e, a, 0))
	y, ok2 := parseSemVer(arg(e, a, 2))
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
		return boolValue(x.major == y.major && x.minor == y.minor && c >= 0)
	case "^":
		return boolValue(x.major == y.major && c >= 0)
	}
	return null
}

type semVer struct {
	major, minor, patch uint64
	pre                 string
}

func parseSemVer(v value) (semVer, bool) {
	var s string
	switch v.k {
	case kStr:
		s = v.s
	case kNum:
		if v.n < 0 || v.n != math.Trunc(v.n) {
			return semVer{}, false
		}
		s = strconv.FormatFloat(v.n, 'f', -1, 64)
	default:
		return semVer{}, false
	}
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
