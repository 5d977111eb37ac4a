package logging

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/operable-go/operable/secrets"
)

var (
	secretType      = reflect.TypeFor[secrets.Secret]()
	errorType       = reflect.TypeFor[error]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	stringerType    = reflect.TypeFor[fmt.Stringer]()
	redactedTagName = "redact"
)

// anyValue masks a value passed with slog.Any. Errors are judged by their
// text. Structs, maps, slices and pointers to them are walked; when
// something inside needs masking, a masked copy built of maps and slices
// (exported fields by their JSON names) is returned instead.
func (r *redactor) anyValue(v any, known []string, depth int) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case error:
		text, ok := errorText(x)
		if !ok {
			return v, false // the output handler reports the panic
		}
		if s, c := scrub(text, known); c {
			return s, true
		}
		return v, false
	case string:
		if s, c := scrub(x, known); c {
			return s, true
		}
		return v, false
	case []byte:
		if s, c := scrub(string(x), known); c {
			return s, true
		}
		return v, false
	}
	rv := reflect.ValueOf(v)
	if !r.needsMask(rv, known, depth) {
		return v, false
	}
	return r.maskedCopy(rv, known, depth), true
}

// errorText returns err.Error(), or false when that panics (a nil pointer
// behind the interface, most often).
func errorText(err error) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return err.Error(), true
}

// trusted reports whether t renders itself (and is trusted to do so safely).
func trusted(t reflect.Type) bool {
	return t == secretType || t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || t.Implements(stringerType)
}

// needsMask reports whether anything reachable from v is sensitive: a field
// or map key with a sensitive name or a redact tag, or a string with a
// secret in it. It reads unexported fields too, because fmt's %+v (the text
// handler, the OpenTelemetry bridge) prints them.
func (r *redactor) needsMask(v reflect.Value, known []string, depth int) bool {
	if depth > maxDepth || !v.IsValid() {
		return false
	}
	if v.CanInterface() && trusted(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		_, c := scrub(v.String(), known)
		return c
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && r.needsMask(v.Elem(), known, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get(redactedTagName) == "true" || r.sensitive(fieldName(f)) || r.sensitive(f.Name) {
				if f.Type != secretType && !v.Field(i).IsZero() {
					return true
				}
				continue
			}
			if r.needsMask(v.Field(i), known, depth+1) {
				return true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String && r.sensitive(k.String()) {
				return true
			}
			if r.needsMask(iter.Value(), known, depth+1) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			_, c := scrub(string(v.Bytes()), known)
			return c
		}
		for i := range v.Len() {
			if r.needsMask(v.Index(i), known, depth+1) {
				return true
			}
		}
	}
	return false
}

// fieldName is the field's JSON name, or its Go name.
func fieldName(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
		return tag
	}
	return f.Name
}

// maskedCopy rebuilds v as maps and slices with every sensitive part masked.
func (r *redactor) maskedCopy(v reflect.Value, known []string, depth int) any {
	if depth > maxDepth || !v.IsValid() {
		return nil
	}
	if v.CanInterface() && trusted(v.Type()) {
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.String:
		s, _ := scrub(v.String(), known)
		return s
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Type().Implements(errorType) && v.CanInterface() {
			s, _ := scrub(v.Interface().(error).Error(), known)
			return s
		}
		return r.maskedCopy(v.Elem(), known, depth+1)
	case reflect.Struct:
		t := v.Type()
		out := make(map[string]any, t.NumField())
		for i := range t.NumField() {
			f := t.Field(i)
			name := fieldName(f)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			switch {
			case f.Type == secretType || f.Tag.Get(redactedTagName) == "true" || r.sensitive(name) || r.sensitive(f.Name):
				if v.Field(i).IsZero() {
					out[name] = v.Field(i).Interface() // an empty value tells nothing
				} else {
					out[name] = redacted
				}
			default:
				out[name] = r.maskedCopy(v.Field(i), known, depth+1)
			}
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if r.sensitive(k) {
				out[k] = redacted
				continue
			}
			out[k] = r.maskedCopy(iter.Value(), known, depth+1)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			s, _ := scrub(string(v.Bytes()), known)
			return s
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = r.maskedCopy(v.Index(i), known, depth+1)
		}
		return out
	}
	if v.CanInterface() {
		return v.Interface()
	}
	return nil
}
