package logging

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// findEachPosition is find as it was before it skipped positions, copied
// whole: it looks at every position. The reference find must match.
func (ks *knownSet) findEachPosition(s string, spans []span) []span {
	if ks == nil || len(s) < ks.minLen {
		return spans
	}
	for i := 0; i <= len(s)-ks.minLen; i++ {
		h := uint16(s[i])<<8 | uint16(s[i+1])
		if ks.heads[h/64]&(1<<(h%64)) == 0 {
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

// knownForTest registers values with forms of every kind: plain, escaped
// for URLs and JSON, and base64 at every offset.
func knownForTest() *KnownValues {
	var kv KnownValues
	for _, v := range []string{"kn0wn-s3cret-value", "another-registered-secret", "sp3c/al+v=l&\"q\"", "short6"} {
		kv.Add(v)
	}
	return &kv
}

// TestFindMatchesEachPosition: the forms of the known values, whole and
// cut short by one byte, at every position of strings of every length
// around minLen and its multiples, on backgrounds that share two-byte
// runs with the values and that share none, are found where looking at
// every position finds them.
func TestFindMatchesEachPosition(t *testing.T) {
	ks := knownForTest().snapshot()
	var pieces []string
	for _, n := range ks.needles {
		pieces = append(pieces, n.s, n.s[:len(n.s)-1], "="+n.s+"==")
	}
	pieces = append(pieces, url.QueryEscape("kn0wn-s3cret-value"), base64.StdEncoding.EncodeToString([]byte("u:another-registered-secret")))
	for _, bg := range []string{"x", "an", "e-", "4", "Zm"} {
		for n := 1; n <= 4*ks.minLen+3; n++ {
			for _, piece := range pieces {
				for pos := 0; pos+len(piece) <= max(n, len(piece)); pos++ {
					b := []byte(strings.Repeat(bg, max(n, len(piece)))[:max(n, len(piece))])
					copy(b[pos:], piece)
					s := string(b)
					got, want := ks.find(s, nil), ks.findEachPosition(s, nil)
					if !slices.Equal(got, want) {
						t.Fatalf("find(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
}

// FuzzFindMatchesEachPosition holds find to the look at every position
// on any string.
func FuzzFindMatchesEachPosition(f *testing.F) {
	ks := knownForTest().snapshot()
	for _, n := range ks.needles {
		f.Add("x " + n.s + " y")
	}
	f.Add("dial tcp 10.0.0.7:5432: connection refused")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ks.find(s, nil), ks.findEachPosition(s, nil); !slices.Equal(got, want) {
			t.Fatalf("find(%q) = %v, want %v", s, got, want)
		}
	})
}
