package secrets

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what a [Secret] prints instead of its value.
const Redacted = "[REDACTED]"

// Secret is a sensitive value that never prints.
//
// The value sits behind a pointer to a string, so that neither a conversion
// nor fmt's reflection over an unexported struct field can reach it: fmt
// shows an address there, never the bytes. (fmt dereferences pointers to
// structs, slices, arrays and maps when it reports a bad verb, so the
// pointer must not be one of those.) Every formatting path the package controls
// (fmt verbs, slog, JSON, text marshaling) writes [Redacted].
//
// The zero Secret is empty: [Secret.IsZero] reports true and Reveal returns "".
// A Secret is immutable and safe for concurrent use.
type Secret struct {
	v *string
}

// New returns a Secret holding s. An empty s gives the zero Secret.
func New(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the value. Call it only where the value is used (a password
// handed to a driver, a token put in a header), never to print it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil }

// Equal reports whether s and t hold the same value. The comparison takes
// the same time whatever the values and their lengths, so that it can check
// a credential offered by a caller without telling them how close they came.
// Two empty secrets are equal.
func (s Secret) Equal(t Secret) bool {
	a := sha256.Sum256([]byte(s.Reveal()))
	b := sha256.Sum256([]byte(t.Reveal()))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// String returns [Redacted].
func (Secret) String() string { return Redacted }

// GoString returns [Redacted], for the %#v verb.
func (Secret) GoString() string { return Redacted }

// Format writes [Redacted] for every verb and flag, so that %d, %x or %q
// cannot reach the value either.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue makes log/slog print [Redacted].
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the secret as the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the secret as [Redacted].
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
