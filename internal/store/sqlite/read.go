package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// cond is a filter rendered as SQL over an ev_ table's columns.
type cond struct {
	sql  string
	args []any
	// rest and restArgs are the conditions other than time; summable is
	// set when they only concern the columns of the sums tables.
	rest     string
	restArgs []any
	summable bool
	// restCols are the columns the conditions other than time concern.
	restCols []string
	// from and to bound the days to read.
	from, to       int64
	hasFrom, hasTo bool
}

// covers reports whether the filter's time range holds all of day d.
func (c cond) covers(d int64) bool {
	start := d * dayNanos
	if start > math.MaxInt64-dayNanos {
		return false
	}
	return (!c.hasFrom || c.from <= start) && (!c.hasTo || c.to >= start+dayNanos)
}

// where renders a filter as an SQL condition; col qualifies the columns
// ("e." or ""). An attribute key the store does not keep in a column is
// an error.
func where(f store.Filter, col string) (cond, error) {
	c := cond{hasFrom: !f.From.IsZero(), hasTo: !f.To.IsZero()}
	if f.None {
		c.sql, c.rest, c.summable = "0", "0", true
		return c, nil
	}
	var timeConds []string
	if c.hasFrom {
		c.from = f.From.UnixNano()
		timeConds = append(timeConds, col+"time >= ?")
		c.args = append(c.args, c.from)
	}
	if c.hasTo {
		c.to = f.To.UnixNano()
		timeConds = append(timeConds, col+"time < ?")
		c.args = append(c.args, c.to)
	}
	c.summable = len(f.Namespaces) == 0 && len(f.Kinds) == 0 && len(f.Names) == 0 && len(f.Attributes) == 0
	var conds []string
	in := func(name string, n int, arg func(i int) any) {
		if n == 0 {
			return
		}
		c.restCols = append(c.restCols, name)
		if n == 1 {
			conds = append(conds, col+name+" = ?")
			c.restArgs = append(c.restArgs, arg(0))
			return
		}
		conds = append(conds, col+name+" IN ("+strings.Repeat("?,", n-1)+"?)")
		for i := range n {
			c.restArgs = append(c.restArgs, arg(i))
		}
	}
	in("type", len(f.Types), func(i int) any { return int(f.Types[i]) })
	strs := func(name string, vs []string) { in(name, len(vs), func(i int) any { return vs[i] }) }
	strs("engine", f.Engines)
	strs("action", f.Actions)
	strs("rule_id", f.RuleIDs)
	strs("namespace", f.Namespaces)
	strs("kind", f.Kinds)
	strs("name", f.Names)
	in("severity", len(f.Severities), func(i int) any { return int(f.Severities[i]) })
	if f.MinSeverity != nil || f.MaxSeverity != nil {
		c.restCols = append(c.restCols, "severity")
	}
	if f.MinSeverity != nil {
		conds = append(conds, col+"severity >= ?")
		c.restArgs = append(c.restArgs, int(*f.MinSeverity))
	}
	if f.MaxSeverity != nil {
		conds = append(conds, col+"severity <= ?")
		c.restArgs = append(c.restArgs, int(*f.MaxSeverity))
	}
	keys := make([]string, 0, len(f.Attributes))
	for k := range f.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(attributeKeys, k) {
			return cond{}, fmt.Errorf("filter: attribute %q is not kept in a column (want one of %s)", k, strings.Join(attributeKeys, ", "))
		}
		vs := f.Attributes[k]
		if len(vs) == 0 {
			c.restCols = append(c.restCols, attrColumn(k))
			conds = append(conds, "0")
			continue
		}
		// A missing attribute is NULL, which equals nothing.
		strs(attrColumn(k), vs)
	}
	c.rest = "1"
	if len(conds) > 0 {
		c.rest = strings.Join(conds, " AND ")
	}
	c.sql = strings.Join(append(timeConds, conds...), " AND ")
	if c.sql == "" {
		c.sql = "1"
	}
	c.args = append(c.args, c.restArgs...)
	return c, nil
}

// readDays starts a read transaction (one snapshot for every day's
// tables) and returns the days of the filter's time range, oldest first.
func (s *Store) readDays(ctx context.Context, c cond) (*sql.Tx, []int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	days, err := listDays(ctx, tx)
	if err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	if c.sql == "0" {
		days = nil
	}
	return tx, daysIn(days, c.from, c.to, c.hasFrom, c.hasTo), nil
}

// Scan calls fn for every matching record, oldest first (by time, then
// ID): day by day, as days hold disjoint time ranges.
func (s *Store) Scan(ctx context.Context, f store.Filter, limit int, fn func(*store.Record) error) error {
	c, err := where(f, "e.")
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	tx, days, err := s.readDays(ctx, c)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	defer tx.Rollback()
	var rec store.Record
	left := limit
	for _, d := range days {
		q := fmt.Sprintf("SELECT e.id, e.%s, d.doc FROM %s e JOIN %s d ON d.id = e.id WHERE %s ORDER BY e.time, e.id",
			strings.Join(evColumns, ", e."), evTable(d), docTable(d), c.sql)
		if limit > 0 {
			q += fmt.Sprintf(" LIMIT %d", left)
		}
		n, err := scanDay(ctx, tx, q, c.args, &rec, fn)
		if errors.Is(err, store.ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
		if limit > 0 {
			if left -= n; left <= 0 {
				return nil
			}
		}
	}
	return nil
}

// scanDay runs one day's query and calls fn for each row; it returns
// how many rows it read.
func scanDay(ctx context.Context, tx *sql.Tx, q string, args []any, rec *store.Record, fn func(*store.Record) error) (int, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("scan: %w", err)
	}
	defer rows.Close()
	var (
		doc      []byte
		typ, sev int
		ns       int64
		attrs    = make([]sql.NullString, len(attributeKeys))
		e        = &rec.Event
		res      = &e.Resource
		dest     = []any{&rec.ID, &typ, &ns, &e.Engine, &e.Action, &e.RuleID, &sev, &res.Namespace, &res.Kind, &res.Name}
		n        int
	)
	for i := range attrs {
		dest = append(dest, &attrs[i])
	}
	dest = append(dest, &doc)
	for rows.Next() {
		rec.Event = finding.Event{}
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("scan: %w", err)
		}
		n++
		// The document holds the fields without columns; the columns
		// overwrite what it holds of theirs (a version 1 document holds
		// them all).
		var d finding.Event
		if err := json.Unmarshal(doc, &d); err != nil {
			return n, fmt.Errorf("scan: record %d: %w", rec.ID, err)
		}
		d.Time = time.Unix(0, ns).UTC()
		d.Engine, d.Action, d.RuleID, d.Severity = e.Engine, e.Action, e.RuleID, finding.Severity(sev)
		d.Resource.Namespace, d.Resource.Kind, d.Resource.Name = res.Namespace, res.Kind, res.Name
		for i, a := range attrs {
			if !a.Valid {
				continue
			}
			if d.Attributes == nil {
				d.Attributes = make(map[string]string, len(attrs))
			}
			d.Attributes[attributeKeys[i]] = a.String
		}
		rec.Type = store.Type(typ)
		rec.Event = d
		if err := fn(rec); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("scan: %w", err)
	}
	return n, nil
}

var columnSQL = map[store.Column]string{
	store.ColType:      "type",
	store.ColEngine:    "engine",
	store.ColAction:    "action",
	store.ColRuleID:    "rule_id",
	store.ColSeverity:  "severity",
	store.ColNamespace: "namespace",
	store.ColKind:      "kind",
	store.ColName:      "name",
}

// groupSQL returns the SQL expression a column groups by.
func groupSQL(c store.Column) (string, error) {
	if s, ok := columnSQL[c]; ok {
		return s, nil
	}
	if k, ok := c.Attribute(); ok && slices.Contains(attributeKeys, k) {
		return "COALESCE(" + attrColumn(k) + ", '')", nil
	}
	return "", fmt.Errorf("cannot group by %q", c)
}

// Count counts the matching records, grouped by the columns: day by day,
// adding up the days' groups.
func (s *Store) Count(ctx context.Context, f store.Filter, by []store.Column) ([]store.Group, error) {
	c, err := where(f, "")
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	cols := make([]string, len(by))
	for i, col := range by {
		if cols[i], err = groupSQL(col); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		if !slices.Contains(strings.Split(sumColumns, ", "), cols[i]) {
			c.summable = false
		}
	}
	tx, days, err := s.readDays(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	defer tx.Rollback()
	type group struct {
		vals []any // int64 or string, as SQL orders them
		n    int64
	}
	groups := map[string]*group{}
	var order []*group
	dest := make([]any, len(cols)+1)
	vals := make([]any, len(cols))
	for _, d := range days {
		// A day the time range covers whole is counted from its sums when
		// the filter and groups only concern their columns.
		q, args := "SELECT ", c.args
		if len(cols) > 0 {
			q += strings.Join(cols, ", ") + ", "
		}
		if c.summable && c.covers(d) {
			q += "SUM(n) FROM " + sumTable(d) + " WHERE " + c.rest
			args = c.restArgs
		} else {
			q += "COUNT(*) FROM " + evTable(d) + indexFor(c, cols, d) + " WHERE " + c.sql
		}
		if len(cols) > 0 {
			q += " GROUP BY " + strings.Join(cols, ", ")
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		for rows.Next() {
			for i := range vals {
				dest[i] = &vals[i]
			}
			var n sql.NullInt64 // SUM of no rows is NULL
			dest[len(cols)] = &n
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count: %w", err)
			}
			key := make([]any, len(cols))
			var kb strings.Builder
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				key[i] = v
				fmt.Fprintf(&kb, "%T:%v\x00", v, v)
			}
			g := groups[kb.String()]
			if g == nil {
				g = &group{vals: key}
				groups[kb.String()] = g
				order = append(order, g)
			}
			g.n += n.Int64
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
	}
	slices.SortStableFunc(order, func(a, b *group) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		for i := range a.vals {
			if c := compareSQL(a.vals[i], b.vals[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	var out []store.Group
	for _, g := range order {
		if g.n == 0 {
			continue
		}
		sg := store.Group{Count: g.n, Key: make([]string, len(cols))}
		for i, col := range by {
			sg.Key[i] = columnString(col, g.vals[i])
		}
		out = append(out, sg)
	}
	if len(out) == 0 && len(by) == 0 {
		var total int64
		for _, g := range order {
			total += g.n
		}
		out = append(out, store.Group{Key: []string{}, Count: total})
	}
	return out, nil
}

// indexFor returns an INDEXED BY clause when a whole day is grouped by
// one indexed column (namespace, rule) and filtered on nothing else: the
// index holds all the query needs, in group order, so reading it beats
// the time-ordered rows and a sort (about five times). SQLite, without
// statistics, would take the rows.
func indexFor(c cond, cols []string, d int64) string {
	if len(cols) != 1 || !c.covers(d) {
		return ""
	}
	var index string
	switch cols[0] {
	case "namespace":
		index = evTable(d) + "_namespace"
	case "rule_id":
		index = evTable(d) + "_rule"
	default:
		return ""
	}
	for _, rc := range c.restCols {
		if rc != cols[0] {
			return ""
		}
	}
	return " INDEXED BY " + index
}

// compareSQL orders two grouped values as SQLite does: numbers before
// text.
func compareSQL(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// columnString renders a grouped column's SQL value as the store.Column's
// string form.
func columnString(c store.Column, v any) string {
	switch c {
	case store.ColType:
		n, _ := v.(int64)
		return store.Type(n).String()
	case store.ColSeverity:
		n, _ := v.(int64)
		return finding.Severity(n).String()
	}
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}
