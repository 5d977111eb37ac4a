package logging

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/url"
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
func (r *redactor) anyValue(v any, known *knownSet, depth int) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case error:
		text, ok := errorText(x)
		if !ok {
			return v, false // the output handler reports the panic
		}
		if s, c := r.scrub(text, known); c {
			return s, true
		}
		return v, false
	case string:
		if s, c := r.scrub(x, known); c {
			return s, true
		}
		return v, false
	case []byte:
		if s, c := r.scrub(string(x), known); c {
			return s, true
		}
		return v, false
	case *url.URL:
		// As its text, masked: encoding/json would write the struct and
		// fmt its String, both with every parameter and the password.
		if x == nil {
			return v, false
		}
		s, _ := r.scrub(x.String(), known)
		return s, true
	case url.URL:
		s, _ := r.scrub(x.String(), known)
		return s, true
	}
	rv := reflect.ValueOf(v)
	if !r.needsMask(rv, known, depth) {
		return v, false
	}
	return r.maskedCopy(rv, known, depth), true
}

var (
	urlType     = reflect.TypeFor[url.URL]()
	stringsType = reflect.TypeFor[[]string]()
)

// isHeaderMap reports whether t is shaped as headers are: http.Header,
// url.Values, any map[string][]string. Their keys are judged as header
// names (see sensitiveHeader).
func isHeaderMap(t reflect.Type) bool {
	return t.Key().Kind() == reflect.String && t.Elem() == stringsType
}

// sensitiveKey is sensitive, or sensitiveHeader for the key of a header map.
func (r *redactor) sensitiveKey(key string, header bool) bool {
	if header {
		return r.sensitiveHeader(key)
	}
	return r.sensitive(key)
}

// asURL returns the text of a url.URL or a non-nil *url.URL (which
// renders itself as a Stringer, with every parameter and the password).
func asURL(v reflect.Value) (string, bool) {
	switch {
	case v.Type() == urlType && v.CanInterface():
		u := v.Interface().(url.URL)
		return u.String(), true
	case v.Kind() == reflect.Pointer && v.Type().Elem() == urlType && !v.IsNil() && v.CanInterface():
		return v.Interface().(*url.URL).String(), true
	}
	return "", false
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
func (r *redactor) needsMask(v reflect.Value, known *knownSet, depth int) bool {
	if depth > maxDepth || !v.IsValid() {
		return false
	}
	if u, ok := asURL(v); ok {
		_, c := r.scrub(u, known)
		return c
	}
	if v.CanInterface() && trusted(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		_, c := r.scrub(v.String(), known)
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
		header := isHeaderMap(v.Type())
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String && r.sensitiveKey(k.String(), header) {
				return true
			}
			if r.needsMask(iter.Value(), known, depth+1) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			_, c := r.scrub(string(v.Bytes()), known)
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
func (r *redactor) maskedCopy(v reflect.Value, known *knownSet, depth int) any {
	if depth > maxDepth || !v.IsValid() {
		return nil
	}
	if u, ok := asURL(v); ok {
		s, _ := r.scrub(u, known)
		return s
	}
	if v.CanInterface() && trusted(v.Type()) {
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.String:
		s, _ := r.scrub(v.String(), known)
		return s
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Type().Implements(errorType) && v.CanInterface() {
			s, _ := r.scrub(v.Interface().(error).Error(), known)
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
		header := isHeaderMap(v.Type())
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if r.sensitiveKey(k, header) {
				out[k] = redacted
				continue
			}
			out[k] = r.maskedCopy(iter.Value(), known, depth+1)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			s, _ := r.scrub(string(v.Bytes()), known)
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
