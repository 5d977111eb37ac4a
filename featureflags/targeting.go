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
// context. Values are a small tagged struct rather than interfaces, so that
// the common rules (var, comparisons, in, if, starts_with, fractional)
// evaluate without allocating.

type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kArr
	kOther // a map or another value from the context, compared by identity only
)

type value struct {
	k kind
	b bool
	n float64
	s string
	a []value
}

var null = value{}

func boolValue(b bool) value        { return value{k: kBool, b: b} }
func numValue(n float64) value      { return value{k: kNum, n: n} }
func strValue(s string) value       { return value{k: kStr, s: s} }
func arrValue(a []value) value      { return value{k: kArr, a: a} }
func (v value) isNull() bool        { return v.k == kNull }
func (v value) str() (string, bool) { return v.s, v.k == kStr }

// truthy is JSONLogic's truthiness: false, null, 0, "" and [] are false.
func (v value) truthy() bool {
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n != 0 && !math.IsNaN(v.n)
	case kStr:
		return v.s != ""
	case kArr:
		return len(v.a) > 0
	case kOther:
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

// text is the value as a string, as cat and variant names read it.
func (v value) text() string {
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
		parts := make([]string, len(v.a))
		for i, e := range v.a {
			parts[i] = e.text()
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// fromAny converts a context value.
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
	case []any:
		a := make([]value, len(t))
		for i, e := range t {
			a[i] = fromAny(e)
		}
		return arrValue(a)
	case []string:
		a := make([]value, len(t))
		for i, e := range t {
			a[i] = strValue(e)
		}
		return arrValue(a)
	}
	return value{k: kOther}
}

// env is one evaluation: the context, the flag's key, the time.
type env struct {
	ctx     EvalContext
	flagKey string
	now     func() int64
}

// lookup reads a var path: "targetingKey", "$flagd.flagKey",
// "$flagd.timestamp", or dotted attribute paths ("user.name").
func (e *env) lookup(path string) value {
	switch path {
	case "targetingKey":
		if e.ctx.TargetingKey != "" {
			return strValue(e.ctx.TargetingKey)
		}
	case "$flagd.flagKey":
		return strValue(e.flagKey)
	case "$flagd.timestamp":
		return numValue(float64(e.now()))
	case "":
		return null
	}
	var cur any = e.ctx.Attributes
	for rest := path; ; {
		name, tail, more := strings.Cut(rest, ".")
		m, ok := cur.(map[string]any)
		if !ok {
			return null
		}
		if cur, ok = m[name]; !ok {
			return null
		}
		if !more {
			return fromAny(cur)
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

type varNode struct {
	path string
	def  node // nil: null
}

func (v varNode) eval(e *env) value {
	r := e.lookup(v.path)
	if r.isNull() && v.def != nil {
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
			return varNode{}, nil
		}
		lit, ok := args[0].(literal)
		if !ok {
			return nil, &compileError{"var takes a literal path"}
		}
		v := varNode{path: lit.v.text()}
		if lit.v.k == kNull {
			v.path = ""
		}
		if len(args) > 1 {
			v.def = args[1]
		}
		return v, nil
	}
	fn, ok := operators[op]
	if !ok {
		return nil, &compileError{fmt.Sprintf("unknown operator %q", op)}
	}
	return opNode{fn: fn, args: args}, nil
}

// operators are the JSONLogic operations supported, and flagd's own.
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
		"in":          opIn,
		"cat":         opCat,
		"substr":      opSubstr,
		"+":           arith(func(x, y float64) float64 { return x + y }, 0),
		"*":           arith(func(x, y float64) float64 { return x * y }, 1),
		"-":           opMinus,
		"/":           binary(func(x, y float64) float64 { return x / y }),
		"%":           binary(math.Mod),
		"min":         extremum(func(x, y float64) bool { return x < y }),
		"max":         extremum(func(x, y float64) bool { return x > y }),
		"missing":     opMissing,
		"starts_with": stringTest(strings.HasPrefix),
		"ends_with":   stringTest(strings.HasSuffix),
		"sem_ver":     opSemVer,
		"fractional":  opFractional,
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
			s = needle.text()
		}
		return boolValue(strings.Contains(hay.s, s))
	case kArr:
		for _, v := range hay.a {
			if strictEq(v, needle) {
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
		b.WriteString(v.text())
	}
	return strValue(b.String())
}

func opSubstr(e *env, a []node) value {
	s := []rune(arg(e, a, 0).text())
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

func opMissing(e *env, a []node) value {
	var out []value
	for _, n := range a {
		v := n.eval(e)
		names := []value{v}
		if v.k == kArr {
			names = v.a
		}
		for _, name := range names {
			if e.lookup(name.text()).isNull() {
				out = append(out, name)
			}
		}
	}
	return arrValue(out)
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
