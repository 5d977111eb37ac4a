package config

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/secrets"
)

// Field describes one configuration field: where its value comes from and
// what it is. A secret's value is [secrets.Redacted], by type.
type Field struct {
	// Path is the Go field path, e.g. "DB.Password".
	Path string `json:"path"`
	// Var is the environment variable that sets it, prefix included.
	Var string `json:"var"`
	// Type is the Go type.
	Type string `json:"type"`
	// Default is the envDefault tag ("" when none).
	Default string `json:"default,omitempty"`
	// Required reports the ",required" option.
	Required bool `json:"required,omitempty"`
	// Secret reports a secrets.Secret field.
	Secret bool `json:"secret,omitempty"`
	// Description is the `desc` tag.
	Description string `json:"description,omitempty"`
	// Source is the layer the value came from: "default",
	// "file:config/base.yaml:12:3", "env:NAME", a resolved reference
	// ("vault:kv/data/app#password (version 7)"), or "unset" (the zero
	// value). Without Options.Sources, Describe sees defaults and the
	// environment only.
	Source string `json:"source"`
	// Shadowed are the layers that set the value before Source did, in
	// order (with Options.Sources).
	Shadowed []string `json:"shadowed,omitempty"`
	// Value is the field's value as text; [secrets.Redacted] for secrets.
	// Empty when Describe is given a nil struct.
	Value string `json:"value"`

	hasDefault bool
	// full is Var with Options.Prefix, during a load.
	full string
}

// Describe lists the fields of the struct cfg points to (or holds), in
// declaration order, with the variable, default and layer of each, and
// their current value (secrets redacted by type). It reads the same
// environment as [Load] with opts. Pass a loaded struct to show the
// effective configuration (the admin /debug/config page does), or a zero
// one to document the variables a service reads.
func Describe(cfg any, opts Options) []Field {
	prefix := opts.Prefix
	if p, ok := cfg.(Prefixed); ok {
		cfg, prefix = p.Dst, prefix+p.Prefix
	}
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	env := environ.Or(opts.Environ)
	sources := opts.Sources
	fields := typeFields(v.Type())
	out := make([]Field, len(fields))
	for i, f := range fields {
		f.Var = prefix + f.Var
		switch chain := sources.Of(f.Var); {
		case sources != nil && len(chain) > 0:
			f.Source, f.Shadowed = chain[len(chain)-1], chain[:len(chain)-1]
		case sources != nil:
			f.Source = "unset"
		default:
			if _, set := env[f.Var]; set {
				f.Source = "env:" + f.Var
			} else if f.hasDefault {
				f.Source = "default"
			} else {
				f.Source = "unset"
			}
		}
		if fv := fieldByPath(v, f.Path); fv.IsValid() {
			f.Value = valueText(fv, f.Secret)
		}
		out[i] = f
	}
	return out
}

// fieldCache holds the fields of each struct type, without prefix, source
// or value: the reflection is done once per type.
var fieldCache sync.Map // reflect.Type → []Field

// typeFields lists the variables of struct type t, following caarlos0/env's
// `env` and `envPrefix` tags, in declaration order.
func typeFields(t reflect.Type) []Field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]Field)
	}
	var out []Field
	var walk func(t reflect.Type, path, prefix string)
	walk = func(t reflect.Type, path, prefix string) {
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			p := sf.Name
			if path != "" {
				p = path + "." + sf.Name
			}
			key, opts, _ := strings.Cut(sf.Tag.Get("env"), ",")
			if key == "" || key == "-" {
				ft := sf.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[secrets.Secret]() {
					walk(ft, p, prefix+sf.Tag.Get("envPrefix"))
				}
				continue
			}
			f := Field{
				Path: p, Var: prefix + key, Type: sf.Type.String(),
				Required:    strings.Contains(","+opts+",", ",required,"),
				Secret:      sf.Type == reflect.TypeFor[secrets.Secret](),
				Description: sf.Tag.Get("desc"),
			}
			def, hasDef := sf.Tag.Lookup("envDefault")
			if !f.Secret {
				f.Default = def
			} else if hasDef {
				f.Default = secrets.Redacted
			}
			f.hasDefault = hasDef
			out = append(out, f)
		}
	}
	walk(t, "", "")
	fieldCache.Store(t, out)
	return out
}

// valueText formats a field's value; secrets (and anything that is not a
// plain value) say so rather than show themselves.
func valueText(v reflect.Value, secret bool) string {
	switch {
	case secret:
		if v.Interface().(secrets.Secret).IsZero() {
			return ""
		}
		return secrets.Redacted
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return valueText(v.Elem(), false)
	}
	return fmt.Sprint(v.Interface())
}
