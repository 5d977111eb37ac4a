package logging

import (
	"strings"
	"sync/atomic"
)

// keyCacheSlots is how many attribute keys a keyCache remembers.
const keyCacheSlots = 256

// keyCache remembers, for the attribute keys the single pass has written,
// whether each is sensitive and how it is written in JSON, so that a key
// seen before costs one lookup instead of the key rules and a scan for
// bytes to escape. Attribute keys are nearly always constants of the code
// that logs, the same few in every record.
//
// It is bounded whatever the keys: a key goes to the one slot its hash
// names, only while that slot is empty, and only when it is at most
// maxKeyLen long; a slot once filled is never replaced. Keys chosen from
// outside (a header name logged as a key) can therefore fill it, never grow
// it or turn it over: at most keyCacheSlots entries of a short key each
// (a few allocations each, once; under 130 KiB even for keys that are all
// escapes). The price is that keys first seen after their slot is taken
// are judged as if there were no cache, every time. A hit is the verdict computed for the same bytes
// (the cached key is compared whole), so the cache changes no output. The
// zero value is empty and ready; it is safe for concurrent use.
type keyCache struct {
	slots [keyCacheSlots]atomic.Pointer[keyVerdict]
}

// keyVerdict is what the rules said of key, which is a copy of its own,
// with the key as the single pass writes it: quoted, escaped, and its
// colon.
type keyVerdict struct {
	key, quoted string
	sensitive   bool
}

// lookup returns the verdict on key by the rules of r, or nil when key is
// not cached and cannot be: shorter than two bytes, longer than
// maxKeyLen, or its slot holds another key.
func (c *keyCache) lookup(r *redactor, key string) *keyVerdict {
	if len(key) < 2 || len(key) > maxKeyLen {
		return nil
	}
	slot := &c.slots[keySlot(key)]
	if v := slot.Load(); v != nil {
		if v.key == key {
			return v
		}
		return nil
	}
	quoted := append(appendEscaped(append(make([]byte, 0, len(key)+3), '"'), key), '"', ':')
	v := &keyVerdict{key: strings.Clone(key), quoted: string(quoted), sensitive: r.sensitive(key)}
	// When another goroutine filled the slot first, v is the verdict all
	// the same.
	slot.CompareAndSwap(nil, v)
	return v
}

// keySlot spreads keys of two bytes or more over the slots by their
// length and their first and last two bytes, which tell the keys of a
// program apart nearly always; a collision only costs a miss.
func keySlot(key string) int {
	n := len(key)
	h := uint32(n) ^ uint32(key[0])<<8 ^ uint32(key[1])<<16 ^ uint32(key[n-2])<<24 ^ uint32(key[n-1])<<4
	h *= 0x9e3779b1
	return int(h >> 24) // keyCacheSlots is 1 << 8
}
