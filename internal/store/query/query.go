// Package query is Kordon's small query language over the store: a CEL
// filter over records (compiled and type-checked once), a time range, and
// either the matching records or their count grouped by fields. The parts
// of the filter a back end can answer natively — time, type, engine,
// action, rule ID, severity, namespace, kind, name — are pushed down to it
// as a store.Filter; CEL runs only on the records that filter returns, and
// not at all when the whole filter was pushed down. The language is
// documented in docs/server.md.
package query

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/kordon-dev/kordon/internal/store"
)

// Spec is one query, as `kordon query` and the HTTP API take it.
type Spec struct {
	// Filter is a CEL expression over a record's fields, of type bool;
	// empty matches every record.
	Filter string `json:"filter,omitempty"`
	// From (inclusive) and To (exclusive) bound the records' time; zero
	// values do not bound.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Count asks for the number of matching records instead of the
	// records, grouped by GroupBy when given.
	Count bool `json:"count,omitempty"`
	// GroupBy names the fields to count by: type, engine, action, ruleID,
	// severity, namespace, kind, name, or attributes.KEY. It implies Count.
	GroupBy []string `json:"groupBy,omitempty"`
	// Limit bounds the records returned (not counted); 0 means
	// DefaultLimit, and it may not exceed MaxLimit.
	Limit int `json:"limit,omitempty"`
}

// Limits on returned records.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// costLimit bounds the CEL evaluation of one record.
const costLimit = 100000

// Query is a compiled Spec, safe for concurrent use.
type Query struct {
	spec    Spec
	filter  store.Filter
	program cel.Program // nil when the filter is entirely pushed down
	groupBy []groupField
	pushed  []string // the pushed-down conditions, for Explain
	// attrs are the top-level attribute conditions (key → allowed
	// values), given to a store that keeps those attributes natively;
	// attrOnly is set when they are all the program would check.
	attrs    map[string][]string
	attrOnly bool
}

type groupField struct {
	column    store.Column // empty for an attribute
	label     string       // the column's name in queries
	attribute string
}

func (g groupField) name() string {
	if g.column != "" {
		return g.label
	}
	return "attributes." + g.attribute
}

// Compile parses, type-checks and plans a query. The error says what is
// wrong with the filter or which field is unknown.
func Compile(env *Env, s Spec) (*Query, error) { return compile(env, s, true) }

// compile compiles a query; without pushDown the whole filter runs in CEL
// on every record of the time range (the reference the tests compare the
// pushed-down plan with).
func compile(env *Env, s Spec, pushDown bool) (*Query, error) {
	if s.Limit < 0 || s.Limit > MaxLimit {
		return nil, fmt.Errorf("limit %d: want 0 to %d", s.Limit, MaxLimit)
	}
	if s.Limit == 0 {
		s.Limit = DefaultLimit
	}
	if !s.From.IsZero() && !s.To.IsZero() && !s.From.Before(s.To) {
		return nil, fmt.Errorf("time range: from %s is not before to %s", s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	}
	q := &Query{spec: s}
	q.filter.From, q.filter.To = s.From.UTC(), s.To.UTC()
	if !s.From.IsZero() {
		q.pushed = append(q.pushed, "time >= "+s.From.UTC().Format(time.RFC3339Nano))
	}
	if !s.To.IsZero() {
		q.pushed = append(q.pushed, "time < "+s.To.UTC().Format(time.RFC3339Nano))
	}
	for _, g := range s.GroupBy {
		f, err := parseGroupField(g)
		if err != nil {
			return nil, err
		}
		q.groupBy = append(q.groupBy, f)
	}
	if len(q.groupBy) > 0 {
		q.spec.Count = true
	}
	if strings.TrimSpace(s.Filter) == "" {
		return q, nil
	}
	ast, iss := env.cel.Compile(s.Filter)
	if iss.Err() != nil {
		return nil, fmt.Errorf("filter: %w", iss.Err())
	}
	if ast.OutputType() != types.BoolType {
		return nil, fmt.Errorf("filter: has type %s, want bool", ast.OutputType())
	}
	residual := true
	if pushDown {
		residual = q.pushDown(ast.NativeRep().Expr())
	}
	if residual {
		prg, err := env.cel.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		q.program = prg
	}
	return q, nil
}

// groupColumns are the fields a query groups by natively, by their names
// in filters and results.
var groupColumns = []struct {
	name string
	col  store.Column
}{
	{"type", store.ColType},
	{"engine", store.ColEngine},
	{"action", store.ColAction},
	{"ruleID", store.ColRuleID},
	{"severity", store.ColSeverity},
	{"resource.namespace", store.ColNamespace},
	{"resource.kind", store.ColKind},
	{"resource.name", store.ColName},
}

func parseGroupField(s string) (groupField, error) {
	if key, ok := strings.CutPrefix(s, "attributes."); ok && key != "" {
		return groupField{attribute: key}, nil
	}
	names := make([]string, 0, len(groupColumns))
	for _, c := range groupColumns {
		if c.name == s {
			return groupField{column: c.col, label: c.name}, nil
		}
		names = append(names, c.name)
	}
	return groupField{}, fmt.Errorf("group by %q: want one of %s or attributes.KEY", s, strings.Join(names, ", "))
}

// Explain describes how the query runs on a back end without native
// attributes: the conditions the back end evaluates and whether CEL runs
// on what it returns. ExplainFor describes it for a given store.
func (q *Query) Explain() Plan { return q.planFor(nil).plan }

// ExplainFor describes how the query runs on st.
func (q *Query) ExplainFor(st store.Store) Plan { return q.planFor(st).plan }

// runPlan is how a query runs on one store.
type runPlan struct {
	filter store.Filter
	// residual is set when CEL runs on the records the store returns.
	residual bool
	// native marks the group-by fields the store groups by itself.
	native []bool
	plan   Plan
}

// planFor plans the query for st (nil: a store without native
// attributes): attribute conditions and groupings go to a store that
// keeps those attributes natively.
func (q *Query) planFor(st store.Store) runPlan {
	rp := runPlan{filter: q.filter, residual: q.program != nil, native: make([]bool, len(q.groupBy))}
	pushed := slices.Clone(q.pushed)
	var keys []string
	if na, ok := st.(store.NativeAttributes); ok {
		keys = na.NativeAttributes()
	}
	allAttrs := true
	for _, k := range slices.Sorted(maps.Keys(q.attrs)) {
		if !slices.Contains(keys, k) {
			allAttrs = false
			continue
		}
		if rp.filter.Attributes == nil {
			rp.filter.Attributes = map[string][]string{}
		}
		rp.filter.Attributes[k] = q.attrs[k]
		pushed = append(pushed, describe("attributes."+k, q.attrs[k]))
	}
	if rp.residual && q.attrOnly && allAttrs {
		rp.residual = false
	}
	for i, g := range q.groupBy {
		rp.native[i] = g.column != "" || slices.Contains(keys, g.attribute)
	}
	rp.plan = Plan{PushedDown: pushed, Residual: rp.residual, NativeGroups: q.spec.Count && !rp.residual && !slices.Contains(rp.native, false)}
	if rp.plan.PushedDown == nil {
		rp.plan.PushedDown = []string{}
	}
	if q.filter.None {
		rp.plan.PushedDown = append(rp.plan.PushedDown, "false")
	}
	return rp
}

// Plan is how a query runs (part of the result's JSON).
type Plan struct {
	// PushedDown are the conditions the store evaluates from its indexes.
	PushedDown []string `json:"pushedDown"`
	// Residual is true when the CEL filter also runs on each record the
	// store returns.
	Residual bool `json:"residual"`
	// NativeGroups is true when the store counts and groups by itself.
	NativeGroups bool `json:"nativeGroups"`
}

// Result is what a query returns; its JSON is the documented contract of
// `kordon query -o json` and POST /api/v1/query.
type Result struct {
	// Count is the number of matching records (count queries), or of
	// returned records.
	Count int64 `json:"count"`
	// Groups are the counts by GroupBy, largest first (count queries with
	// GroupBy).
	Groups []GroupCount `json:"groups,omitempty"`
	// Records are the matching records, oldest first (record queries).
	Records []Record `json:"records,omitempty"`
	// Truncated is set when more records matched than Limit.
	Truncated bool `json:"truncated,omitempty"`
	// EvalErrors counts records on which the filter failed (a missing
	// attribute, the cost limit) and which therefore did not match;
	// FirstEvalError says why the first one failed.
	EvalErrors     int64  `json:"evalErrors,omitempty"`
	FirstEvalError string `json:"firstEvalError,omitempty"`
	Plan           Plan   `json:"plan"`
}

// GroupCount is one group of a count: the grouped fields' values by name.
type GroupCount struct {
	Key   map[string]string `json:"key"`
	Count int64             `json:"count"`
}

// Run runs the query against a store. It stops when ctx is done.
func (q *Query) Run(ctx context.Context, st store.Store) (*Result, error) {
	rp := q.planFor(st)
	res := &Result{Plan: rp.plan}
	if q.spec.Count && res.Plan.NativeGroups {
		cols := make([]store.Column, len(q.groupBy))
		for i, g := range q.groupBy {
			cols[i] = g.column
			if g.column == "" {
				cols[i] = store.AttributeColumn(g.attribute)
			}
		}
		groups, err := st.Count(ctx, rp.filter, cols)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			res.Count += g.Count
			if len(cols) > 0 {
				res.Groups = append(res.Groups, q.groupCount(g.Key, g.Count))
			}
		}
		q.sortGroups(res.Groups)
		return res, nil
	}
	counts := map[string]*GroupCount{}
	var order []*GroupCount
	// No limit is passed to the store: the residual may reject records, so
	// the scan stops itself after Limit matches.
	err := st.Scan(ctx, rp.filter, 0, func(r *store.Record) error {
		if rp.residual {
			ok, err := q.match(ctx, r)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				res.EvalErrors++
				if res.FirstEvalError == "" {
					res.FirstEvalError = fmt.Sprintf("record %d: %v", r.ID, err)
				}
				return nil
			}
			if !ok {
				return nil
			}
		}
		if !q.spec.Count {
			if len(res.Records) == q.spec.Limit {
				res.Truncated = true
				return store.ErrStop
			}
			res.Records = append(res.Records, newRecord(r))
			res.Count++
			return nil
		}
		res.Count++
		if len(q.groupBy) == 0 {
			return nil
		}
		key := make([]string, len(q.groupBy))
		for i, g := range q.groupBy {
			if g.column != "" {
				key[i] = g.column.Value(r)
			} else {
				key[i] = r.Event.Attributes[g.attribute]
			}
		}
		k := strings.Join(key, "\x00")
		gc := counts[k]
		if gc == nil {
			c := q.groupCount(key, 0)
			gc = &c
			counts[k] = gc
			order = append(order, gc)
		}
		gc.Count++
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, g := range order {
		res.Groups = append(res.Groups, *g)
	}
	q.sortGroups(res.Groups)
	return res, nil
}

// sortGroups orders groups largest first, then by their keys' values in
// GroupBy order.
func (q *Query) sortGroups(gs []GroupCount) {
	slices.SortStableFunc(gs, func(a, b GroupCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		for _, g := range q.groupBy {
			if c := strings.Compare(a.Key[g.name()], b.Key[g.name()]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func (q *Query) groupCount(key []string, n int64) GroupCount {
	g := GroupCount{Key: make(map[string]string, len(key)), Count: n}
	for i, f := range q.groupBy {
		g.Key[f.name()] = key[i]
	}
	return g
}

// Matches reports whether a record matches the query's filter and time
// range (for alert rules that evaluate records as they arrive).
func (q *Query) Matches(ctx context.Context, r *store.Record) (bool, error) {
	if !matchesFilter(&q.filter, r) {
		return false, nil
	}
	if q.program == nil {
		return true, nil
	}
	return q.match(ctx, r)
}

func (q *Query) match(ctx context.Context, r *store.Record) (bool, error) {
	out, _, err := q.program.ContextEval(ctx, &activation{r: r})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("filter returned %v, not a bool", out)
	}
	return b, nil
}

// FieldValue returns a record's value of a group-by field (type, engine,
// action, ruleID, severity, resource.namespace, resource.kind,
// resource.name, attributes.KEY); "" for an unknown field or a missing
// attribute.
func FieldValue(r *store.Record, field string) string {
	g, err := parseGroupField(field)
	if err != nil {
		return ""
	}
	if g.column != "" {
		return g.column.Value(r)
	}
	return r.Event.Attributes[g.attribute]
}
