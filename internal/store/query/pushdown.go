package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// pushDown moves the conditions of the filter's top-level conjunction that
// a store evaluates natively into q.filter, and reports whether anything is
// left for CEL (a residual). Moving a condition never changes the result:
// a record the store leaves out fails that conjunct, so the whole
// conjunction is false for it; the records the store returns are still
// checked by the whole expression whenever anything was not moved.
//
// Conditions on an attribute (attributes.KEY == "v", attributes["KEY"] ==
// "v", attributes.KEY in ["v", ...]) are kept aside in q.attrs: only a
// store that keeps that attribute natively (store.NativeAttributes) is
// given them, at Run. For such a store the condition means the same: a
// record without the attribute fails it in CEL with an error ("no such
// key"), which leaves the record unmatched whatever the other conjuncts
// say — it is either false or an error, never true.
func (q *Query) pushDown(e ast.Expr) (residual bool) {
	q.attrOnly = true
	for _, c := range conjuncts(e, nil) {
		if q.push(c) {
			continue
		}
		residual = true
		if !q.pushAttr(c) {
			q.attrOnly = false
		}
	}
	return residual
}

// pushAttr records an attribute condition in q.attrs, intersected with
// the ones before it on the same key.
func (q *Query) pushAttr(e ast.Expr) bool {
	if e.Kind() != ast.CallKind {
		return false
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 || call.IsMemberFunction() {
		return false
	}
	var key string
	var vals []string
	switch l, r := args[0], args[1]; call.FunctionName() {
	case operators.Equals:
		k, ok := attrKey(l)
		if !ok {
			if k, ok = attrKey(r); !ok {
				return false
			}
			l, r = r, l
		}
		s, ok := stringLit(r)
		if !ok {
			return false
		}
		key, vals = k, []string{s}
	case operators.In:
		k, ok := attrKey(l)
		if !ok || r.Kind() != ast.ListKind {
			return false
		}
		for _, el := range r.AsList().Elements() {
			s, ok := stringLit(el)
			if !ok {
				return false
			}
			vals = append(vals, s)
		}
		key = k
	default:
		return false
	}
	if q.attrs == nil {
		q.attrs = map[string][]string{}
	}
	cur, seen := q.attrs[key]
	if !seen {
		cur = nil
	}
	var none bool
	q.attrs[key] = intersect(cur, vals, &none)
	return true
}

// attrKey returns KEY of attributes.KEY or attributes["KEY"].
func attrKey(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() || sel.Operand().Kind() != ast.IdentKind || sel.Operand().AsIdent() != "attributes" {
			return "", false
		}
		return sel.FieldName(), true
	case ast.CallKind:
		c := e.AsCall()
		if c.FunctionName() != operators.Index || len(c.Args()) != 2 || c.IsMemberFunction() {
			return "", false
		}
		if m := c.Args()[0]; m.Kind() != ast.IdentKind || m.AsIdent() != "attributes" {
			return "", false
		}
		return stringLit(c.Args()[1])
	}
	return "", false
}

func conjuncts(e ast.Expr, out []ast.Expr) []ast.Expr {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd && len(e.AsCall().Args()) == 2 {
		args := e.AsCall().Args()
		return conjuncts(args[1], conjuncts(args[0], out))
	}
	return append(out, e)
}

// columns maps the string variables a store filters natively to the
// filter's lists.
func (q *Query) stringColumn(name string) *[]string {
	f := &q.filter
	switch name {
	case "engine":
		return &f.Engines
	case "action":
		return &f.Actions
	case "ruleID":
		return &f.RuleIDs
	case "resource.namespace":
		return &f.Namespaces
	case "resource.kind":
		return &f.Kinds
	case "resource.name":
		return &f.Names
	}
	return nil
}

// push moves one condition into the filter if it has a native form.
func (q *Query) push(e ast.Expr) bool {
	if e.Kind() == ast.LiteralKind {
		if b, ok := e.AsLiteral().Value().(bool); ok {
			if !b {
				q.filter.None = true
			}
			return true
		}
		return false
	}
	if e.Kind() != ast.CallKind {
		return false
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 || call.IsMemberFunction() {
		return false
	}
	op := call.FunctionName()
	l, r := args[0], args[1]
	if op == operators.In {
		name, ok := ident(l)
		if !ok || r.Kind() != ast.ListKind {
			return false
		}
		var vals []string
		for _, el := range r.AsList().Elements() {
			s, ok := stringLit(el)
			if !ok {
				return false
			}
			vals = append(vals, s)
		}
		return q.pushStrings(name, vals)
	}
	// Put the variable on the left.
	if _, ok := ident(l); !ok {
		if _, ok := ident(r); !ok {
			return false
		}
		l, r = r, l
		op = mirror(op)
	}
	name, _ := ident(l)
	switch {
	case name == "severityRank":
		n, ok := intLit(r)
		if !ok {
			return false
		}
		return q.pushRank(op, n)
	case name == "time":
		t, ok := timestampLit(r)
		if !ok {
			return false
		}
		return q.pushTime(op, t)
	case op == operators.Equals:
		s, ok := stringLit(r)
		if !ok {
			return false
		}
		return q.pushStrings(name, []string{s})
	}
	return false
}

func mirror(op string) string {
	switch op {
	case operators.Less:
		return operators.Greater
	case operators.LessEquals:
		return operators.GreaterEquals
	case operators.Greater:
		return operators.Less
	case operators.GreaterEquals:
		return operators.LessEquals
	}
	return op
}

// ident returns the name of a variable, or of a field of the resource map
// (resource.namespace).
func ident(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		return e.AsIdent(), true
	case ast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() || sel.Operand().Kind() != ast.IdentKind || sel.Operand().AsIdent() != "resource" {
			return "", false
		}
		switch f := sel.FieldName(); f {
		case "namespace", "kind", "name":
			return "resource." + f, true
		}
	}
	return "", false
}

func stringLit(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().Value().(string)
	return s, ok
}

func intLit(e ast.Expr) (int64, bool) {
	if e.Kind() != ast.LiteralKind {
		return 0, false
	}
	n, ok := e.AsLiteral().Value().(int64)
	return n, ok
}

// timestampLit reads timestamp("RFC 3339") with a literal argument, as CEL
// parses it.
func timestampLit(e ast.Expr) (time.Time, bool) {
	if e.Kind() != ast.CallKind {
		return time.Time{}, false
	}
	c := e.AsCall()
	if c.FunctionName() != "timestamp" || len(c.Args()) != 1 || c.IsMemberFunction() {
		return time.Time{}, false
	}
	s, ok := stringLit(c.Args()[0])
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

// pushStrings restricts a string variable to a set of values.
func (q *Query) pushStrings(name string, vals []string) bool {
	switch name {
	case "type":
		var ts []store.Type
		for _, v := range vals {
			switch v {
			case "event":
				ts = append(ts, store.TypeEvent)
			case "finding":
				ts = append(ts, store.TypeFinding)
			}
		}
		q.filter.Types = intersect(q.filter.Types, ts, &q.filter.None)
		q.pushed = append(q.pushed, describe(name, vals))
		return true
	case "severity":
		var ss []finding.Severity
		for _, v := range vals {
			// CEL compares strings exactly: only the lower-case names match.
			for _, s := range finding.Severities() {
				if s.String() == v {
					ss = append(ss, s)
				}
			}
		}
		q.filter.Severities = intersect(q.filter.Severities, ss, &q.filter.None)
		q.pushed = append(q.pushed, describe(name, vals))
		return true
	}
	col := q.stringColumn(name)
	if col == nil {
		return false
	}
	*col = intersect(*col, vals, &q.filter.None)
	q.pushed = append(q.pushed, describe(name, vals))
	return true
}

// intersect narrows a filter list (nil: unrestricted) by a set of values;
// an empty result makes the filter match nothing.
func intersect[T comparable](cur, vals []T, none *bool) []T {
	var out []T
	for _, v := range vals {
		if (cur == nil || slices.Contains(cur, v)) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		*none = true
		return []T{}
	}
	return out
}

func describe(name string, vals []string) string {
	if len(vals) == 1 {
		return name + " == " + strconv.Quote(vals[0])
	}
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return name + " in [" + strings.Join(q, ", ") + "]"
}

func (q *Query) pushRank(op string, n int64) bool {
	lo, hi := int64(finding.Info), int64(finding.Critical)
	switch op {
	case operators.Equals:
		lo, hi = n, n
	case operators.GreaterEquals:
		lo = n
	case operators.Greater:
		lo = n + 1
	case operators.LessEquals:
		hi = n
	case operators.Less:
		hi = n - 1
	default:
		return false
	}
	f := &q.filter
	if f.MinSeverity != nil {
		lo = max(lo, int64(*f.MinSeverity))
	}
	if f.MaxSeverity != nil {
		hi = min(hi, int64(*f.MaxSeverity))
	}
	lo = max(lo, int64(finding.Info))
	hi = min(hi, int64(finding.Critical))
	if lo > hi {
		f.None = true
		lo, hi = int64(finding.Info), int64(finding.Info)
	}
	mn, mx := finding.Severity(lo), finding.Severity(hi)
	f.MinSeverity, f.MaxSeverity = &mn, &mx
	q.pushed = append(q.pushed, fmt.Sprintf("severityRank %s %d", strings.Trim(op, "_"), n))
	return true
}

func (q *Query) pushTime(op string, t time.Time) bool {
	f := &q.filter
	switch op {
	case operators.GreaterEquals, operators.Greater:
		if op == operators.Greater {
			t = t.Add(time.Nanosecond)
		}
		if f.From.IsZero() || t.After(f.From) {
			f.From = t
		}
	case operators.Less, operators.LessEquals:
		if op == operators.LessEquals {
			t = t.Add(time.Nanosecond)
		}
		if f.To.IsZero() || t.Before(f.To) {
			f.To = t
		}
	default:
		return false
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		f.None = true
	}
	q.pushed = append(q.pushed, fmt.Sprintf("time %s %s", strings.Trim(op, "_"), t.Format(time.RFC3339Nano)))
	return true
}
