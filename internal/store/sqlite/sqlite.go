// Package sqlite is the embedded back end of Kordon's store: one SQLite
// database file (modernc.org/sqlite, pure Go, no cgo) holding Findings and
// Events in one table, with the native columns of store.Filter indexed so
// that time ranges, namespaces and rule IDs are answered from indexes.
// The schema is documented in docs/server.md.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// schemaVersion is kept in PRAGMA user_version; a database with a newer
// version is refused rather than misread.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS records (
  id        INTEGER PRIMARY KEY,
  type      INTEGER NOT NULL,
  time      INTEGER NOT NULL,
  engine    TEXT    NOT NULL,
  action    TEXT    NOT NULL,
  rule_id   TEXT    NOT NULL,
  severity  INTEGER NOT NULL,
  namespace TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  name      TEXT    NOT NULL,
  doc       BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS records_time ON records(time);
CREATE INDEX IF NOT EXISTS records_namespace_time ON records(namespace, time);
CREATE INDEX IF NOT EXISTS records_rule_time ON records(rule_id, time);
CREATE INDEX IF NOT EXISTS records_engine_time ON records(engine, time);
`

// Store is a store.Store in one SQLite file. It is safe for concurrent
// use: writes are serialised, reads run beside them (WAL mode).
type Store struct {
	db *sql.DB
	// mu serialises writers (append, retention), which SQLite runs one at
	// a time anyway; holding it avoids busy retries.
	mu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database at path and brings its schema up to
// date. An error names the path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := OpenDB(path, 4, "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "auto_vacuum(INCREMENTAL)", "cache_size(-65536)", "temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// OpenDB opens the SQLite database at path with modernc.org/sqlite, each
// pragma (such as "journal_mode(WAL)") applied to every connection, and at
// most maxConns connections. Other packages that keep their own SQLite file
// beside the store open it here.
func OpenDB(path string, maxConns int, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxConns)
	return db, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this kordon's (%d)", v, schemaVersion)
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Append stores the records in one transaction and sets their IDs.
func (s *Store) Append(ctx context.Context, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	defer tx.Rollback()
	// Rows go in statements of up to insertRows rows: one statement per
	// row spends more time in database/sql than in SQLite.
	full, err := tx.PrepareContext(ctx, insertSQL(insertRows))
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	defer full.Close()
	args := make([]any, 0, insertRows*10)
	for start := 0; start < len(recs); start += insertRows {
		chunk := recs[start:min(start+insertRows, len(recs))]
		args = args[:0]
		for i := range chunk {
			e := &chunk[i].Event
			e.Time = e.Time.UTC()
			doc, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("append record %d: %w", start+i, err)
			}
			args = append(args, int(chunk[i].Type), e.Time.UnixNano(), asJSON(e.Engine), asJSON(e.Action), asJSON(e.RuleID), int(e.Severity),
				asJSON(e.Resource.Namespace), asJSON(e.Resource.Kind), asJSON(e.Resource.Name), doc)
		}
		stmt := full
		if len(chunk) < insertRows {
			if stmt, err = tx.PrepareContext(ctx, insertSQL(len(chunk))); err != nil {
				return fmt.Errorf("append: %w", err)
			}
			defer stmt.Close()
		}
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("append records %d to %d: %w", start, start+len(chunk)-1, err)
		}
		// SQLite gives rows of one INSERT consecutive rowids (the table
		// is only appended to under s.mu, and ids never reach the maximum).
		last, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("append: %w", err)
		}
		for i := range chunk {
			chunk[i].ID = last - int64(len(chunk)-1-i)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// asJSON returns s as the JSON document keeps it, each invalid UTF-8 byte
// replaced by U+FFFD, so that the columns hold what a query shows.
func asJSON(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // utf8.RuneError for each invalid byte
	}
	return b.String()
}

// insertRows is the number of rows of one INSERT statement (10 values a
// row, under SQLite's limit of 32,766 variables).
const insertRows = 500

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO records(type, time, engine, action, rule_id, severity, namespace, kind, name, doc) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// where renders a filter as an SQL condition with its arguments.
func where(f store.Filter) (string, []any) {
	if f.None {
		return "0", nil
	}
	var conds []string
	var args []any
	if !f.From.IsZero() {
		conds = append(conds, "time >= ?")
		args = append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		conds = append(conds, "time < ?")
		args = append(args, f.To.UnixNano())
	}
	in := func(col string, n int, arg func(i int) any) {
		if n == 0 {
			return
		}
		if n == 1 {
			conds = append(conds, col+" = ?")
			args = append(args, arg(0))
			return
		}
		conds = append(conds, col+" IN ("+strings.Repeat("?,", n-1)+"?)")
		for i := range n {
			args = append(args, arg(i))
		}
	}
	in("type", len(f.Types), func(i int) any { return int(f.Types[i]) })
	strs := func(col string, vs []string) { in(col, len(vs), func(i int) any { return vs[i] }) }
	strs("engine", f.Engines)
	strs("action", f.Actions)
	strs("rule_id", f.RuleIDs)
	strs("namespace", f.Namespaces)
	strs("kind", f.Kinds)
	strs("name", f.Names)
	in("severity", len(f.Severities), func(i int) any { return int(f.Severities[i]) })
	if f.MinSeverity != nil {
		conds = append(conds, "severity >= ?")
		args = append(args, int(*f.MinSeverity))
	}
	if f.MaxSeverity != nil {
		conds = append(conds, "severity <= ?")
		args = append(args, int(*f.MaxSeverity))
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// Scan calls fn for every matching record, oldest first.
func (s *Store) Scan(ctx context.Context, f store.Filter, limit int, fn func(*store.Record) error) error {
	cond, args := where(f)
	q := "SELECT id, type, doc FROM records WHERE " + cond + " ORDER BY time, id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	defer rows.Close()
	var rec store.Record
	var doc []byte
	for rows.Next() {
		var typ int
		if err := rows.Scan(&rec.ID, &typ, &doc); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		rec.Type = store.Type(typ)
		rec.Event = finding.Event{}
		if err := json.Unmarshal(doc, &rec.Event); err != nil {
			return fmt.Errorf("scan: record %d: %w", rec.ID, err)
		}
		if err := fn(&rec); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
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

// Count counts the matching records, grouped by the columns.
func (s *Store) Count(ctx context.Context, f store.Filter, by []store.Column) ([]store.Group, error) {
	cond, args := where(f)
	var cols []string
	for _, c := range by {
		sqlCol, ok := columnSQL[c]
		if !ok {
			return nil, fmt.Errorf("count: cannot group by %q", c)
		}
		cols = append(cols, sqlCol)
	}
	q := "SELECT "
	if len(cols) > 0 {
		q += strings.Join(cols, ", ") + ", "
	}
	q += "COUNT(*) FROM records WHERE " + cond
	if len(cols) > 0 {
		q += " GROUP BY " + strings.Join(cols, ", ") + " ORDER BY COUNT(*) DESC, " + strings.Join(cols, ", ")
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	defer rows.Close()
	var out []store.Group
	dest := make([]any, len(cols)+1)
	vals := make([]any, len(cols))
	for rows.Next() {
		for i := range vals {
			dest[i] = &vals[i]
		}
		var n int64
		dest[len(cols)] = &n
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		g := store.Group{Count: n, Key: make([]string, len(cols))}
		for i, c := range by {
			g.Key[i] = columnString(c, vals[i])
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	if len(out) == 0 && len(by) == 0 {
		out = append(out, store.Group{Key: []string{}})
	}
	return out, nil
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

// retainBatch bounds one delete, so that readers and writers are never
// held up for long by retention.
const retainBatch = 20000

// Retain removes records older than MaxAge, then the oldest records until
// the used size is at most MaxBytes, in batches, and returns the freed
// pages to the file system.
func (s *Store) Retain(ctx context.Context, r store.Retention, now time.Time) (int64, error) {
	var removed int64
	if r.MaxAge > 0 {
		cut := now.Add(-r.MaxAge).UnixNano()
		for {
			n, err := s.deleteBatch(ctx, "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE time < ? LIMIT ?)", cut, retainBatch)
			removed += n
			if err != nil {
				return removed, fmt.Errorf("retention by age: %w", err)
			}
			if n < retainBatch {
				break
			}
		}
	}
	if r.MaxBytes > 0 {
		for {
			used, count, err := s.used(ctx)
			if err != nil {
				return removed, fmt.Errorf("retention by size: %w", err)
			}
			if used <= r.MaxBytes || count == 0 {
				break
			}
			// Delete the share of the oldest records that holds the excess,
			// at least one and at most one batch.
			n := (used - r.MaxBytes) * count / used
			n = min(max(n+1, 1), retainBatch)
			got, err := s.deleteBatch(ctx, "DELETE FROM records WHERE id IN (SELECT id FROM records ORDER BY time, id LIMIT ?)", n)
			removed += got
			if err != nil {
				return removed, fmt.Errorf("retention by size: %w", err)
			}
			if got == 0 {
				break
			}
		}
	}
	if removed > 0 {
		s.mu.Lock()
		_, err := s.db.ExecContext(ctx, "PRAGMA incremental_vacuum")
		if err == nil {
			_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		}
		s.mu.Unlock()
		if err != nil {
			return removed, fmt.Errorf("retention: vacuum: %w", err)
		}
	}
	return removed, nil
}

func (s *Store) deleteBatch(ctx context.Context, q string, args ...any) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// used returns the bytes of the database's pages in use and the number of
// records.
func (s *Store) used(ctx context.Context) (int64, int64, error) {
	var pages, free, size, count int64
	for _, p := range []struct {
		q   string
		dst *int64
	}{
		{"PRAGMA page_count", &pages},
		{"PRAGMA freelist_count", &free},
		{"PRAGMA page_size", &size},
		{"SELECT COUNT(*) FROM records", &count},
	} {
		if err := s.db.QueryRowContext(ctx, p.q).Scan(p.dst); err != nil {
			return 0, 0, err
		}
	}
	return (pages - free) * size, count, nil
}

// Stats reports the number of records, the used size and the time span.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	used, count, err := s.used(ctx)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := store.Stats{Records: count, Bytes: used}
	if count > 0 {
		var lo, hi int64
		if err := s.db.QueryRowContext(ctx, "SELECT MIN(time), MAX(time) FROM records").Scan(&lo, &hi); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		st.Oldest, st.Newest = time.Unix(0, lo).UTC(), time.Unix(0, hi).UTC()
	}
	return st, nil
}
