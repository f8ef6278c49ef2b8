package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A day is a UTC calendar day, numbered from the Unix epoch; every day
// holding records has two tables: ev_YYYYMMDD (the columns) and
// doc_YYYYMMDD (the documents), joined by id.
const dayNanos = int64(24 * time.Hour)

// dayOf returns the day of a time in Unix nanoseconds.
func dayOf(ns int64) int64 {
	d := ns / dayNanos
	if ns%dayNanos < 0 {
		d--
	}
	return d
}

func dayName(d int64) string { return time.Unix(d*86400, 0).UTC().Format("20060102") }

func evTable(d int64) string  { return "ev_" + dayName(d) }
func docTable(d int64) string { return "doc_" + dayName(d) }
func sumTable(d int64) string { return "sum_" + dayName(d) }

// attributeKeys are the attributes kept in columns of their own (as
// attr_KEY, NULL when absent), so that filters and groupings on them run
// in SQL: those of flows, the most numerous records. Each column costs
// ingest time on every record (a bound value), so the list is short;
// changing it needs a schema migration.
var attributeKeys = []string{"verdict", "protocol", "src", "dst", "srcPort", "dstPort"}

func attrColumn(key string) string { return "attr_" + key }

// NativeAttributes returns the attribute keys the store filters and
// groups by in SQL (store.NativeAttributes).
func (s *Store) NativeAttributes() []string { return slices.Clone(attributeKeys) }

// evColumns are the columns of an ev_ table after id, in insert order.
var evColumns = func() []string {
	cols := []string{"type", "time", "engine", "action", "rule_id", "severity", "namespace", "kind", "name"}
	for _, k := range attributeKeys {
		cols = append(cols, attrColumn(k))
	}
	return cols
}()

// dayTablesSQL creates the tables and indexes of a day. The table is
// clustered by time; the indexes serve the selective filters (namespace,
// rule). Engine and action have no index: most records share a few
// engines, so a time-range scan of the narrow rows beats one lookup a row
// (and SQLite, lacking statistics, would take an index on them even for
// an hour of the commonest engine). The sums table counts the day's
// records by the columns of sumColumns, for whole-day counts.
func dayTablesSQL(d int64) string {
	ev, doc := evTable(d), docTable(d)
	var b strings.Builder
	fmt.Fprintf(&b, `CREATE TABLE IF NOT EXISTS %s (
  id        INTEGER NOT NULL,
  type      INTEGER NOT NULL,
  time      INTEGER NOT NULL,
  engine    TEXT    NOT NULL,
  action    TEXT    NOT NULL,
  rule_id   TEXT    NOT NULL,
  severity  INTEGER NOT NULL,
  namespace TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  name      TEXT    NOT NULL`, ev)
	for _, k := range attributeKeys {
		fmt.Fprintf(&b, ",\n  %s TEXT", attrColumn(k))
	}
	fmt.Fprintf(&b, `,
  PRIMARY KEY (time, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS %[2]s (id INTEGER PRIMARY KEY, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS %[1]s_namespace ON %[1]s(namespace, time);
CREATE INDEX IF NOT EXISTS %[1]s_rule ON %[1]s(rule_id, time);
CREATE TABLE IF NOT EXISTS %[3]s (
  type INTEGER NOT NULL, engine TEXT NOT NULL, action TEXT NOT NULL, rule_id TEXT NOT NULL, severity INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (type, engine, action, rule_id, severity)
) WITHOUT ROWID;
`, ev, doc, sumTable(d))
	return b.String()
}

// sumColumns are the columns a day's sums table counts by: few distinct
// combinations (hundreds a day), unlike namespaces and names.
const sumColumns = "type, engine, action, rule_id, severity"

// rowsQuerier is a *sql.DB, *sql.Conn or *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listDays returns the days that have tables, oldest first.
func listDays(ctx context.Context, q rowsQuerier) ([]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'ev_[0-9]*'")
	if err != nil {
		return nil, fmt.Errorf("list days: %w", err)
	}
	defer rows.Close()
	var days []int64
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list days: %w", err)
		}
		t, err := time.Parse("20060102", strings.TrimPrefix(name, "ev_"))
		if err != nil {
			return nil, fmt.Errorf("list days: table %s: %w", name, err)
		}
		days = append(days, dayOf(t.UnixNano()))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list days: %w", err)
	}
	slices.Sort(days)
	return days, nil
}

// daysIn keeps the days that overlap [from, to) in Unix nanoseconds
// (hasFrom, hasTo false: unbounded).
func daysIn(days []int64, from, to int64, hasFrom, hasTo bool) []int64 {
	var out []int64
	for _, d := range days {
		if (hasFrom && d < dayOf(from)) || (hasTo && d > dayOf(to-1)) {
			continue
		}
		out = append(out, d)
	}
	return out
}
