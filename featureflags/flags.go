package featureflags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Reason says why an evaluation gave its value, with flagd's names.
type Reason string

// The reasons this version gives.
const (
	Static   Reason = "STATIC"   // the flag's default variant, with no targeting
	Disabled Reason = "DISABLED" // the flag is disabled: the caller's default
	Error    Reason = "ERROR"    // see the ErrorCode: the caller's default
)

// ErrorCode tells what went wrong in an evaluation, with flagd's names.
type ErrorCode string

// The error codes this version gives.
const (
	FlagNotFound     ErrorCode = "FLAG_NOT_FOUND"
	TypeMismatch     ErrorCode = "TYPE_MISMATCH"
	ProviderNotReady ErrorCode = "PROVIDER_NOT_READY"
)

// Details is the full result of an evaluation.
type Details[T any] struct {
	Value   T
	Variant string // "" when the caller's default was returned
	Reason  Reason
	// ErrorCode is set when Reason is Error.
	ErrorCode ErrorCode
}

// Set is an immutable set of flags, safe for concurrent use. A nil *Set has
// no flags loaded: every evaluation returns the caller's default with
// ErrorCode ProviderNotReady.
type Set struct {
	flags map[string]flag
}

type flag struct {
	disabled       bool
	defaultVariant string
	value          any // the default variant's value: bool, string or float64
	variants       []string
}

// Info describes one flag, for listings such as the admin /debug/flags.
type Info struct {
	Key            string   `json:"key"`
	State          string   `json:"state"` // ENABLED or DISABLED
	DefaultVariant string   `json:"defaultVariant"`
	Variants       []string `json:"variants"`
}

// Flags lists the set's flags, sorted by key. A nil Set has none.
func (s *Set) Flags() []Info {
	if s == nil {
		return nil
	}
	out := make([]Info, 0, len(s.flags))
	for key, f := range s.flags {
		state := "ENABLED"
		if f.disabled {
			state = "DISABLED"
		}
		out = append(out, Info{Key: key, State: state, DefaultVariant: f.defaultVariant, Variants: f.variants})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Parse reads flag definitions in flagd's JSON format. It reports every bad
// flag at once, by name and why.
func Parse(data []byte) (*Set, error) {
	var doc struct {
		Flags map[string]struct {
			State          string                     `json:"state"`
			Variants       map[string]json.RawMessage `json:"variants"`
			DefaultVariant string                     `json:"defaultVariant"`
			Targeting      json.RawMessage            `json:"targeting"`
		} `json:"flags"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("featureflags: %w", err)
	}
	if doc.Flags == nil {
		return nil, errors.New(`featureflags: no "flags" object`)
	}
	names := make([]string, 0, len(doc.Flags))
	for name := range doc.Flags {
		names = append(names, name)
	}
	sort.Strings(names)
	s := &Set{flags: make(map[string]flag, len(doc.Flags))}
	var errs []error
	for _, name := range names {
		f := doc.Flags[name]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("featureflags: flag %q: "+format, append([]any{name}, args...)...))
		}
		if f.State != "ENABLED" && f.State != "DISABLED" {
			bad("state must be ENABLED or DISABLED")
			continue
		}
		if t := bytes.TrimSpace(f.Targeting); len(t) > 0 && !bytes.Equal(t, []byte("{}")) && !bytes.Equal(t, []byte("null")) {
			bad("targeting is not supported yet by this version")
			continue
		}
		raw, ok := f.Variants[f.DefaultVariant]
		if !ok {
			bad("defaultVariant %q is not one of its variants", f.DefaultVariant)
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			bad("variant %q: %v", f.DefaultVariant, err)
			continue
		}
		variants := make([]string, 0, len(f.Variants))
		for name := range f.Variants {
			variants = append(variants, name)
		}
		sort.Strings(variants)
		s.flags[name] = flag{disabled: f.State == "DISABLED", defaultVariant: f.DefaultVariant, value: v, variants: variants}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Bool returns the value of the boolean flag key, or def.
func (s *Set) Bool(key string, def bool) bool { return BoolDetails(s, key, def).Value }

// String returns the value of the string flag key, or def.
func (s *Set) String(key string, def string) string { return evaluate(s, key, def).Value }

// BoolDetails evaluates the boolean flag key and says why.
func BoolDetails(s *Set, key string, def bool) Details[bool] { return evaluate(s, key, def) }

// StringDetails evaluates the string flag key and says why.
func StringDetails(s *Set, key string, def string) Details[string] { return evaluate(s, key, def) }

func evaluate[T bool | string](s *Set, key string, def T) Details[T] {
	if s == nil {
		return Details[T]{Value: def, Reason: Error, ErrorCode: ProviderNotReady}
	}
	f, ok := s.flags[key]
	switch {
	case !ok:
		return Details[T]{Value: def, Reason: Error, ErrorCode: FlagNotFound}
	case f.disabled:
		return Details[T]{Value: def, Reason: Disabled}
	}
	v, ok := f.value.(T)
	if !ok {
		return Details[T]{Value: def, Reason: Error, ErrorCode: TypeMismatch}
	}
	return Details[T]{Value: v, Variant: f.defaultVariant, Reason: Static}
}
