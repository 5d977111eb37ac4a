package featureflags

// JSONLogic's operations over lists, as its reference implementation
// (json-logic-js) defines them. In map, filter, all, none and some the
// second argument is evaluated once per element with the element as what
// var reads ({"var": ""} is the element itself, {"var": "name"} a field of
// it); in reduce, var reads {"current": element, "accumulator": so far}.
// The list argument, and reduce's initial value, are evaluated in the
// enclosing scope. Something that is not a list counts as an empty one.
// A list from the context is read in place: all, none, some and reduce
// allocate nothing unless their logic does.

// anyElement reports whether logic (nil: null) is truthy (want true) or falsy
// (want false) for some element of list, each element in turn the scope.
func anyElement(e *env, list value, logic node, want bool) bool {
	if logic == nil {
		return !want && list.len() > 0 && e.spend(1)
	}
	saved := e.save()
	e.scope = scopeItem
	found := false
	for i, n := 0, list.len(); i < n && e.spend(1); i++ {
		e.item = list.at(i)
		if logic.eval(e).truthy() == want {
			found = true
			break
		}
	}
	e.restore(saved)
	return found
}

func logicArg(a []node) node {
	if len(a) < 2 {
		return nil
	}
	return a[1]
}

// opMap is {"map": [list, logic]}: the list of logic's results.
func opMap(e *env, a []node) value {
	list := arg(e, a, 0)
	if list.k != kArr || list.len() == 0 {
		return arrValue(nil)
	}
	out := make([]value, 0, min(list.len(), max(e.left, 0)))
	logic := logicArg(a)
	saved := e.save()
	e.scope = scopeItem
	for i, n := 0, list.len(); i < n && e.spend(1); i++ {
		e.item = list.at(i)
		r := null
		if logic != nil {
			r = logic.eval(e)
		}
		out = append(out, r)
	}
	e.restore(saved)
	return arrValue(out)
}

// opFilter is {"filter": [list, logic]}: the elements for which logic is
// truthy.
func opFilter(e *env, a []node) value {
	list := arg(e, a, 0)
	if list.k != kArr {
		return arrValue(nil)
	}
	var out []value
	logic := logicArg(a)
	saved := e.save()
	e.scope = scopeItem
	for i, n := 0, list.len(); i < n && e.spend(1); i++ {
		e.item = list.at(i)
		if logic != nil && logic.eval(e).truthy() {
			out = append(out, e.item)
		}
	}
	e.restore(saved)
	return arrValue(out)
}

// opReduce is {"reduce": [list, logic, initial]}: logic folded over the
// list, reading current and accumulator; initial (default null) for an
// empty list or something that is not a list.
func opReduce(e *env, a []node) value {
	list := arg(e, a, 0)
	acc := arg(e, a, 2)
	if list.k != kArr {
		return acc
	}
	logic := logicArg(a)
	saved := e.save()
	e.scope = scopeReduce
	for i, n := 0, list.len(); i < n && e.spend(1); i++ {
		e.item, e.acc = list.at(i), acc
		acc = null
		if logic != nil {
			acc = logic.eval(e)
		}
	}
	e.restore(saved)
	return acc
}

// opAll is {"all": [list, logic]}: whether logic is truthy for every
// element; false for an empty list, as JSONLogic says.
func opAll(e *env, a []node) value {
	list := arg(e, a, 0)
	if list.k != kArr || list.len() == 0 {
		return boolValue(false)
	}
	return boolValue(!anyElement(e, list, logicArg(a), false))
}

// opNone is {"none": [list, logic]}: whether logic is truthy for no
// element; true for an empty list.
func opNone(e *env, a []node) value {
	list := arg(e, a, 0)
	if list.k != kArr {
		return boolValue(true)
	}
	return boolValue(!anyElement(e, list, logicArg(a), true))
}

// opSome is {"some": [list, logic]}: whether logic is truthy for at least
// one element; false for an empty list.
func opSome(e *env, a []node) value {
	list := arg(e, a, 0)
	if list.k != kArr {
		return boolValue(false)
	}
	return boolValue(anyElement(e, list, logicArg(a), true))
}

// opMerge is {"merge": [a, b, ...]}: one list of the arguments, a list
// argument giving its elements (one level deep) and anything else itself.
func opMerge(e *env, a []node) value {
	var out []value
	for _, n := range a {
		v := n.eval(e)
		if v.k != kArr {
			if !e.spend(1) {
				return null
			}
			out = append(out, v)
			continue
		}
		if !e.spend(v.len()) {
			return null
		}
		for i, l := 0, v.len(); i < l; i++ {
			out = append(out, v.at(i))
		}
	}
	return arrValue(out)
}

// opMissingSome is {"missing_some": [need, names]}: [] when at least need
// of the names are present, else the missing ones (see opMissing). It
// counts first, so that enough names present allocates nothing.
func opMissingSome(e *env, a []node) value {
	need, _ := arg(e, a, 0).number()
	names := arg(e, a, 1)
	if names.k != kArr {
		names = value{k: kArr, x: []value{names}}
	}
	present := 0
	for i, n := 0, names.len(); i < n; i++ {
		if !e.isMissing(names.at(i)) {
			present++
		}
	}
	if float64(present) >= need {
		return arrValue(nil)
	}
	return arrValue(e.missing(names, nil))
}

// opLog is JSONLogic's log, which the reference writes to the console and
// which evaluates to its first argument. Here it only does the latter: a
// flag evaluation writes nothing anywhere (its context may hold personal
// data, and an evaluation per request would flood any output).
func opLog(e *env, a []node) value { return arg(e, a, 0) }
