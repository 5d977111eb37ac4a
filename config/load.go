package config

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"

	"github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/secrets"
)

// Sources is where each loaded value came from: for every variable, the
// layers that set it, in order, the last one the effective value
// ("default", "file:config/base.yaml:12:3", "env:APP_PORT",
// "vault:kv/data/app#password (version 7)"). Give it to [Describe] through
// Options.Sources.
type Sources struct {
	byVar map[string][]string
	// free are slots for byVar's lists, handed out three at a time (a
	// default, a file, the environment: most variables need no more), so
	// that a load does not allocate a list per variable.
	free []string
	// files are the configuration files the load found, as joined paths:
	// a later load given these Sources as Options.Previous needs them all.
	files []string
	// typos are the variables that look like misspelt names, with
	// Options.DetectTypos.
	typos []Problem
}

// Typos returns the variables of the environment that name no field but are
// a typo away from one (with Options.DetectTypos and no Prefix): each a
// Problem saying which name was likely meant. The caller decides whether
// they warn or fail.
func (s *Sources) Typos() []Problem {
	if s == nil {
		return nil
	}
	return s.typos
}

// Of returns the layers that set the variable (prefix included), in
// order; nil when none did.
func (s *Sources) Of(variable string) []string {
	if s == nil {
		return nil
	}
	return slices.Clip(s.byVar[variable])
}

func (s *Sources) add(variable, origin string) {
	o := s.byVar[variable]
	if o == nil && len(s.free) >= 3 {
		o, s.free = s.free[:0:3], s.free[3:]
	}
	s.byVar[variable] = append(o, origin)
}

// effective returns the last layer that set the variable, or "".
func (s *Sources) effective(variable string) string {
	o := s.byVar[variable]
	if len(o) == 0 {
		return ""
	}
	return o[len(o)-1]
}

// Environments with the secret policy: a secret must come from the secret
// manager or a mounted file.
var strictEnvironments = map[string]bool{"staging": true, "production": true}

// LoadAll fills the structs dsts point to from the same layers, later
// wins:
//
//  1. struct defaults (`envDefault` tags);
//  2. the files of Options.Files in Options.Dir (YAML or JSON), whose
//     keys bind relaxed to the variable names without the prefix: a nested
//     mapping joins its keys with "_", a key is upper-cased and "-" read as
//     "_", so "shutdown: {timeout: 30s}", "shutdown_timeout: 30s",
//     "shutdown-timeout: 30s" and "SHUTDOWN_TIMEOUT: 30s" all set
//     SHUTDOWN_TIMEOUT; a sequence fills a slice field (as "a,b"), a
//     mapping under a map field fills the map, its keys as written;
//  3. the environment variables (`env` tags, with Options.Prefix);
//  4. for secrets.Secret fields, a reference in any layer
//     ("vault:kv/data/app#password", "file:/var/run/secrets/db",
//     "env:NAME") resolved through Options.Resolver.
//
// Then it calls the Validate methods of the structs and of their nested
// structs. In staging and production a secret must come from a vault: or
// file: reference. Keys in files that name no field, and variables with
// the prefix that name no field, are problems, with the closest valid name
// (for a key, in the form it was written: "shutdown.timout (did you mean
// shutdown.timeout?)"); a mapping that matches no field is one problem, not
// one per key in it. A file that sets a variable twice, in one spelling or
// two, is a problem naming both lines.
//
// On bad input LoadAll returns a *[Error] that lists every problem at once,
// each with the file, line and column or the variable, the field, and why,
// never the value: a syntax error gives the parser's reason with whatever
// it quotes of the input left out (YAML errors have a line but no column),
// a value that does not parse the form wanted ("want a duration such as
// 30s or 1m30s"), and a problem a Validate method reports, at any depth,
// about a value from a file, the file, line and column. A file over
// Options.MaxFileSize, a YAML alias bomb, a file that is there but cannot be
// read, and a file of Options.Previous now missing are problems naming the
// file (see [Options]). The problems are sorted by file, line and column as
// numbers, at most [MaxProblems] of them listed. It returns, in any case, where each value came from.
// ctx bounds the resolution of references.
func LoadAll(ctx context.Context, opts Options, dsts ...any) (*Sources, error) {
	ds := make([]dest, 0, len(dsts))
	for _, dst := range dsts {
		d := dest{ptr: dst}
		if p, ok := dst.(Prefixed); ok {
			if err := checkPrefix(p.Prefix); err != nil {
				return nil, err
			}
			d = dest{ptr: p.Dst, prefix: p.Prefix}
		}
		t := reflect.TypeOf(d.ptr)
		if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("config: LoadAll needs pointers to structs, got %T", d.ptr)
		}
		ds = append(ds, d)
	}
	l := loader{opts: opts, env: environ.Or(opts.Environ)}
	n, size := 0, 0
	for _, d := range ds {
		for _, f := range typeFields(reflect.TypeOf(d.ptr).Elem()) {
			n++
			size += len(opts.Prefix) + len(d.prefix) + len(f.Var)
		}
	}
	l.src = &Sources{byVar: make(map[string][]string, n), free: make([]string, 3*n)}
	// The fields in one slice, the map pointing into it: a Field is too
	// large for a map to hold in place, so a map of values would allocate
	// each one.
	fields := make([]Field, 0, n)
	l.known = make(map[string]*Field, n)
	// Every variable's full name (Options.Prefix included) is cut from one
	// string, so that a load does not build a name per variable.
	var b strings.Builder
	b.Grow(size)
	for _, d := range ds {
		for _, f := range typeFields(reflect.TypeOf(d.ptr).Elem()) {
			b.WriteString(opts.Prefix)
			b.WriteString(d.prefix)
			b.WriteString(f.Var)
		}
	}
	all, off := b.String(), 0
	for _, d := range ds {
		for _, f := range typeFields(reflect.TypeOf(d.ptr).Elem()) {
			end := off + len(opts.Prefix) + len(d.prefix) + len(f.Var)
			f.full, f.Var = all[off:end], all[off+len(opts.Prefix):end]
			off = end
			fields = append(fields, f)
			l.known[f.Var] = &fields[len(fields)-1]
		}
		if d.prefix != "" {
			l.prefixes = append(l.prefixes, d.prefix)
		}
	}
	l.environment = opts.Environment
	if l.environment == "" {
		l.environment = l.env["ENVIRONMENT"]
	}
	if l.environment == "" {
		l.environment = "local"
	}
	l.readFiles()
	l.readEnv()
	merged := l.merged()
	for _, d := range ds {
		prefix := opts.Prefix + d.prefix
		err := env.ParseWithOptions(d.ptr, env.Options{
			Environment: merged,
			Prefix:      prefix,
			FuncMap: map[reflect.Type]env.ParserFunc{
				reflect.TypeFor[secrets.Secret](): func(v string) (any, error) { return secrets.New(v), nil },
			},
		})
		if err != nil {
			for _, p := range parseProblems(reflect.TypeOf(d.ptr).Elem(), prefix, err, merged) {
				l.problems = append(l.problems, l.locate(p))
			}
		}
	}
	resolver := l.resolver()
	for _, d := range ds {
		l.resolveSecrets(ctx, resolver, reflect.ValueOf(d.ptr).Elem(), opts.Prefix+d.prefix)
	}
	for _, d := range ds {
		if v, ok := d.ptr.(interface{ Validate() error }); ok {
			l.problems = appendValidation(l.problems, l.locateAll(flattenErr(v.Validate())))
		}
		l.problems = validateNested(reflect.ValueOf(d.ptr).Elem(), "", opts.Prefix+d.prefix, l.problems, l.locateAll)
	}
	if len(l.problems) > 0 {
		return l.src, l.finish()
	}
	return l.src, nil
}

// Prefixed is a destination of [LoadAll] with a prefix of its own, put
// after Options.Prefix: with Prefix "ORDERS_", a field tagged
// `env:"MAX_WORK"` is read from ORDERS_MAX_WORK, and in files from
// "orders: {max_work: 5}" (or any relaxed spelling of ORDERS_MAX_WORK), as
// Spring Boot binds a prefixed properties class. Every variable with the
// prefix that names no field of any destination is a problem ("unknown
// variable ORDERS_MAX_WROK (did you mean ORDERS_MAX_WORK?)"). The prefix is
// upper-case letters, digits and "_", and ends with "_".
type Prefixed struct {
	// Prefix is put before the variable names of Dst's fields.
	Prefix string
	// Dst points to the struct to fill.
	Dst any
}

// dest is one destination of LoadAll with its own prefix.
type dest struct {
	ptr    any
	prefix string
}

// checkPrefix accepts a prefix of upper-case letters, digits and "_"
// that starts with a letter and ends with "_".
func checkPrefix(p string) error {
	ok := len(p) >= 2 && p[0] >= 'A' && p[0] <= 'Z' && p[len(p)-1] == '_'
	for i := 0; ok && i < len(p); i++ {
		c := p[i]
		ok = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return fmt.Errorf("config: prefix %q: want upper-case letters, digits and _, starting with a letter and ending with _ (such as ORDERS_)", p)
	}
	return nil
}

// MaxProblems is how many problems an [Error] lists; the rest are one
// "and N more problems" entry.
const MaxProblems = 100

// finish sorts the problems (by file, then line and column as numbers),
// keeps the first MaxProblems, and only then works out their suggestions.
func (l *loader) finish() *Error {
	order := make([]int, len(l.problems))
	keys := make([]problemKey, len(l.problems))
	for i := range order {
		order[i] = i
		keys[i] = l.problems[i].key()
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]].less(keys[order[b]]) })
	n := min(len(order), MaxProblems)
	out := make([]Problem, 0, n+1)
	for _, i := range order[:n] {
		p := l.problems[i]
		if hint := l.hints[i]; hint != nil {
			p.Reason += hint()
		}
		out = append(out, p)
	}
	e := &Error{Problems: out}
	if more := len(order) - n; more > 0 {
		e.More = more
		e.Problems = append(e.Problems, Problem{Reason: fmt.Sprintf("and %d more problem%s", more, plural(more))})
	}
	return e
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// loader is one LoadAll.
type loader struct {
	opts        Options
	env         map[string]string
	environment string
	known       map[string]*Field // by variable name without Options.Prefix
	// prefixes are the destinations' own prefixes (Prefixed).
	prefixes []string
	src      *Sources
	problems []Problem
	// hints complete the reasons of problems, by index, once they are
	// sorted and only for those listed: a file of unknown keys asks for
	// a suggestion only MaxProblems times.
	hints map[int]func() string
	// values are the file and environment values of the known variables,
	// by name without the prefix: the last one wins.
	values map[string]fileValue
}

// readFiles reads the file layers.
func (l *loader) readFiles() {
	l.values = make(map[string]fileValue, len(l.known))
	for _, f := range l.known {
		if f.hasDefault {
			l.src.add(f.full, "default")
		}
	}
	files := l.opts.Files
	if files == nil {
		files = defaultFiles
	}
	dir := l.opts.Dir
	if dir == "" {
		dir = DefaultDir
	}
	for _, name := range files {
		path := filepath.Join(dir, strings.ReplaceAll(name, "{env}", l.environment))
		f, problems, present := readFile(path, l.opts.MaxFileSize)
		l.problems = append(l.problems, problems...)
		if present {
			l.src.files = append(l.src.files, path)
		} else if l.opts.Previous != nil && slices.Contains(l.opts.Previous.files, path) {
			l.problems = append(l.problems, Problem{Source: path, Reason: "missing, but the last good load read it: " +
				"a deleted file is not a return to the defaults (put it back, or restart without it)"})
		}
		if f == nil {
			continue
		}
		l.checkKeys(f)
		for name, fld := range l.known {
			v, ok := f.values[name]
			if !ok && strings.HasPrefix(fld.Type, "map[") {
				v, ok = f.mapValue(name)
			}
			if ok {
				l.values[name] = v
				l.src.add(fld.full, v.origin)
			}
		}
	}
}

// checkKeys reports the keys of f that name no field, once for a whole
// mapping that matches none, with the closest valid key in the file's own
// form, and the settings f writes twice.
func (l *loader) checkKeys(f *parsedFile) {
	var unknown []bool // by key index, allocated on the first unknown key
	for i, k := range f.keys {
		if _, ok := l.known[k.name]; ok {
			continue
		}
		if k.parent >= 0 && unknown != nil && unknown[k.parent] {
			unknown[i] = true // inside a mapping already reported
			continue
		}
		if f.containers[k.name] && l.isGroup(k.name) {
			continue
		}
		if l.insideMap(k.name) {
			continue
		}
		if unknown == nil {
			unknown = make([]bool, len(f.keys))
		}
		unknown[i] = true
		if l.hints == nil {
			l.hints = map[int]func() string{}
		}
		l.hints[len(l.problems)] = func() string { return l.suggestKey(f, k) }
		l.problems = append(l.problems, Problem{Source: f.keyPos(k), Reason: "unknown key " + k.written})
	}
	for _, d := range f.dups {
		first, second := f.keys[d.first], f.keys[d.second]
		if _, ok := l.known[second.name]; !ok {
			continue // unknown, reported as such; or a map's key, whose spelling counts
		}
		how := "as " + first.written + " (line " + strconv.Itoa(first.line) + ") and as " + second.written + " (line " + strconv.Itoa(second.line) + ")"
		if first.written == second.written {
			how = "on lines " + strconv.Itoa(first.line) + " and " + strconv.Itoa(second.line)
		}
		l.problems = append(l.problems, Problem{Source: f.keyPos(second), Var: l.opts.Prefix + second.name,
			Reason: "set twice in the same file, " + how})
	}
}

// suggestKey returns " (did you mean X?)" for the known variable closest to
// the unknown key k, X written in k's form: nested under the same mapping
// ("db.max_conns"), in its case, with its "-" or "_".
func (l *loader) suggestKey(f *parsedFile, k fileKey) string {
	best, bestD := "", len(k.name)/3+2
	consider := func(name string) {
		if d := distance(k.name, name); d < bestD || d == bestD && best != "" && name < best {
			best, bestD = name, d
		}
	}
	for name := range l.known {
		consider(name)
		if f.containers[k.name] { // a mapping may mean a group: db for dbs
			for i := range len(name) {
				if name[i] == '_' {
					consider(name[:i])
				}
			}
		}
	}
	if best == "" {
		return ""
	}
	leaf := k.written[strings.LastIndexByte(k.written, '.')+1:]
	for a := k.parent; a >= 0; a = f.keys[a].parent {
		if rest, ok := strings.CutPrefix(best, f.keys[a].name+"_"); ok {
			return " (did you mean " + f.keys[a].written + "." + inForm(rest, leaf) + "?)"
		}
	}
	top := k.written
	if k.parent >= 0 {
		top = k.written[:strings.IndexByte(k.written, '.')]
	}
	return " (did you mean " + inForm(best, top) + "?)"
}

// inForm writes the variable name v as the key written is: lower case if
// it has no capital, "-" for "_" if it uses "-" and no "_".
func inForm(v, written string) string {
	if strings.ToLower(written) == written {
		v = strings.ToLower(v)
	}
	if strings.Contains(written, "-") && !strings.Contains(written, "_") {
		v = strings.ReplaceAll(v, "_", "-")
	}
	return v
}

// isGroup reports whether name is the parent of known variables
// (DB for DB_URL).
func (l *loader) isGroup(name string) bool {
	for k := range l.known {
		if strings.HasPrefix(k, name+"_") {
			return true
		}
	}
	return false
}

// insideMap reports whether name is a key inside a map-typed variable.
func (l *loader) insideMap(name string) bool {
	for k, f := range l.known {
		if strings.HasPrefix(f.Type, "map[") && strings.HasPrefix(name, k+"_") {
			return true
		}
	}
	return false
}

// names returns the known variable names with prefix, sorted.
func (l *loader) names(prefix string) []string {
	out := make([]string, 0, len(l.known))
	for k := range l.known {
		out = append(out, prefix+k)
	}
	sort.Strings(out)
	return out
}

// readEnv reads the environment layer, and reports variables with the
// prefix, or with a destination's own prefix, that name no field.
func (l *loader) readEnv() {
	p := l.opts.Prefix
	for name, f := range l.known {
		if v, ok := l.env[f.full]; ok {
			l.values[name] = fileValue{value: v}
			l.src.add(f.full, "env:"+f.full)
		}
	}
	if p == "" && l.opts.DetectTypos {
		// Without a prefix, every other variable may be someone else's:
		// only one a typo away from a known name is suspect.
		l.src.typos = l.typos()
	}
	var unknown []string
	for k := range l.env {
		if rest, ok := strings.CutPrefix(k, p); ok && (p != "" || l.ownPrefix(rest)) {
			if _, known := l.known[rest]; !known {
				unknown = append(unknown, k)
			}
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		l.problems = append(l.problems, Problem{Var: k, Reason: "unknown variable" + suggest(k, l.names(p))})
	}
}

// ownPrefix reports whether name starts with a destination's own prefix.
func (l *loader) ownPrefix(name string) bool {
	for _, dp := range l.prefixes {
		if strings.HasPrefix(name, dp) {
			return true
		}
	}
	return false
}

// typos returns a problem for each variable of the environment that names
// no field but is a typo away from one that does (SHUTDOWN_TIMOUT for
// SHUTDOWN_TIMEOUT: one edit for a name under 10 characters, two for a
// longer one), sorted.
func (l *loader) typos() []Problem {
	var out []Problem
	for k := range l.env {
		if _, known := l.known[k]; known || len(k) < 5 || l.ownPrefix(k) {
			continue // an unknown variable with a destination's prefix is a problem already
		}
		limit := 1
		if len(k) >= 10 {
			limit = 2
		}
		best, bestD := "", limit+1
		for name := range l.known {
			if d := distance(k, name); d < bestD || d == bestD && name < best {
				best, bestD = name, d
			}
		}
		if best != "" {
			out = append(out, Problem{Var: k, Reason: "unknown variable (did you mean " + best + "?)"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Var < out[j].Var })
	return out
}

// merged is the environment caarlos0/env reads: the process's, with the
// file values of variables the environment does not set.
func (l *loader) merged() map[string]string {
	m := make(map[string]string, len(l.env)+len(l.values))
	maps.Copy(m, l.env)
	for name, v := range l.values {
		full := l.known[name].full
		if _, set := l.env[full]; !set {
			m[full] = v.value
		}
	}
	return m
}

// locate adds to a problem the file position of the value it rejects.
func (l *loader) locate(p Problem) Problem {
	if p.Source != "" || p.Var == "" {
		return p
	}
	if o := l.src.effective(p.Var); strings.HasPrefix(o, "file:") {
		p.Source = strings.TrimPrefix(o, "file:")
	}
	return p
}

func (l *loader) locateAll(ps []Problem) []Problem {
	for i := range ps {
		if ps[i].Var == "" && ps[i].Field != "" {
			for _, f := range l.known {
				if f.Path == ps[i].Field {
					ps[i].Var = l.opts.Prefix + f.Var
				}
			}
		}
		ps[i] = l.locate(ps[i])
	}
	return ps
}

// resolver is Options.Resolver with the env: and file: providers it lacks,
// in a copy: the caller's map is left as it was.
func (l *loader) resolver() secrets.Resolver {
	r := secrets.Resolver{"env": secrets.Env{Environ: l.env}, "file": secrets.Files{}}
	maps.Copy(r, l.opts.Resolver)
	return r
}

// resolveSecrets replaces every secrets.Secret field that holds a
// reference by what the reference names, and applies the policy of the
// environment.
func (l *loader) resolveSecrets(ctx context.Context, resolver secrets.Resolver, root reflect.Value, prefix string) {
	for _, f := range typeFields(root.Type()) {
		if !f.Secret {
			continue
		}
		fv := fieldByPath(root, f.Path)
		if !fv.IsValid() {
			continue
		}
		variable := prefix + f.Var
		raw := fv.Interface().(secrets.Secret).Reveal()
		if scheme, _, ok := strings.Cut(raw, ":"); ok && resolver[scheme] != nil {
			v, err := resolver.Resolve(ctx, raw)
			if err != nil {
				l.problems = append(l.problems, l.locate(Problem{Var: variable, Field: f.Path,
					Reason: "cannot resolve the " + scheme + ": reference: " + err.Error()}))
				continue
			}
			fv.Set(reflect.ValueOf(v.Secret))
			origin := raw
			if v.Version != "" && scheme == "vault" {
				origin += " (version " + v.Version + ")"
			}
			l.src.add(variable, origin)
			if strictEnvironments[l.environment] && scheme != "vault" && scheme != "file" {
				l.problems = append(l.problems, l.locate(Problem{Var: variable, Field: f.Path, Reason: fmt.Sprintf(
					"in %s a secret must come from the secret manager or a mounted file (a vault: or file: reference), not from an %s: reference",
					l.environment, scheme)}))
			}
			continue
		}
		if raw != "" && strictEnvironments[l.environment] {
			from := l.src.effective(variable)
			l.problems = append(l.problems, l.locate(Problem{Var: variable, Field: f.Path, Reason: fmt.Sprintf(
				"in %s a secret must come from the secret manager or a mounted file (a vault: or file: reference), not from %s",
				l.environment, describeOrigin(from))}))
		}
	}
}

func describeOrigin(o string) string {
	switch {
	case o == "default":
		return "a default in code"
	case strings.HasPrefix(o, "file:"):
		return "a plain value in a config file"
	case strings.HasPrefix(o, "env:"):
		return "a plain environment variable"
	}
	return o
}

// fieldByPath returns the settable field at "A.B.C" under v, following
// non-nil pointers; the zero Value when a pointer on the way is nil.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for _, name := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.FieldByName(name)
		if !v.IsValid() {
			return v
		}
	}
	return v
}

// suggest returns " (did you mean X?)" for the closest of names to name,
// when one is close enough to be a likely typo.
func suggest(name string, names []string) string {
	best, bestD := "", len(name)/3+2
	for _, n := range names {
		if d := distance(strings.ToUpper(name), strings.ToUpper(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
