package featureflags

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// A targeting rule is JSONLogic, compiled once when the flags are parsed
// into a tree of nodes; evaluating it walks the tree over the evaluation
// context. Values are a small tagged struct rather than interfaces, and the
// lists and objects of the context are read where they are, never copied,
// so that the common rules (var, comparisons, in, if, starts_with,
// fractional, some/all/none and reduce over a context list) evaluate
// without allocating. Only what builds a new list (map, filter, merge,
// missing when something is missing, a list literal holding expressions)
// allocates.

type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kArr   // x is a []value (computed) or the context's []any or []string
	kObj   // x is the context's map[string]any
	kOther // another value from the context, compared by identity only
)

type value struct {
	k kind
	b bool
	n float64
	s string
	x any // kArr and kObj, see kind
}

var null = value{}

func boolValue(b bool) value        { return value{k: kBool, b: b} }
func numValue(n float64) value      { return value{k: kNum, n: n} }
func strValue(s string) value       { return value{k: kStr, s: s} }
func arrValue(a []value) value      { return value{k: kArr, x: a} }
func (v value) str() (string, bool) { return v.s, v.k == kStr }

// len is the length of a list, 0 for anything else.
func (v value) len() int {
	switch t := v.x.(type) {
	case []value:
		return len(t)
	case []any:
		return len(t)
	case []string:
		return len(t)
	}
	return 0
}

// at is element i of a list (0 <= i < v.len()).
func (v value) at(i int) value {
	switch t := v.x.(type) {
	case []value:
		return t[i]
	case []any:
		return fromAny(t[i])
	case []string:
		return strValue(t[i])
	}
	return null
}

// truthy is JSONLogic's truthiness: false, null, 0, NaN, "" and [] are
// false; everything else, objects included, is true.
func (v value) truthy() bool {
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n != 0 && !math.IsNaN(v.n)
	case kStr:
		return v.s != ""
	case kArr:
		return v.len() > 0
	case kObj, kOther:
		return true
	}
	return false
}

// number converts as JavaScript's Number() does for the kinds JSONLogic
// compares.
func (v value) number() (float64, bool) {
	switch v.k {
	case kNum:
		return v.n, true
	case kBool:
		if v.b {
			return 1, true
		}
		return 0, true
	case kStr:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		return f, err == nil
	case kNull:
		return 0, true
	}
	return 0, false
}

// text is the value as a string, as cat and variant names read it; a list's
// is cut short past maxText bytes (see env.text, which charges it).
func (v value) text() string { return v.textMax(maxText) }

// textMax is text, a list's stopping once it is longer than limit bytes.
func (v value) textMax(limit int) string {
	switch v.k {
	case kStr:
		return v.s
	case kNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case kBool:
		return strconv.FormatBool(v.b)
	case kNull:
		return "null"
	case kArr:
		var b strings.Builder
		for i, n := 0, v.len(); i < n && b.Len() <= limit; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v.at(i).textMax(limit - b.Len()))
		}
		return b.String()
	}
	return "[object Object]"
}

// fromAny converts a context value. Lists and objects keep the context's
// own value (x is the interface given, so nothing is copied or boxed).
func fromAny(x any) value {
	switch t := x.(type) {
	case nil:
		return null
	case string:
		return strValue(t)
	case bool:
		return boolValue(t)
	case float64:
		return numValue(t)
	case float32:
		return numValue(float64(t))
	case int:
		return numValue(float64(t))
	case int64:
		return numValue(float64(t))
	case int32:
		return numValue(float64(t))
	case uint:
		return numValue(float64(t))
	case uint64:
		return numValue(float64(t))
	case uint32:
		return numValue(float64(t))
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return strValue(t.String())
		}
		return numValue(f)
	case []any, []string:
		return value{k: kArr, x: x}
	case map[string]any:
		return value{k: kObj, x: x}
	}
	return value{k: kOther}
}

// toAny converts a value back, as encoding/json would decode it (lists are
// []any, numbers float64); another value from the context is nil.
func toAny(v value) any {
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n
	case kStr:
		return v.s
	case kArr:
		out := make([]any, v.len())
		for i := range out {
			out[i] = toAny(v.at(i))
		}
		return out
	case kObj:
		return v.x
	}
	return nil
}

// The bounds of one evaluation, so that no targeting rule can make an
// evaluation take unbounded time or memory (a reduce that doubles its
// accumulator, a cat of cats): maxSteps is the budget of list elements
// visited or built and of bytes of text built, maxText the longest text of
// a list. An evaluation that spends its budget stops and gives null, so the
// flag gives its default variant.
const (
	maxSteps = 1 << 18
	maxText  = 1 << 18
)

// scope is what var reads: the evaluation context at the top, the element
// inside map, filter, all, none and some, current and accumulator inside
// reduce.
type scope uint8

const (
	scopeContext scope = iota
	scopeItem
	scopeReduce
)

// env is one evaluation: the context, the flag's key, the time, and the
// scope var reads (kept by value, so that entering a scope allocates
// nothing).
type env struct {
	ctx     EvalContext
	flagKey string
	now     func() int64

	scope scope
	item  value // scopeItem: the element; scopeReduce: current
	acc   value // scopeReduce: the accumulator

	left int // what is left of maxSteps; below 0, the evaluation is over
}

// spend takes n steps from the budget and reports whether any are left.
func (e *env) spend(n int) bool {
	e.left -= n
	return e.left >= 0
}

// text is v.text(), a list's charged to the budget.
func (e *env) text(v value) string {
	if v.k != kArr {
		return v.text()
	}
	s := v.textMax(max(e.left, 0))
	e.spend(len(s) + 1)
	return s
}

// frame is the scope of an env, saved on entering a nested scope.
type frame struct {
	scope     scope
	item, acc value
}

func (e *env) save() frame     { return frame{e.scope, e.item, e.acc} }
func (e *env) restore(f frame) { e.scope, e.item, e.acc = f.scope, f.item, f.acc }

// lookup reads a var path in the evaluation context: "targetingKey",
// "$flagd.flagKey", "$flagd.timestamp", or dotted attribute paths
// ("user.name", "groups.0"). found is false when the path names nothing
// (a null value is found).
func (e *env) lookup(path string) (v value, found bool) {
	switch path {
	case "targetingKey":
		if e.ctx.TargetingKey != "" {
			return strValue(e.ctx.TargetingKey), true
		}
	case "$flagd.flagKey":
		return strValue(e.flagKey), true
	case "$flagd.timestamp":
		return numValue(float64(e.now())), true
	}
	return walk(value{k: kObj, x: e.ctx.Attributes}, path)
}

// data is the whole of what var reads in the current scope ({"var": ""}):
// the element, or, inside reduce, an object of current and accumulator;
// at the top, the attributes.
func (e *env) data() value {
	switch e.scope {
	case scopeItem:
		return e.item
	case scopeReduce:
		return value{k: kObj, x: map[string]any{"current": toAny(e.item), "accumulator": toAny(e.acc)}}
	}
	return value{k: kObj, x: e.ctx.Attributes}
}

// get reads a var path in the current scope.
func (e *env) get(path string) (value, bool) {
	switch e.scope {
	case scopeItem:
		return walk(e.item, path)
	case scopeReduce:
		head, rest, more := strings.Cut(path, ".")
		var v value
		switch head {
		case "current":
			v = e.item
		case "accumulator":
			v = e.acc
		default:
			return null, false
		}
		if !more {
			return v, true
		}
		return walk(v, rest)
	}
	return e.lookup(path)
}

// walk follows a dotted path from v: a name in an object, an index in a
// list. Reaching through anything else, null included, finds nothing.
func walk(v value, path string) (value, bool) {
	for rest := path; ; {
		name, tail, more := strings.Cut(rest, ".")
		switch v.k {
		case kObj:
			x, ok := v.x.(map[string]any)[name]
			if !ok {
				return null, false
			}
			v = fromAny(x)
		case kArr:
			i, err := strconv.Atoi(name)
			if err != nil || i < 0 || i >= v.len() {
				return null, false
			}
			v = v.at(i)
		default:
			return null, false
		}
		if !more {
			return v, true
		}
		rest = tail
	}
}

// node is a compiled JSONLogic expression.
type node interface {
	eval(e *env) value
}

type literal struct{ v value }

func (l literal) eval(*env) value { return l.v }

type arrayNode []node

func (a arrayNode) eval(e *env) value {
	out := make([]value, len(a))
	for i, n := range a {
		out[i] = n.eval(e)
	}
	return arrValue(out)
}

// varNode is {"var": [path, default]}: the path is a literal or, as
// JSONLogic allows, an expression evaluated first ({"var": [{"if": ...}]}).
// A path that is null or "" reads the whole scope (a literal one is a
// scopeNode). The default replaces a
// path that names nothing (not one that names a null).
type varNode struct {
	path     string
	computed node // nil: path is literal
	def      node // nil: null
}

// scopeNode is {"var": ""}: the whole of the current scope.
type scopeNode struct{}

func (scopeNode) eval(e *env) value {
	if e.scope == scopeItem {
		return e.item
	}
	return e.data()
}

func (v varNode) eval(e *env) value {
	path := v.path
	if v.computed != nil {
		p := v.computed.eval(e)
		if p.k == kNull || p.k == kStr && p.s == "" {
			return e.data()
		}
		path = e.text(p)
	}
	r, found := e.get(path)
	if !found && v.def != nil {
		return v.def.eval(e)
	}
	return r
}

// opFunc evaluates an operator over its compiled arguments.
type opFunc func(e *env, args []node) value

type opNode struct {
	fn   opFunc
	args []node
}

func (o opNode) eval(e *env) value { return o.fn(e, o.args) }

// compileError is a targeting rule that cannot be compiled: the flag
// evaluates with PARSE_ERROR.
type compileError struct{ msg string }

func (c *compileError) Error() string { return c.msg }

// compile turns decoded JSON (from encoding/json with UseNumber) into a
// node. evaluators are the $evaluators, for {"$ref": name}.
func compile(x any, evaluators map[string]any, depth int) (node, error) {
	if depth > 64 {
		return nil, &compileError{"targeting nested too deeply"}
	}
	switch t := x.(type) {
	case nil:
		return literal{null}, nil
	case bool:
		return literal{boolValue(t)}, nil
	case string:
		return literal{strValue(t)}, nil
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return nil, &compileError{"bad number " + t.String()}
		}
		return literal{numValue(f)}, nil
	case float64:
		return literal{numValue(t)}, nil
	case []any:
		out := make(arrayNode, len(t))
		allLiteral := true
		for i, el := range t {
			n, err := compile(el, evaluators, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
			if _, ok := n.(literal); !ok {
				allLiteral = false
			}
		}
		if allLiteral {
			return literal{out.eval(nil)}, nil
		}
		return out, nil
	case map[string]any:
		if len(t) != 1 {
			return nil, &compileError{fmt.Sprintf("an operation is an object with one key, got %d", len(t))}
		}
		for op, raw := range t {
			if op == "$ref" {
				name, _ := raw.(string)
				ev, ok := evaluators[name]
				if !ok {
					return nil, &compileError{fmt.Sprintf("$ref to unknown evaluator %q", name)}
				}
				return compile(ev, nil, depth+1) // an evaluator cannot $ref another
			}
			return compileOp(op, raw, evaluators, depth)
		}
	}
	return nil, &compileError{fmt.Sprintf("unsupported value %T", x)}
}

func compileOp(op string, raw any, evaluators map[string]any, depth int) (node, error) {
	var rawArgs []any
	switch r := raw.(type) {
	case []any:
		rawArgs = r
	default:
		rawArgs = []any{r} // {"var": "x"} is {"var": ["x"]}
	}
	args := make([]node, len(rawArgs))
	for i, a := range rawArgs {
		n, err := compile(a, evaluators, depth+1)
		if err != nil {
			return nil, err
		}
		args[i] = n
	}
	if op == "var" {
		if len(args) == 0 {
			return scopeNode{}, nil
		}
		v := varNode{}
		if lit, ok := args[0].(literal); ok {
			if v.path = lit.v.text(); lit.v.k == kNull || v.path == "" {
				return scopeNode{}, nil // the whole scope: a default never applies
			}
		} else {
			v.computed = args[0]
		}
		if len(args) > 1 {
			v.def = args[1]
		}
		return v, nil
	}
	if op == "fractional" {
		return compileFractional(args), nil
	}
	fn, ok := operators[op]
	if !ok {
		return nil, &compileError{fmt.Sprintf("unknown operator %q", op)}
	}
	return opNode{fn: fn, args: args}, nil
}

// operators are the JSONLogic operations supported, and flagd's own (var
// and fractional are compiled into nodes of their own, in compileOp).
var operators map[string]opFunc

func init() {
	operators = map[string]opFunc{
		"if": opIf, "?:": opIf,
		"==":  func(e *env, a []node) value { return boolValue(looseEq(arg(e, a, 0), arg(e, a, 1))) },
		"!=":  func(e *env, a []node) value { return boolValue(!looseEq(arg(e, a, 0), arg(e, a, 1))) },
		"===": func(e *env, a []node) value { return boolValue(strictEq(arg(e, a, 0), arg(e, a, 1))) },
		"!==": func(e *env, a []node) value { return boolValue(!strictEq(arg(e, a, 0), arg(e, a, 1))) },
		"!":   func(e *env, a []node) value { return boolValue(!arg(e, a, 0).truthy()) },
		"!!":  func(e *env, a []node) value { return boolValue(arg(e, a, 0).truthy()) },
		"and": opAnd, "or": opOr,
		"<": opLess(false), "<=": opLess(true),
		">": func(e *env, a []node) value {
			return compare(arg(e, a, 0), arg(e, a, 1), func(c int) bool { return c > 0 })
		},
		">=": func(e *env, a []node) value {
			return compare(arg(e, a, 0), arg(e, a, 1), func(c int) bool { return c >= 0 })
		},
		"in":           opIn,
		"cat":          opCat,
		"substr":       opSubstr,
		"+":            arith(func(x, y float64) float64 { return x + y }, 0),
		"*":            arith(func(x, y float64) float64 { return x * y }, 1),
		"-":            opMinus,
		"/":            binary(func(x, y float64) float64 { return x / y }),
		"%":            binary(math.Mod),
		"min":          extremum(func(x, y float64) bool { return x < y }),
		"max":          extremum(func(x, y float64) bool { return x > y }),
		"missing":      opMissing,
		"missing_some": opMissingSome,
		"merge":        opMerge,
		"map":          opMap,
		"filter":       opFilter,
		"reduce":       opReduce,
		"all":          opAll,
		"none":         opNone,
		"some":         opSome,
		"log":          opLog,
		"starts_with":  stringTest(strings.HasPrefix),
		"ends_with":    stringTest(strings.HasSuffix),
		"sem_ver":      opSemVer,
	}
}

func arg(e *env, a []node, i int) value {
	if i >= len(a) {
		return null
	}
	return a[i].eval(e)
}

func opIf(e *env, a []node) value {
	i := 0
	for ; i+1 < len(a); i += 2 {
		if a[i].eval(e).truthy() {
			return a[i+1].eval(e)
		}
	}
	if i < len(a) {
		return a[i].eval(e)
	}
	return null
}

func opAnd(e *env, a []node) value {
	var v value
	for _, n := range a {
		if v = n.eval(e); !v.truthy() {
			return v
		}
	}
	return v
}

func opOr(e *env, a []node) value {
	var v value
	for _, n := range a {
		if v = n.eval(e); v.truthy() {
			return v
		}
	}
	return v
}

// looseEq is JSONLogic's ==, JavaScript's loose equality for the kinds it
// has.
func looseEq(x, y value) bool {
	if x.k == y.k {
		return strictEq(x, y)
	}
	if x.k == kNull || y.k == kNull {
		return false
	}
	if x.k == kArr || y.k == kArr || x.k == kOther || y.k == kOther {
		return false
	}
	a, ok1 := x.number()
	b, ok2 := y.number()
	return ok1 && ok2 && a == b
}

func strictEq(x, y value) bool {
	if x.k != y.k {
		return false
	}
	switch x.k {
	case kNull:
		return true
	case kBool:
		return x.b == y.b
	case kNum:
		return x.n == y.n
	case kStr:
		return x.s == y.s
	}
	return false // arrays and objects: by identity, which compiled values never share
}

// compare orders two values: both strings by text, else as numbers;
// incomparable values make the comparison false.
func compare(x, y value, ok func(int) bool) value {
	if x.k == kStr && y.k == kStr {
		return boolValue(ok(strings.Compare(x.s, y.s)))
	}
	a, ok1 := x.number()
	b, ok2 := y.number()
	if !ok1 || !ok2 || math.IsNaN(a) || math.IsNaN(b) {
		return boolValue(false)
	}
	switch {
	case a < b:
		return boolValue(ok(-1))
	case a > b:
		return boolValue(ok(1))
	}
	return boolValue(ok(0))
}

// opLess is < and <=, with JSONLogic's three-argument "between" form.
func opLess(orEqual bool) opFunc {
	test := func(c int) bool { return c < 0 || orEqual && c == 0 }
	return func(e *env, a []node) value {
		x, y := arg(e, a, 0), arg(e, a, 1)
		r := compare(x, y, test)
		if len(a) == 3 && r.b {
			return compare(y, arg(e, a, 2), test)
		}
		return r
	}
}

func opIn(e *env, a []node) value {
	needle, hay := arg(e, a, 0), arg(e, a, 1)
	switch hay.k {
	case kStr:
		s, ok := needle.str()
		if !ok {
			s = e.text(needle)
		}
		return boolValue(strings.Contains(hay.s, s))
	case kArr:
		if list, ok := hay.x.([]value); ok { // a literal list: no conversion
			for i := range list {
				if strictEq(list[i], needle) {
					return boolValue(true)
				}
			}
			break
		}
		for i, n := 0, hay.len(); i < n; i++ {
			if strictEq(hay.at(i), needle) {
				return boolValue(true)
			}
		}
	}
	return boolValue(false)
}

func opCat(e *env, a []node) value {
	var b strings.Builder
	for _, n := range a {
		v := n.eval(e)
		if v.k == kNull {
			continue
		}
		t := e.text(v)
		if !e.spend(len(t)) {
			return null
		}
		b.WriteString(t)
	}
	return strValue(b.String())
}

func opSubstr(e *env, a []node) value {
	s := []rune(e.text(arg(e, a, 0)))
	start, _ := arg(e, a, 1).number()
	from := int(start)
	if from < 0 {
		from = max(len(s)+from, 0)
	}
	from = min(from, len(s))
	to := len(s)
	if len(a) > 2 {
		n, _ := arg(e, a, 2).number()
		if n < 0 {
			to = max(len(s)+int(n), from)
		} else {
			to = min(from+int(n), len(s))
		}
	}
	return strValue(string(s[from:to]))
}

func arith(f func(x, y float64) float64, unit float64) opFunc {
	return func(e *env, a []node) value {
		acc := unit
		for _, n := range a {
			x, ok := n.eval(e).number()
			if !ok {
				return null
			}
			acc = f(acc, x)
		}
		return numValue(acc)
	}
}

func binary(f func(x, y float64) float64) opFunc {
	return func(e *env, a []node) value {
		x, ok1 := arg(e, a, 0).number()
		y, ok2 := arg(e, a, 1).number()
		if !ok1 || !ok2 {
			return null
		}
		return numValue(f(x, y))
	}
}

func opMinus(e *env, a []node) value {
	if len(a) == 1 {
		x, ok := arg(e, a, 0).number()
		if !ok {
			return null
		}
		return numValue(-x)
	}
	return binary(func(x, y float64) float64 { return x - y })(e, a)
}

func extremum(better func(x, y float64) bool) opFunc {
	return func(e *env, a []node) value {
		if len(a) == 0 {
			return null
		}
		var best float64
		for i, n := range a {
			x, ok := n.eval(e).number()
			if !ok {
				return null
			}
			if i == 0 || better(x, best) {
				best = x
			}
		}
		return numValue(best)
	}
}

// opMissing is JSONLogic's missing: the names, of its arguments or of the
// list that is its first argument, whose var is null or "" (or names
// nothing).
func opMissing(e *env, a []node) value {
	if len(a) == 0 {
		return arrValue(nil)
	}
	var out []value
	first := a[0].eval(e)
	if first.k == kArr {
		return arrValue(e.missing(first, out))
	}
	out = e.missing1(first, out)
	for _, n := range a[1:] {
		out = e.missing1(n.eval(e), out)
	}
	return arrValue(out)
}

// missing appends the names of list that are missing to out.
func (e *env) missing(list value, out []value) []value {
	for i, n := 0, list.len(); i < n; i++ {
		out = e.missing1(list.at(i), out)
	}
	return out
}

func (e *env) missing1(name value, out []value) []value {
	if e.isMissing(name) && e.spend(1) {
		out = append(out, name)
	}
	return out
}

// isMissing reports whether var name reads null or "", or nothing.
func (e *env) isMissing(name value) bool {
	var v value
	var found bool
	if name.k == kNull || name.k == kStr && name.s == "" {
		v, found = e.data(), true
	} else {
		v, found = e.get(e.text(name))
	}
	return !found || v.k == kNull || v.k == kStr && v.s == ""
}

// stringTest is starts_with and ends_with: null (not false) unless both
// arguments are strings, as flagd answers.
func stringTest(test func(s, affix string) bool) opFunc {
	return func(e *env, a []node) value {
		if len(a) != 2 {
			return null
		}
		s, ok1 := arg(e, a, 0).str()
		affix, ok2 := arg(e, a, 1).str()
		if !ok1 || !ok2 {
			return null
		}
		return boolValue(test(s, affix))
	}
}

// variantName is flagd's reading of what targeting returned: null means
// no match; anything else is read as text, trimmed, without quotes.
func variantName(v value) (string, bool) {
	if v.k == kNull {
		return "", false
	}
	s := strings.TrimSpace(v.text())
	if s == "null" {
		return "", false
	}
	return strings.ReplaceAll(s, `"`, ""), true
}

// sortedKeys is used where map order must not leak into behaviour.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
