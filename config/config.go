package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/operable-go/operable/secrets"
)

// Options tell [Load] where to read from. The zero value reads
// config/base.yaml (or .json), config/local.yaml (or .json) when they exist,
// then the process environment with no prefix, and resolves env: and file:
// references.
type Options struct {
	// Prefix is put before every variable name, e.g. "APP_". Keys in files
	// are written without it ("db: {url: x}" sets APP_DB_URL). Default: none.
	Prefix string

	// DetectTypos, without a Prefix, records every variable of the
	// environment a typo away from a known one (SHUTDOWN_TIMOUT), in
	// [Sources.Typos]; with a Prefix, every unknown prefixed variable is a
	// problem anyway. Default: false.
	DetectTypos bool

	// Environ holds the variables to read instead of the process environment
	// (for tests). Default: nil, which means os.Environ.
	Environ map[string]string

	// Dir is the directory of the configuration files; a missing one holds
	// no files. Default: DefaultDir, "config".
	Dir string

	// Files are the files read from Dir, in order, later wins; "{env}" is
	// replaced by the environment. A missing file is skipped (unless
	// Previous read it); one that is there but cannot be read (a dangling
	// symbolic link, a directory, no permission, larger than MaxFileSize)
	// or is malformed is a problem naming the file and why. Default: [DefaultFiles]. An empty, non-nil slice
	// reads no file.
	Files []string

	// Environment picks the "{env}" files and the policies: in staging and
	// production a secret must come from the secret manager or a mounted
	// file. Default: the ENVIRONMENT variable, else "local".
	Environment string

	// Resolver resolves the references a secret field may hold in any
	// layer ("vault:kv/data/app#password", "file:/var/run/secrets/db",
	// "env:DB_PASSWORD"). Default: env: and file: (secrets.Env over Environ,
	// secrets.Files); a "vault" entry adds Vault.
	Resolver secrets.Resolver

	// Sources, for [Describe], is what [LoadAll] recorded: the layer of
	// every value and the ones it shadowed. Default: nil, Describe looks at
	// the environment only.
	Sources *Sources

	// Previous, for a reload, is what the last good [LoadAll] returned:
	// every file it read must still be there, or the load fails with a
	// problem naming the file, so that deleting config/base.yaml from a
	// running service keeps its configuration instead of falling back to
	// the defaults. [Watcher] sets it itself. Default: nil, a missing file
	// is skipped.
	Previous *Sources

	// MaxFileSize is the size limit of each configuration file, in bytes:
	// LoadAll reads at most one byte more, and a larger file is a problem
	// naming the file and the limit. Default: 1 MiB (1048576).
	MaxFileSize int64
}

// Load returns a T filled from every layer, as [LoadAll] fills one struct:
// its `envDefault` tags, the configuration files, the environment and the
// secret references. T must be a struct type. See [LoadAll] for the errors.
func Load[T any](opts Options) (T, error) {
	var dst T
	err := LoadInto(&dst, opts)
	return dst, err
}

// LoadInto fills the struct dst points to, as [LoadAll] does for several.
func LoadInto(dst any, opts Options) error {
	_, err := LoadAll(context.Background(), opts, dst)
	return err
}

// validateNested calls the Validate method of every nested config struct
// (a struct field without an env tag, which caarlos0/env fills field by
// field), at any depth, and names each problem by its full field path and
// variable; locate adds where each rejected value was written.
func validateNested(v reflect.Value, path, prefix string, problems []Problem, locate func([]Problem) []Problem) []Problem {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if key, _, _ := strings.Cut(sf.Tag.Get("env"), ","); !sf.IsExported() || key != "" {
			continue
		}
		fv := v.Field(i)
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		if fv.Kind() != reflect.Struct || fv.Type() == reflect.TypeFor[secrets.Secret]() || !fv.CanAddr() {
			continue
		}
		p, pre := sf.Name, prefix+sf.Tag.Get("envPrefix")
		if path != "" {
			p = path + "." + sf.Name
		}
		problems = validateNested(fv, p, pre, problems, locate)
		val, ok := fv.Addr().Interface().(interface{ Validate() error })
		if !ok {
			continue
		}
		found := flattenErr(val.Validate())
		for j := range found {
			pr := &found[j]
			if pr.Field != "" && pr.Var == "" {
				if f, ok := fv.Type().FieldByName(pr.Field); ok {
					pr.Var, _, _ = strings.Cut(f.Tag.Get("env"), ",")
				}
			}
			if pr.Var != "" {
				pr.Var = pre + pr.Var
			}
			if pr.Field != "" {
				pr.Field = p + "." + pr.Field
			} else {
				pr.Field = p
			}
		}
		problems = appendValidation(problems, locate(found))
	}
	return problems
}

// appendValidation adds the problems a Validate method reported. A field that
// already failed to parse is not reported again: its zero value would only
// fail validation for the same reason.
func appendValidation(problems, found []Problem) []Problem {
	if len(found) == 0 {
		return problems
	}
	seen := map[string]bool{}
	for _, p := range problems {
		seen[p.Field] = p.Field != ""
		seen[p.Var] = p.Var != ""
	}
	for _, p := range found {
		if seen[p.Field] || seen[p.Var] {
			continue
		}
		problems = append(problems, p)
	}
	return problems
}

// fieldError is an error of a Validate method that names the field it
// rejects without importing this package (breaker.SettingError does):
// the field's name in the struct that Validate was called on, and why.
type fieldError interface {
	error
	ConfigField() string
	ConfigReason() string
}

// flattenErr is flatten for a possibly nil error.
func flattenErr(err error) []Problem {
	if err == nil {
		return nil
	}
	return flatten(err)
}

// flatten turns an error returned by Validate into Problems: a *Problem or
// *Error keeps its fields, errors.Join is taken apart, a fieldError names
// its field, and any other error becomes a Problem with its text as the
// reason.
func flatten(err error) []Problem {
	// "pkg: %w" around errors.Join: the joined errors are the problems.
	if u := errors.Unwrap(err); u != nil {
		if _, joined := u.(interface{ Unwrap() []error }); joined {
			return flatten(u)
		}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []Problem
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var (
		p  *Problem
		e  *Error
		fe fieldError
	)
	switch {
	case errors.As(err, &e):
		return e.Problems
	case errors.As(err, &p):
		return []Problem{*p}
	case errors.As(err, &fe):
		return []Problem{{Field: fe.ConfigField(), Reason: fe.ConfigReason()}}
	}
	return []Problem{{Reason: err.Error()}}
}

// Error is the error [Load] returns for bad input: the problems found,
// sorted by file, then line and column (as numbers), then variable. At
// most [MaxProblems] are listed; when there were more, the last entry of
// Problems is "and N more problems" (a Problem with only a Reason) and
// More is N.
type Error struct {
	Problems []Problem
	// More is how many problems were found beyond those listed.
	More int
}

// Problem is one rejected input. It never holds the rejected value. A
// Validate method may return a *Problem, or several joined with errors.Join,
// to name the field and variable it rejects.
type Problem struct {
	// Field is the Go field path, e.g. "Shutdown.Timeout".
	Field string
	// Var is the environment variable the value came from (or would have).
	Var string
	// Source is where the rejected value was written, "file:line:column"
	// for a value from a file. Empty for the environment.
	Source string
	// Reason says why the input was rejected.
	Reason string
}

func (p *Problem) Error() string { return p.String() }

// problemKey orders problems: by file, then line and column as numbers
// (line 100000 before line 1000000), then variable and field. Problems of
// the environment, with no file, come first.
type problemKey struct {
	file            string
	line, col       int
	variable, field string
}

func (p Problem) key() problemKey {
	k := problemKey{file: p.Source, variable: p.Var, field: p.Field}
	// "file:line:col" or "file:line"; a path may hold ":" itself.
	rest, last, ok := cutLastNumber(p.Source)
	if !ok {
		return k
	}
	if file, line, ok := cutLastNumber(rest); ok {
		k.file, k.line, k.col = file, line, last
	} else {
		k.file, k.line = rest, last
	}
	return k
}

// cutLastNumber splits "a:12" into "a" and 12.
func cutLastNumber(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return s, 0, false
	}
	return s[:i], n, true
}

func (a problemKey) less(b problemKey) bool {
	switch {
	case a.file != b.file:
		return a.file < b.file
	case a.line != b.line:
		return a.line < b.line
	case a.col != b.col:
		return a.col < b.col
	case a.variable != b.variable:
		return a.variable < b.variable
	}
	return a.field < b.field
}

// String formats the problem as "file:line:col: VAR (field Path): reason",
// with the parts it has.
func (p Problem) String() string {
	if p.Source != "" {
		q := p
		q.Source = ""
		if rest := q.String(); rest != "" {
			return p.Source + ": " + rest
		}
		return p.Source
	}
	switch {
	case p.Var != "" && p.Field != "":
		return fmt.Sprintf("%s (field %s): %s", p.Var, p.Field, p.Reason)
	case p.Var != "":
		return p.Var + ": " + p.Reason
	case p.Field != "":
		return "field " + p.Field + ": " + p.Reason
	default:
		return p.Reason
	}
}

func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if e.More > 0 {
		n += e.More - 1 // the "and N more" entry stands for them
	}
	fmt.Fprintf(&b, "config: %d problem%s", n, plural(n))
	for _, p := range e.Problems {
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// parseProblems turns caarlos0/env's errors into Problems. Its parse errors
// repeat the raw value (strconv and time errors quote their input), so only
// the error's kind is kept. They name the Go field only: when nested
// structs share the name, the field is the one whose variable is set in
// vars.
func parseProblems(t reflect.Type, prefix string, err error, vars map[string]string) []Problem {
	var errs []error
	var agg env.AggregateError
	if errors.As(err, &agg) {
		errs = agg.Errors
	} else {
		errs = []error{err}
	}
	fields := fieldVars(t, prefix)
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		out = append(out, problemOf(e, fields, vars))
	}
	return out
}

func problemOf(err error, fields map[string][]field, vars map[string]string) Problem {
	var (
		parse    env.ParseError
		notSet   env.VarIsNotSetError
		empty    env.EmptyVarError
		noParser env.NoParserError
		file     env.LoadFileContentError
	)
	switch {
	case errors.As(err, &parse):
		p := Problem{Reason: "not a valid " + parse.Type.String() + sanitizedCause(parse.Err) + wantForm(parse.Type)}
		fs := fields[parse.Name]
		if len(fs) > 1 {
			var set []field
			for _, f := range fs {
				if _, ok := vars[f.key]; ok {
					set = append(set, f)
				}
			}
			fs = set
		}
		if len(fs) == 1 {
			p.Field, p.Var = fs[0].path, fs[0].key
		} else {
			p.Field = parse.Name
		}
		return p
	case errors.As(err, &notSet):
		return Problem{Var: notSet.Key, Reason: "required but not set"}
	case errors.As(err, &empty):
		return Problem{Var: empty.Key, Reason: "must not be empty"}
	case errors.As(err, &noParser):
		return Problem{Field: noParser.Name, Reason: "no parser for type " + noParser.Type.String()}
	case errors.As(err, &file):
		return Problem{Var: file.Key, Reason: "cannot read file " + strconv.Quote(file.Filename)}
	default:
		// Errors with no value in them (unsupported tag options, a
		// non-struct type) are programmer errors; keep their text.
		return Problem{Reason: err.Error()}
	}
}

// sanitizedCause keeps the part of a parse error that carries no input.
func sanitizedCause(err error) string {
	var num *strconv.NumError
	if errors.As(err, &num) {
		return ": " + num.Err.Error()
	}
	return ""
}

// wantForm says what a value of type t looks like, with an example:
// " (want a duration such as 30s or 1m30s)".
func wantForm(t reflect.Type) string {
	if w := form(t); w != "" {
		return " (want " + w + ")"
	}
	return ""
}

func form(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "a duration such as 30s or 1m30s"
	case reflect.TypeFor[time.Location]():
		return "a time zone such as UTC or Europe/Paris"
	case reflect.TypeFor[url.URL]():
		return "a URL such as https://example.com/path"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return form(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t.Bits() < 64 {
			return fmt.Sprintf("a whole number such as 42 or -1, from -%d to %d", uint64(1)<<(t.Bits()-1), uint64(1)<<(t.Bits()-1)-1)
		}
		return "a whole number such as 42 or -1"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.Bits() < 64 {
			return fmt.Sprintf("a whole number such as 0 or 42, up to %d", ^uint64(0)>>(64-t.Bits()))
		}
		return "a whole number such as 0 or 42"
	case reflect.Float32, reflect.Float64:
		return "a number such as 0.5, 2 or 1e-3"
	case reflect.Bool:
		return "true or false (or 1, 0, t, f)"
	case reflect.Slice:
		if w := form(t.Elem()); w != "" {
			return "a comma-separated list, each " + w
		}
	case reflect.Map:
		return "comma-separated key:value pairs such as a:1,b:2"
	}
	return ""
}

type field struct{ path, key string }

// fieldVars maps each Go field name in t to its path and variable name,
// following caarlos0/env's `env` and `envPrefix` tags (as Describe reads
// them). A name can map to more than one field when nested structs reuse it.
func fieldVars(t reflect.Type, prefix string) map[string][]field {
	m := map[string][]field{}
	for _, f := range typeFields(t) {
		name := f.Path[strings.LastIndexByte(f.Path, '.')+1:]
		m[name] = append(m[name], field{path: f.Path, key: prefix + f.Var})
	}
	return m
}

// Secrets returns every non-empty secrets.Secret field of the struct cfg
// points to (or holds), at any depth, so that the logger can mask their
// values wherever they appear.
func Secrets(cfg any) []secrets.Secret {
	var out []secrets.Secret
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 10 || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), depth+1)
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[secrets.Secret]() {
				if s := v.Interface().(secrets.Secret); !s.IsZero() {
					out = append(out, s)
				}
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(cfg), 0)
	return out
}
