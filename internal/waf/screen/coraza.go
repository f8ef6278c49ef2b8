package screen

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unsafe"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// Rule is what the screen needs of one compiled Coraza rule. It is read
// from Coraza's own rule (Read), so the targets, exclusions, operator and
// transformations are those Coraza evaluates. Coraza hands a rule
// observer the rule as declared and evaluates a copy: exclusions added
// later by SecRuleUpdateTargetById are not seen here, which only makes the
// screen read more values than Coraza does.
type Rule struct {
	ID, Phase int
	// File is the rule file, as Coraza names it.
	File string
	// Paranoia is N of the rule's tag "paranoia-level/N", 0 without one.
	Paranoia int
	// Chained: the rule is the first step of a chain.
	Chained bool
	Targets []Target
	// Operator is Coraza's compiled operator; OperatorName is as written
	// ("@rx", "!@within"), OperatorData its argument.
	Operator                   plugintypes.Operator
	OperatorName, OperatorData string
	Negated                    bool
	// Transformations are Coraza's functions in order; TransformationsID
	// identifies the sequence (equal IDs, equal sequences).
	Transformations   []plugintypes.Transformation
	TransformationsID int
	MultiMatch        bool
	// SecMark is the marker's name when the rule is a SecMarker.
	SecMark string
	// SkipAfter is the marker its skipAfter action skips to, "" without.
	SkipAfter string
}

// Target is one variable a rule reads, as Coraza's GetField selects it.
type Target struct {
	Variable   variables.RuleVariable
	Key        string
	KeyRx      *regexp.Regexp
	Count      bool
	Exceptions []Exception
}

// Exception is one !VARIABLE:key of a target.
type Exception struct {
	Key   string
	KeyRx *regexp.Regexp
}

// Read returns the screen's view of a compiled Coraza rule (the value
// Coraza hands a rule observer). It reads Coraza v3's internal rule
// structure by reflection and fails, rather than guess, when the
// structure is not the one it knows.
func Read(md types.RuleMetadata) (Rule, error) {
	rv := reflect.ValueOf(md)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return Rule{}, fmt.Errorf("rule %d: unexpected rule type %T", md.ID(), md)
	}
	s := rv.Elem()
	r := Rule{ID: md.ID(), Phase: int(md.Phase()), File: md.File()}
	for _, t := range md.Tags() {
		if n, ok := strings.CutPrefix(t, "paranoia-level/"); ok {
			r.Paranoia, _ = strconv.Atoi(n)
		}
	}
	var err error
	get := func(name string) reflect.Value {
		f := s.FieldByName(name)
		if !f.IsValid() {
			err = errors.Join(err, fmt.Errorf("no field %s", name))
			return reflect.Value{}
		}
		return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	}
	hasChain, multi, tid := get("HasChain"), get("MultiMatch"), get("transformationsID")
	vars, op, trs, acts, mark := get("variables"), get("operator"), get("transformations"), get("actions"), get("SecMark_")
	if err != nil {
		return Rule{}, fmt.Errorf("rule %d: Coraza's rule structure is not the one known: %w", r.ID, err)
	}
	r.Chained, r.MultiMatch, r.TransformationsID = hasChain.Bool(), multi.Bool(), int(tid.Int())
	r.SecMark = mark.String()
	for i := range acts.Len() {
		a := acts.Index(i)
		if name, _ := field(a, "Name").(string); !strings.EqualFold(name, "skipAfter") {
			continue
		}
		fn := a.FieldByName("Function")
		if !fn.IsValid() || fn.IsNil() || fn.Elem().Kind() != reflect.Pointer || fn.Elem().Elem().Kind() != reflect.Struct {
			return Rule{}, fmt.Errorf("rule %d: skipAfter of an unknown type", r.ID)
		}
		target, ok := field(fn.Elem().Elem(), "data").(string)
		if !ok || target == "" {
			return Rule{}, fmt.Errorf("rule %d: skipAfter without a marker", r.ID)
		}
		r.SkipAfter = target
	}
	if !op.IsNil() {
		o := op.Elem()
		var ok bool
		r.Operator, ok = field(o, "Operator").(plugintypes.Operator)
		if !ok {
			return Rule{}, fmt.Errorf("rule %d: operator of an unknown type", r.ID)
		}
		r.OperatorName, _ = field(o, "Function").(string)
		r.OperatorData, _ = field(o, "Data").(string)
		r.Negated, _ = field(o, "Negation").(bool)
	}
	for i := range trs.Len() {
		f, ok := field(trs.Index(i), "Function").(plugintypes.Transformation)
		if !ok {
			return Rule{}, fmt.Errorf("rule %d: transformation of an unknown type", r.ID)
		}
		r.Transformations = append(r.Transformations, f)
	}
	for i := range vars.Len() {
		v := vars.Index(i)
		t := Target{}
		var ok bool
		if t.Variable, ok = field(v, "Variable").(variables.RuleVariable); !ok {
			return Rule{}, fmt.Errorf("rule %d: target of an unknown type", r.ID)
		}
		t.Key, _ = field(v, "KeyStr").(string)
		t.KeyRx, _ = field(v, "KeyRx").(*regexp.Regexp)
		t.Count, _ = field(v, "Count").(bool)
		exs := v.FieldByName("Exceptions")
		if !exs.IsValid() {
			return Rule{}, fmt.Errorf("rule %d: target without exceptions field", r.ID)
		}
		for j := range exs.Len() {
			e := exs.Index(j)
			ex := Exception{}
			ex.Key, _ = field(e, "KeyStr").(string)
			ex.KeyRx, _ = field(e, "KeyRx").(*regexp.Regexp)
			t.Exceptions = append(t.Exceptions, ex)
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// field returns the named field of struct value v as an interface, nil
// when there is none.
func field(v reflect.Value, name string) any {
	f := v.FieldByName(name)
	if !f.IsValid() {
		return nil
	}
	if !f.CanInterface() {
		if !f.CanAddr() {
			return nil
		}
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	}
	return f.Interface()
}
