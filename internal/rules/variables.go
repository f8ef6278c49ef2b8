package rules

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// variablesValue is the CEL value of `variables` for one rule on one object.
// Like the API server's variables of a ValidatingAdmissionPolicy, a variable
// is evaluated when first used and at most once; the workload variables are
// shared by every rule on the object. It is not safe for concurrent use (one
// worker evaluates one object).
type variablesValue struct {
	oc     *objectContext
	rule   *compiledRule // nil: the workload variables only
	values []ref.Val     // rule variables, nil until evaluated
}

var (
	_ traits.Mapper = (*variablesValue)(nil)

	variablesTypeValue = types.NewObjectType("kordon.variables", traits.IndexerType|traits.FieldTesterType|traits.IterableType)
)

func newVariables(oc *objectContext, cr *compiledRule) *variablesValue {
	v := &variablesValue{oc: oc}
	if cr != nil && len(cr.variables) > 0 {
		v.rule = cr
		v.values = make([]ref.Val, len(cr.variables))
	}
	return v
}

// names lists the variables in definition order.
func (v *variablesValue) names() []string {
	var out []string
	if v.oc.workload {
		for _, p := range v.oc.prelude {
			out = append(out, p.name)
		}
	}
	if v.rule != nil {
		for _, rv := range v.rule.variables {
			out = append(out, rv.name)
		}
	}
	return out
}

// lookup evaluates (once) and returns the named variable.
func (v *variablesValue) lookup(name string) (ref.Val, bool) {
	if v.rule != nil {
		for i, rv := range v.rule.variables {
			if rv.name == name {
				if v.values[i] == nil {
					if rv.perScan {
						v.values[i] = v.oc.perScanValue(v.rule, i, v.oc.activation(v))
					} else {
						v.values[i] = v.oc.evalValue(rv.prog, v.oc.activation(v))
					}
				}
				return v.values[i], true
			}
		}
	}
	if v.oc.workload {
		for i, p := range v.oc.prelude {
			if p.name == name {
				return v.oc.preludeValue(i), true
			}
		}
	}
	return nil, false
}

func (v *variablesValue) Find(key ref.Val) (ref.Val, bool) {
	name, ok := key.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(key), true
	}
	return v.lookup(string(name))
}

func (v *variablesValue) Get(key ref.Val) ref.Val {
	if val, found := v.Find(key); found {
		return val
	}
	return types.ValOrErr(key, "no such key: %v", key)
}

func (v *variablesValue) Contains(key ref.Val) ref.Val {
	val, found := v.Find(key)
	if val != nil && types.IsUnknownOrError(val) {
		return val
	}
	return types.Bool(found)
}

func (v *variablesValue) Size() ref.Val { return types.Int(len(v.names())) }

func (v *variablesValue) Iterator() traits.Iterator {
	return &namesIterator{names: v.names()}
}

func (v *variablesValue) ConvertToNative(typeDesc reflect.Type) (any, error) {
	return nil, fmt.Errorf("disallowed conversion from variables to %s", typeDesc)
}

func (v *variablesValue) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal {
	case variablesTypeValue:
		return v
	case types.TypeType:
		return variablesTypeValue
	}
	return types.NewErr("disallowed conversion from variables to %q", typeVal.TypeName())
}

func (v *variablesValue) Equal(other ref.Val) ref.Val {
	o, ok := other.(*variablesValue)
	if !ok {
		return types.MaybeNoSuchOverloadErr(other)
	}
	return types.Bool(v == o)
}

func (v *variablesValue) Type() ref.Type { return variablesTypeValue }

func (v *variablesValue) Value() any { return types.NoSuchOverloadErr() }

type namesIterator struct {
	names []string
	i     int
}

func (it *namesIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.names)) }

func (it *namesIterator) Next() ref.Val {
	if it.i >= len(it.names) {
		return nil
	}
	it.i++
	return types.String(it.names[it.i-1])
}

func (it *namesIterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("an iterator cannot be converted")
}

func (it *namesIterator) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("an iterator cannot be converted")
}

func (it *namesIterator) Equal(ref.Val) ref.Val {
	return types.NewErr("an iterator cannot be compared")
}

func (it *namesIterator) Type() ref.Type { return types.IteratorType }

func (it *namesIterator) Value() any { return nil }

// activation resolves the three top-level names without a map.
type activation struct {
	object, variables, inventory ref.Val
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "object":
		return a.object, true
	case "variables":
		return a.variables, true
	case "inventory":
		if a.inventory != nil {
			return a.inventory, true
		}
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
