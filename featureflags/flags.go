package featureflags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/operable-go/operable/internal/boundedread"
)

// Reason says why an evaluation gave its value, with flagd's names.
type Reason string

// The reasons, as flagd gives them. A fractional split reports
// TargetingMatch, as flagd does; Split is declared for OpenFeature and
// never given.
const (
	Static         Reason = "STATIC"          // the default variant of a flag without targeting (or an override)
	TargetingMatch Reason = "TARGETING_MATCH" // targeting chose the variant
	Default        Reason = "DEFAULT"         // targeting chose nothing: the default variant, or the caller's default when there is none
	Split          Reason = "SPLIT"           // never given: flagd reports fractional as TARGETING_MATCH
	Disabled       Reason = "DISABLED"        // the flag is disabled: the caller's default
	Error          Reason = "ERROR"           // see the ErrorCode: the caller's default
)

// ErrorCode tells what went wrong in an evaluation, with flagd's names.
type ErrorCode string

// The error codes.
const (
	FlagNotFound     ErrorCode = "FLAG_NOT_FOUND"     // no flag with the key
	TypeMismatch     ErrorCode = "TYPE_MISMATCH"      // the variant holds another type
	ParseError       ErrorCode = "PARSE_ERROR"        // the flag's targeting cannot be compiled
	General          ErrorCode = "GENERAL"            // targeting named a variant the flag does not have
	ProviderNotReady ErrorCode = "PROVIDER_NOT_READY" // no flags loaded yet (a nil *Set)
)

// EvalContext is what targeting reads: {"var": "targetingKey"} is the
// TargetingKey, any other name an attribute (dotted names reach into
// nested maps and lists: "user.name", "groups.0"). Lists ([]any, []string)
// and maps (map[string]any) are read in place, never copied; other types
// are opaque values.
type EvalContext struct {
	TargetingKey string
	Attributes   map[string]any
}

// Details is the full result of an evaluation.
type Details[T any] struct {
	Value   T
	Variant string // "" when the caller's default was returned
	Reason  Reason
	// ErrorCode is set when Reason is Error.
	ErrorCode ErrorCode
	// Metadata is the flag's metadata over the flag set's, read-only.
	Metadata map[string]any
}

// Set is an immutable set of flags, safe for concurrent use. A nil *Set has
// no flags loaded: every evaluation returns the caller's default with
// ErrorCode ProviderNotReady.
type Set struct {
	flags map[string]*flag
	now   func() int64
	rec   *recorder // evaluation metrics; nil: none
}

type flag struct {
	key            string
	disabled       bool
	defaultVariant string // "" when there is none
	variants       map[string]any
	names          []string // variant names, sorted
	targeting      node     // nil without targeting
	parseErr       error    // targeting that did not compile
	metadata       map[string]any
	source         string // "file", "env:FLAG_X", "static"
	raw            []byte // the definition, to tell changes
}

// Set returns s: a set is a source of flags that never changes, beside a
// *File (for the OpenFeature provider and the flagtest kit).
func (s *Set) Set() *Set { return s }

// Info describes one flag, for listings such as the admin /debug/flags.
type Info struct {
	Key            string         `json:"key"`
	State          string         `json:"state"` // ENABLED or DISABLED
	DefaultVariant string         `json:"defaultVariant"`
	Variants       []string       `json:"variants"`
	Targeting      bool           `json:"targeting"`
	Source         string         `json:"source"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// Flags lists the set's flags, sorted by key. A nil Set has none.
func (s *Set) Flags() []Info {
	if s == nil {
		return nil
	}
	out := make([]Info, 0, len(s.flags))
	for _, key := range sortedKeys(s.flags) {
		f := s.flags[key]
		state := "ENABLED"
		if f.disabled {
			state = "DISABLED"
		}
		out = append(out, Info{Key: key, State: state, DefaultVariant: f.defaultVariant, Variants: f.names,
			Targeting: f.targeting != nil || f.parseErr != nil, Source: f.source, Metadata: f.metadata})
	}
	return out
}

// Changed returns the keys of the flags that differ between two sets
// (added, removed or redefined), sorted.
func Changed(old, new *Set) []string {
	var out []string
	seen := map[string]bool{}
	if old != nil {
		for k, f := range old.flags {
			seen[k] = true
			if n, ok := flagOf(new, k); !ok || !bytes.Equal(n.raw, f.raw) || n.source != f.source {
				out = append(out, k)
			}
		}
	}
	if new != nil {
		for k := range new.flags {
			if !seen[k] {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out) // each key was added once
	return out
}

func flagOf(s *Set, key string) (*flag, bool) {
	if s == nil {
		return nil, false
	}
	f, ok := s.flags[key]
	return f, ok
}

// Parse reads flag definitions in flagd's format, JSON or YAML: "flags"
// with state, variants, defaultVariant, targeting (every JSONLogic
// operation, and flagd's fractional, sem_ver, starts_with and ends_with),
// metadata, and the shared "$evaluators" that targeting names with
// {"$ref": name}. It reports every bad flag at once, by name and why. A targeting rule that
// does not compile fails only its own flag, with PARSE_ERROR, as in flagd.
func Parse(data []byte) (*Set, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] != '{' {
		converted, err := yamlToJSON(data)
		if err != nil {
			return nil, err
		}
		data = converted
	}
	return parseJSON(data, "file")
}

// parseNamed is Parse, choosing YAML or JSON by the name's extension
// (.yaml, .yml, else JSON).
func parseNamed(name string, data []byte) (*Set, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		converted, err := yamlToJSON(data)
		if err != nil {
			return nil, err
		}
		data = converted
	}
	return parseJSON(data, "file")
}

// yamlToJSON converts a YAML document, refusing one whose aliases stand for
// more than boundedread.MaxAliasNodes values (a "billion laughs" document)
// before anything expands them.
func yamlToJSON(data []byte) ([]byte, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("featureflags: not valid YAML: %w", err)
	}
	if a := boundedread.CheckAliases(&node); a != nil {
		return nil, fmt.Errorf("featureflags: line %d: too much aliasing: the aliases up to here stand for more than %d values (an alias bomb?)",
			a.Line, boundedread.MaxAliasNodes)
	}
	var doc any
	if err := node.Decode(&doc); err != nil {
		return nil, fmt.Errorf("featureflags: not valid YAML: %w", err)
	}
	out, err := json.Marshal(normalizeYAML(doc))
	if err != nil {
		return nil, fmt.Errorf("featureflags: %w", err)
	}
	return out, nil
}

// normalizeYAML makes yaml.v3's values JSON-encodable.
func normalizeYAML(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			t[k] = normalizeYAML(v)
		}
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = normalizeYAML(v)
		}
		return m
	case []any:
		for i, v := range t {
			t[i] = normalizeYAML(v)
		}
	}
	return x
}

type flagDoc struct {
	State          string                     `json:"state"`
	Variants       map[string]json.RawMessage `json:"variants"`
	DefaultVariant *string                    `json:"defaultVariant"`
	Targeting      json.RawMessage            `json:"targeting"`
	Metadata       map[string]any             `json:"metadata"`
}

func parseJSON(data []byte, source string) (*Set, error) {
	var doc struct {
		Flags      map[string]json.RawMessage `json:"flags"`
		Evaluators map[string]json.RawMessage `json:"$evaluators"`
		Metadata   map[string]any             `json:"metadata"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("featureflags: %w", err)
	}
	if doc.Flags == nil {
		return nil, errors.New(`featureflags: no "flags" object`)
	}
	evaluators := map[string]any{}
	for name, raw := range doc.Evaluators {
		v, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("featureflags: $evaluators %q: %w", name, err)
		}
		evaluators[name] = v
	}
	s := &Set{flags: make(map[string]*flag, len(doc.Flags)), now: func() int64 { return time.Now().Unix() }}
	var errs []error
	for _, key := range sortedKeys(doc.Flags) {
		f, err := parseFlag(key, doc.Flags[key], evaluators, doc.Metadata)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.source = source
		s.flags[key] = f
	}
	if len(errs) > 0 {
		return nil, joinCapped(errs)
	}
	return s, nil
}

func decode(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func parseFlag(key string, raw json.RawMessage, evaluators map[string]any, setMeta map[string]any) (*flag, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("featureflags: flag %q: "+format, append([]any{key}, args...)...)
	}
	var fd flagDoc
	if err := json.Unmarshal(raw, &fd); err != nil {
		return nil, bad("%v", err)
	}
	if fd.State != "ENABLED" && fd.State != "DISABLED" {
		return nil, bad("state must be ENABLED or DISABLED")
	}
	if len(fd.Variants) == 0 {
		return nil, bad("no variants")
	}
	f := &flag{key: key, disabled: fd.State == "DISABLED", variants: map[string]any{}, raw: raw}
	kinds := map[string]bool{}
	for name, rv := range fd.Variants {
		v, err := decode(rv)
		if err != nil {
			return nil, bad("variant %q: %v", name, err)
		}
		v = typed(v)
		f.variants[name] = v
		kinds[kindName(v)] = true
	}
	if len(kinds) > 1 {
		return nil, bad("variants hold different types (%s); a flag holds one", strings.Join(sortedKeys(kinds), ", "))
	}
	f.names = sortedKeys(f.variants)
	if fd.DefaultVariant != nil && *fd.DefaultVariant != "" {
		if _, ok := f.variants[*fd.DefaultVariant]; !ok {
			return nil, bad("defaultVariant %q is not one of its variants", *fd.DefaultVariant)
		}
		f.defaultVariant = *fd.DefaultVariant
	}
	if t := bytes.TrimSpace(fd.Targeting); len(t) > 0 && !bytes.Equal(t, []byte("{}")) && !bytes.Equal(t, []byte("null")) {
		v, err := decode(t)
		if err == nil {
			f.targeting, err = compile(v, evaluators, 0)
		}
		if err != nil {
			f.parseErr = err
		}
	}
	if len(setMeta) > 0 || len(fd.Metadata) > 0 {
		f.metadata = make(map[string]any, len(setMeta)+len(fd.Metadata))
		for k, v := range setMeta {
			f.metadata[k] = v
		}
		for k, v := range fd.Metadata {
			f.metadata[k] = v
		}
	}
	return f, nil
}

// typed turns decoded numbers into int64 when whole, float64 otherwise.
func typed(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

func kindName(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, float64:
		return "number"
	}
	return "object"
}

// resolve runs the flag's targeting and picks the variant: the variant
// name ("" for the caller's default), the reason and the error code.
func (s *Set) resolve(key string, ec EvalContext) (f *flag, variant string, reason Reason, code ErrorCode) {
	if s == nil {
		return nil, "", Error, ProviderNotReady
	}
	f, ok := s.flags[key]
	switch {
	case !ok:
		return nil, "", Error, FlagNotFound
	case f.disabled:
		return f, "", Disabled, ""
	case f.parseErr != nil:
		return f, "", Error, ParseError
	case f.targeting == nil:
		if f.defaultVariant == "" {
			return f, "", Default, ""
		}
		return f, f.defaultVariant, Static, ""
	}
	e := envs.Get().(*env)
	*e = env{ctx: ec, flagKey: key, now: s.now, left: maxSteps}
	result := f.targeting.eval(e)
	if e.left < 0 {
		result = null // over budget: no match
	}
	*e = env{}
	envs.Put(e)
	name, matched := variantName(result)
	if !matched {
		return f, f.defaultVariant, Default, ""
	}
	if _, ok := f.variants[name]; !ok {
		return f, "", Error, General
	}
	return f, name, TargetingMatch, ""
}

// envs are reused: an env handed to the nodes' interface methods would
// escape to the heap at every evaluation.
var envs = sync.Pool{New: func() any { return new(env) }}

// evaluate resolves key and converts its variant's value with conv.
func evaluate[T any](s *Set, key string, def T, ec EvalContext, conv func(any) (T, bool)) Details[T] {
	var start time.Time
	if s != nil && s.rec != nil {
		start = time.Now()
	}
	f, variant, reason, code := s.resolve(key, ec)
	d := Details[T]{Value: def, Reason: reason, ErrorCode: code}
	if f != nil {
		d.Metadata = f.metadata
	}
	if variant != "" {
		if v, ok := conv(f.variants[variant]); ok {
			d.Value, d.Variant = v, variant
		} else {
			d.Reason, d.ErrorCode = Error, TypeMismatch
		}
	}
	if s != nil && s.rec != nil {
		s.rec.record(f, d.Variant, d.Reason, time.Since(start))
	}
	return d
}

func asBool(v any) (bool, bool)     { b, ok := v.(bool); return b, ok }
func asString(v any) (string, bool) { s, ok := v.(string); return s, ok }
func asInt(v any) (int64, bool)     { i, ok := v.(int64); return i, ok }

func asFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case int64:
		return float64(t), true
	}
	return 0, false
}

// Bool returns the value of the boolean flag key for ec, or def.
func (s *Set) Bool(key string, def bool, ec EvalContext) bool {
	return evaluate(s, key, def, ec, asBool).Value
}

// String returns the value of the string flag key for ec, or def.
func (s *Set) String(key string, def string, ec EvalContext) string {
	return evaluate(s, key, def, ec, asString).Value
}

// Int returns the value of the integer flag key for ec, or def. A variant
// with a fractional part is a type mismatch.
func (s *Set) Int(key string, def int64, ec EvalContext) int64 {
	return evaluate(s, key, def, ec, asInt).Value
}

// Float returns the value of the numeric flag key for ec, or def.
func (s *Set) Float(key string, def float64, ec EvalContext) float64 {
	return evaluate(s, key, def, ec, asFloat).Value
}

// BoolDetails evaluates the boolean flag key and says why.
func (s *Set) BoolDetails(key string, def bool, ec EvalContext) Details[bool] {
	return evaluate(s, key, def, ec, asBool)
}

// StringDetails evaluates the string flag key and says why.
func (s *Set) StringDetails(key string, def string, ec EvalContext) Details[string] {
	return evaluate(s, key, def, ec, asString)
}

// IntDetails evaluates the integer flag key and says why.
func (s *Set) IntDetails(key string, def int64, ec EvalContext) Details[int64] {
	return evaluate(s, key, def, ec, asInt)
}

// FloatDetails evaluates the numeric flag key and says why.
func (s *Set) FloatDetails(key string, def float64, ec EvalContext) Details[float64] {
	return evaluate(s, key, def, ec, asFloat)
}

// Object evaluates the object flag key and decodes its variant into a T
// (as encoding/json would), or returns def.
func Object[T any](s *Set, key string, def T, ec EvalContext) T {
	return ObjectDetails(s, key, def, ec).Value
}

// ObjectDetails is Object, saying why. A variant that does not decode into
// T is a type mismatch.
func ObjectDetails[T any](s *Set, key string, def T, ec EvalContext) Details[T] {
	return evaluate(s, key, def, ec, func(v any) (T, bool) {
		switch v.(type) {
		case map[string]any, []any:
		default:
			var zero T
			return zero, false
		}
		b, err := json.Marshal(v)
		if err != nil {
			var zero T
			return zero, false
		}
		var out T
		if err := json.Unmarshal(b, &out); err != nil {
			var zero T
			return zero, false
		}
		return out, true
	})
}

// EnvVar returns the variable that overrides flag key: FLAG_ and the key
// in upper case, every character other than a letter or digit as "_"
// ("new-greeting" → FLAG_NEW_GREETING).
func EnvVar(key string) string {
	var b strings.Builder
	b.WriteString("FLAG_")
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// WithOverrides returns a copy of s in which every flag whose variable
// (see [EnvVar]) is set in env evaluates to the variant it names, for
// local runs and tests: enabled, without targeting, reason Static, source
// "env:FLAG_...". A variable naming a variant the flag does not have is an
// error that names both.
func (s *Set) WithOverrides(env map[string]string) (*Set, error) {
	if s == nil {
		return nil, nil
	}
	out := &Set{flags: make(map[string]*flag, len(s.flags)), now: s.now, rec: s.rec}
	var errs []error
	for _, key := range sortedKeys(s.flags) {
		f := s.flags[key]
		out.flags[key] = f
		name := EnvVar(key)
		variant, ok := env[name]
		if !ok {
			continue
		}
		if _, ok := f.variants[variant]; !ok {
			// The value is not quoted: what an operator sets is never echoed.
			errs = append(errs, fmt.Errorf("featureflags: %s: flag %q has no such variant (it has %s)", name, key, strings.Join(f.names, ", ")))
			continue
		}
		o := *f
		o.disabled, o.targeting, o.parseErr, o.defaultVariant = false, nil, nil, variant
		o.source = "env:" + name
		out.flags[key] = &o
	}
	if len(errs) > 0 {
		return nil, joinCapped(errs)
	}
	return out, nil
}

// MaxErrors is how many problems an error of a flag file or of the
// overrides lists; the rest are one "and N more" line.
const MaxErrors = 100

// joinCapped joins the first MaxErrors of errs, in order, and says how
// many more there were.
func joinCapped(errs []error) error {
	if len(errs) <= MaxErrors {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:MaxErrors:MaxErrors], fmt.Errorf("featureflags: and %d more problems", len(errs)-MaxErrors))...)
}
