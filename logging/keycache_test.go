package logging

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestKeyCacheGivesTheRulesVerdict: for keys of every kind, the cached
// verdict, when the key is first seen and when it is seen again (also as
// another string with the same bytes), is what the key rules and the
// escaping say without the cache.
func TestKeyCacheGivesTheRulesVerdict(t *testing.T) {
	opts := RedactOptions{Keys: []string{"tenant_pin", "key_a"}}
	keys := []string{
		"method", "route", "status", "duration", "bytes", "error", "id", // ordinary
		"password", "db_password", "accessToken", "X-Api-Key", "SessionID", "clientSecret", // sensitive
		"http.request.header.x-functions-key", "http.request.header.accept", // header attributes
		"tenant_pin", "tenantPin", "key_a", // the caller's keys
		`a"b`, `back\slash`, "tab\there", "é-key", "\xff\xfe", "line\u2028sep", // need escaping
		strings.Repeat("k", maxKeyLen), strings.Repeat("k", maxKeyLen) + "_token", // at and past the limit
	}
	for _, k := range keys {
		r := newRedactor(opts) // k comes first to its slot
		wantQuoted := `"` + string(appendEscaped(nil, k)) + `":`
		for _, seen := range []string{k, string([]byte(k)), k} {
			v := r.keys.lookup(r, seen)
			if len(k) > maxKeyLen {
				if v != nil {
					t.Fatalf("lookup(%q) cached a key longer than %d", k, maxKeyLen)
				}
				continue
			}
			if v == nil {
				t.Fatalf("lookup(%q) = nil, want a verdict", k)
			}
			if v.sensitive != r.sensitive(k) || v.quoted != wantQuoted || v.key != k {
				t.Fatalf("lookup(%q) = {%q %q %v}, want {%q %q %v}", k, v.key, v.quoted, v.sensitive, k, wantQuoted, r.sensitive(k))
			}
		}
	}
}

// TestKeyCacheCollisionKeepsTheVerdict: a key whose slot holds another key
// is not given that key's verdict: a sensitive key after an ordinary one
// of the same slot is still masked.
func TestKeyCacheCollisionKeepsTheVerdict(t *testing.T) {
	// Same length, same first and last two bytes: the same slot.
	ordinary, sensitive := "sedret", "secret"
	if keySlot(ordinary) != keySlot(sensitive) {
		t.Fatalf("keySlot(%q) != keySlot(%q): pick two keys of one slot", ordinary, sensitive)
	}
	r := newRedactor(RedactOptions{})
	if v := r.keys.lookup(r, ordinary); v == nil || v.sensitive {
		t.Fatalf("lookup(%q) = %+v, want an ordinary key's verdict", ordinary, v)
	}
	if v := r.keys.lookup(r, sensitive); v != nil {
		t.Fatalf("lookup(%q) = %+v, want nil: its slot holds %q", sensitive, v, ordinary)
	}
	var b strings.Builder
	e := encoder{r: r}
	e.attrKey(ordinary)
	if !e.attrKey(sensitive) {
		t.Fatalf("attrKey(%q) = false after %q filled its slot", sensitive, ordinary)
	}
	b.Write(e.buf)
	if got, want := b.String(), `"sedret":,"secret":`; got != want {
		t.Fatalf("keys written %q, want %q", got, want)
	}
}

// TestKeyCacheIsBounded: however many keys come (as when they are chosen
// from outside), the cache holds at most one per slot, never replaces one,
// and every verdict stays right.
func TestKeyCacheIsBounded(t *testing.T) {
	r := newRedactor(RedactOptions{})
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d_%s", i, []string{"name", "token", "id", "secret_ref"}[i%4])
	}
	first := map[int]string{}
	for _, k := range keys {
		if v := r.keys.lookup(r, k); v != nil {
			if old, ok := first[keySlot(k)]; ok && old != k {
				t.Fatalf("slot %d holds %q and %q", keySlot(k), old, k)
			}
			first[keySlot(k)] = k
		}
	}
	filled := 0
	for i := range r.keys.slots {
		v := r.keys.slots[i].Load()
		if v == nil {
			continue
		}
		filled++
		if first[i] != v.key {
			t.Fatalf("slot %d holds %q, want the first key of the slot, %q", i, v.key, first[i])
		}
	}
	if filled > keyCacheSlots {
		t.Fatalf("%d keys cached, want at most %d", filled, keyCacheSlots)
	}
	e := encoder{r: r}
	for _, k := range keys {
		e.buf = e.buf[:0]
		if got, want := e.attrKey(k), r.sensitive(k); got != want {
			t.Fatalf("attrKey(%q) = %v, want %v", k, got, want)
		}
	}
}

// TestKeyCacheConcurrentUse: goroutines filling and reading the same slots
// get the rules' verdicts, without a race (run with -race).
func TestKeyCacheConcurrentUse(t *testing.T) {
	r := newRedactor(RedactOptions{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprintf("key%d_%s", (i+g)%300, []string{"token", "name"}[i%2])
				e := encoder{r: r}
				if got, want := e.attrKey(k), r.sensitive(k); got != want {
					t.Errorf("attrKey(%q) = %v, want %v", k, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
