// Package postgres is the PostgreSQL back end of Kordon's store, for when
// one node's SQLite file is not enough: the same store.Store on a server
// that several kordon servers (and `kordon query`) share. It talks to the
// server with github.com/jackc/pgx/v5 (pure Go) through a connection pool.
//
// Records live in one table, kordon_records, with the native columns of
// store.Filter indexed as the SQLite back end indexes them; appends go in
// with COPY; counts are grouped by the server; a one-row table keeps the
// record count and an estimate of the bytes held, so that Stats and
// retention by size never scan the table. The schema, its versions and the
// size estimate are documented in docs/server.md ("PostgreSQL").
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// IsURL reports whether s names a PostgreSQL server (a postgres:// or
// postgresql:// URL) rather than a file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// sessionDefaults are the settings of kordon's sessions unless the URL
// sets them (?random_page_cost=4): the records a query reads are recent
// and usually cached, so an index that names the rule or namespace beats
// the time index even though its rows lie apart on disk; and every query
// is planned for its own time range rather than once for any range.
var sessionDefaults = map[string]string{
	"application_name": "kordon",
	"random_page_cost": "1.1",
	"plan_cache_mode":  "force_custom_plan",
}

// DefaultMaxConns is the size of the connection pool when the URL sets no
// pool_max_conns: enough for ingest, queries, the console, alerts and
// retention at once.
const DefaultMaxConns = 10

// DefaultConnectTimeout bounds connecting to the server when the URL sets
// no connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// Store is a store.Store on a PostgreSQL server. It is safe for concurrent
// use: appends, scans and retention run on separate pooled connections.
type Store struct {
	pool *pgxpool.Pool
	// where names the server and database in errors ("postgres
	// host:5432/kordon"), never the password.
	where string
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.NativeAttributes = (*Store)(nil)
)

// attributeKeys are the attributes kept in columns of their own (those of
// flows, as the SQLite back end keeps them), in column order.
var attributeKeys = []string{"verdict", "protocol", "src", "dst", "srcPort", "dstPort"}

// attrColumn is the quoted column of an attribute key.
func attrColumn(key string) string { return `"attr_` + strings.ToLower(key) + `"` }

// NativeAttributes returns the attribute keys the store filters and groups
// by in SQL (store.NativeAttributes).
func (s *Store) NativeAttributes() []string { return slices.Clone(attributeKeys) }

// Open connects to the server at url (postgres://user@host:port/db?...;
// libpq's parameters such as sslmode, connect_timeout and search_path, and
// pgxpool's pool_max_conns (default DefaultMaxConns), are honoured), checks that the database is
// UTF-8, and creates or upgrades Kordon's tables. Errors name the server
// and database, never the password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cc := cfg.ConnConfig
	where := fmt.Sprintf("postgres %s/%s", hostPort(cc.Host, cc.Port), cc.Database)
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	for k, v := range sessionDefaults {
		if _, ok := cc.RuntimeParams[k]; !ok {
			cc.RuntimeParams[k] = v
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	s := &Store{pool: pool, where: where}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, s.err("open", err)
	}
	return s, nil
}

func hostPort(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("%s/.s.PGSQL.%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// err wraps an error with the operation and the server it failed on.
func (s *Store) err(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.where, op, err)
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// rowOverhead is the bytes a record is counted for beyond its JSON
// document: its copies of the native columns, the tuple header and its
// entries in the five indexes, measured on the generated benchmark data
// (docs/server.md). The estimate is what retention by size bounds.
const rowOverhead = 290

// Append stores the records with COPY in one transaction and sets their
// IDs, increasing in the order given.
func (s *Store) Append(ctx context.Context, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([][]any, len(recs))
	var bytes int64
	for i := range recs {
		e := &recs[i].Event
		e.Time = e.Time.UTC()
		doc, err := json.Marshal(e)
		if err != nil {
			return s.err("append", fmt.Errorf("record %d: %w", i, err))
		}
		bytes += int64(len(doc)) + rowOverhead
		row := []any{nil, int16(recs[i].Type), e.Time.UnixNano(), Text(e.Engine), Text(e.Action), Text(e.RuleID),
			int16(e.Severity), Text(e.Resource.Namespace), Text(e.Resource.Kind), Text(e.Resource.Name), doc}
		for _, k := range attributeKeys {
			if v, ok := e.Attributes[k]; ok {
				row = append(row, Text(v))
			} else {
				row = append(row, nil)
			}
		}
		rows[i] = row
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.err("append", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// IDs are taken from the sequence first, so that COPY (which returns
	// nothing) can carry them.
	idRows, err := tx.Query(ctx, "SELECT nextval('kordon_records_id') FROM generate_series(1, $1)", len(recs))
	if err != nil {
		return s.err("append: reserve ids", err)
	}
	ids, err := pgx.CollectRows(idRows, pgx.RowTo[int64])
	if err != nil {
		return s.err("append: reserve ids", err)
	}
	for i := range rows {
		rows[i][0] = ids[i]
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kordon_records"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
		return s.err("append", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE kordon_stats SET records = records + $1, bytes = bytes + $2", len(recs), bytes); err != nil {
		return s.err("append: count", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.err("append", err)
	}
	for i := range recs {
		recs[i].ID = ids[i]
	}
	return nil
}

var recordColumns = func() []string {
	cols := []string{"id", "type", "time_ns", "engine", "action", "rule_id", "severity", "namespace", "kind", "name", "doc"}
	for _, k := range attributeKeys {
		cols = append(cols, "attr_"+strings.ToLower(k))
	}
	return cols
}()

// Text returns s as the native columns keep it. PostgreSQL's text holds
// neither NUL bytes nor invalid UTF-8, so both become U+FFFD (as invalid
// UTF-8 does in the JSON document); and an index entry must stay under
// about 2.7 kB, so a value longer than maxColumn bytes is kept as its
// first bytes, "…" and a SHA-256 of the whole value. Filter values go
// through the same mapping, so a filter still matches exactly the records
// it names; only a grouped count shows the shortened form.
func Text(s string) string {
	if len(s) <= maxColumn && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	// As encoding/json does: each invalid byte becomes one U+FFFD.
	var b strings.Builder
	for _, r := range s {
		if r == 0 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > maxColumn {
		sum := sha256.Sum256([]byte(s))
		cut := maxColumn - 100
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// maxColumn is the longest value a text column keeps whole.
const maxColumn = 1000

func texts(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = Text(v)
	}
	return out
}

// where renders a filter as an SQL condition with its arguments, numbered
// from $1.
func where(f store.Filter) (string, []any) {
	if f.None {
		return "false", nil
	}
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !f.From.IsZero() {
		conds = append(conds, "time_ns >= "+arg(f.From.UnixNano()))
	}
	if !f.To.IsZero() {
		conds = append(conds, "time_ns < "+arg(f.To.UnixNano()))
	}
	strs := func(col string, vs []string) {
		switch len(vs) {
		case 0:
		case 1:
			conds = append(conds, col+" = "+arg(Text(vs[0])))
		default:
			conds = append(conds, col+" = ANY("+arg(texts(vs))+")")
		}
	}
	ints := func(col string, vs []int16) {
		switch len(vs) {
		case 0:
		case 1:
			conds = append(conds, col+" = "+arg(vs[0]))
		default:
			conds = append(conds, col+" = ANY("+arg(vs)+")")
		}
	}
	var types, sevs []int16
	for _, t := range f.Types {
		types = append(types, int16(t))
	}
	for _, sv := range f.Severities {
		sevs = append(sevs, int16(sv))
	}
	ints("type", types)
	strs("engine", f.Engines)
	strs("action", f.Actions)
	strs("rule_id", f.RuleIDs)
	strs("namespace", f.Namespaces)
	strs("kind", f.Kinds)
	strs("name", f.Names)
	ints("severity", sevs)
	if f.MinSeverity != nil {
		conds = append(conds, "severity >= "+arg(int16(*f.MinSeverity)))
	}
	if f.MaxSeverity != nil {
		conds = append(conds, "severity <= "+arg(int16(*f.MaxSeverity)))
	}
	// Attribute conditions, in a stable order: present and one of the
	// values (an empty list matches nothing).
	keys := make([]string, 0, len(f.Attributes))
	for k := range f.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := f.Attributes[k]
		if !slices.Contains(attributeKeys, k) || len(vs) == 0 {
			return "false", nil
		}
		conds = append(conds, attrColumn(k)+" = ANY("+arg(texts(vs))+")")
	}
	if len(conds) == 0 {
		return "true", nil
	}
	return strings.Join(conds, " AND "), args
}

// directLimit is the largest limit a scan reads with one plain query; an
// unlimited or larger scan reads through a cursor, 1,000 rows at first.
const directLimit = 1000

// Scan calls fn for every matching record, oldest first. A scan of at
// most directLimit records is one query (one round trip); a larger one
// reads through a cursor in a read-only transaction (one snapshot), in
// chunks growing from 1,000 to 16,000 rows, so that a scan ended early
// (ErrStop, a limit reached by the caller) reads little more than it used.
func (s *Store) Scan(ctx context.Context, f store.Filter, limit int, fn func(*store.Record) error) error {
	cond, args := where(f)
	q := "SELECT id, type, doc FROM kordon_records WHERE " + cond + " ORDER BY time_ns, id"
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	if limit > 0 && limit <= directLimit {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return s.err("scan", err)
		}
		defer rows.Close()
		_, _, err = s.scanRows(rows, fn)
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.err("scan", err)
	}
	// Released while still in the transaction (the ROLLBACK failed), a
	// connection is closed by the pool rather than reused.
	defer conn.Release()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(rctx, "ROLLBACK")
	}()
	// The transaction, the cursor and the first chunk in one round trip.
	chunk := 1000
	b := &pgx.Batch{}
	b.Queue("BEGIN READ ONLY")
	b.Queue("DECLARE kordon_scan NO SCROLL CURSOR FOR "+q, args...)
	b.Queue("FETCH " + strconv.Itoa(chunk) + " FROM kordon_scan")
	br := conn.SendBatch(ctx, b)
	n, stopped, err := s.firstChunk(br, fn)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = s.err("scan", cerr)
	}
	for err == nil && !stopped && n == chunk {
		chunk = min(chunk*4, 16000)
		rows, qerr := conn.Query(ctx, "FETCH "+strconv.Itoa(chunk)+" FROM kordon_scan")
		if qerr != nil {
			return s.err("scan", qerr)
		}
		n, stopped, err = s.scanRows(rows, fn)
	}
	return err
}

// firstChunk reads the results of the BEGIN, DECLARE, FETCH batch.
func (s *Store) firstChunk(br pgx.BatchResults, fn func(*store.Record) error) (int, bool, error) {
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return 0, false, s.err("scan", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return 0, false, s.err("scan", err)
	}
	return s.scanRows(rows, fn)
}

// scanRows calls fn for each row of (id, type, doc) and returns how many
// rows it read and whether fn stopped it with ErrStop (not an error). It
// closes rows.
func (s *Store) scanRows(rows pgx.Rows, fn func(*store.Record) error) (n int, stopped bool, err error) {
	defer rows.Close()
	var rec store.Record
	var doc []byte
	var typ int16
	for rows.Next() {
		n++
		if err := rows.Scan(&rec.ID, &typ, &doc); err != nil {
			return n, false, s.err("scan", err)
		}
		rec.Type = store.Type(typ)
		rec.Event = finding.Event{}
		if err := json.Unmarshal(doc, &rec.Event); err != nil {
			return n, false, s.err("scan", fmt.Errorf("record %d: %w", rec.ID, err))
		}
		if err := fn(&rec); err != nil {
			if errors.Is(err, store.ErrStop) {
				return n, true, nil
			}
			return n, false, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, false, s.err("scan", err)
	}
	return n, false, nil
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

// Count counts the matching records, grouped by the columns on the
// server: largest groups first, ties in the columns' order (numbers for
// type and severity, bytes for strings).
func (s *Store) Count(ctx context.Context, f store.Filter, by []store.Column) ([]store.Group, error) {
	cond, args := where(f)
	cols := make([]string, len(by))
	for i, c := range by {
		if k, ok := c.Attribute(); ok && slices.Contains(attributeKeys, k) {
			// A record without the attribute is grouped under "".
			cols[i] = "coalesce(" + attrColumn(k) + ", '')"
			continue
		}
		sqlCol, ok := columnSQL[c]
		if !ok {
			return nil, fmt.Errorf("count: cannot group by %q", c)
		}
		cols[i] = sqlCol
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		// Numbers are read as text; their names are looked up below.
		sel[i] = c + "::text"
	}
	q := "SELECT "
	if len(cols) > 0 {
		q += strings.Join(sel, ", ") + ", "
	}
	q += "count(*) FROM kordon_records WHERE " + cond
	if len(cols) > 0 {
		q += " GROUP BY " + strings.Join(cols, ", ") + " ORDER BY count(*) DESC, " + strings.Join(cols, ", ")
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.err("count", err)
	}
	defer rows.Close()
	var out []store.Group
	vals := make([]string, len(cols))
	dest := make([]any, len(cols)+1)
	for i := range vals {
		dest[i] = &vals[i]
	}
	var n int64
	dest[len(cols)] = &n
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, s.err("count", err)
		}
		g := store.Group{Count: n, Key: make([]string, len(cols))}
		for i, c := range by {
			g.Key[i] = columnString(c, vals[i])
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.err("count", err)
	}
	if len(out) == 0 && len(by) == 0 {
		out = append(out, store.Group{Key: []string{}})
	}
	return out, nil
}

// columnString renders a grouped column's text as the store.Column's
// string form.
func columnString(c store.Column, v string) string {
	switch c {
	case store.ColType, store.ColSeverity:
		n, _ := strconv.Atoi(v)
		if c == store.ColType {
			return store.Type(n).String()
		}
		return finding.Severity(n).String()
	}
	return v
}

// retainBatch bounds one delete, so that readers and writers are never
// held up for long by retention.
const retainBatch = 20000

// deleteSQL deletes up to $n records chosen by the subquery and takes
// them off the counters, in one statement; it returns how many it deleted.
func deleteSQL(choose string) string {
	return `WITH d AS (DELETE FROM kordon_records WHERE id IN (` + choose + `) RETURNING octet_length(doc) AS b),
 t AS (SELECT count(*) AS n, coalesce(sum(b), 0) AS b FROM d)
UPDATE kordon_stats SET records = records - t.n, bytes = bytes - t.b - t.n * ` + strconv.Itoa(rowOverhead) + ` FROM t RETURNING t.n`
}

// Retain removes records older than MaxAge, then the oldest records until
// the estimated size (docs/server.md) is at most MaxBytes, in batches of
// at most 20,000 records, each its own transaction. PostgreSQL's
// autovacuum makes the space reusable; the files do not shrink.
func (s *Store) Retain(ctx context.Context, r store.Retention, now time.Time) (int64, error) {
	var removed int64
	if r.MaxAge > 0 {
		cut := now.Add(-r.MaxAge).UnixNano()
		q := deleteSQL("SELECT id FROM kordon_records WHERE time_ns < $1 LIMIT $2")
		for {
			var n int64
			err := s.pool.QueryRow(ctx, q, cut, retainBatch).Scan(&n)
			removed += n
			if err != nil {
				return removed, s.err("retention by age", err)
			}
			if n < retainBatch {
				break
			}
		}
	}
	if r.MaxBytes > 0 {
		q := deleteSQL("SELECT id FROM kordon_records ORDER BY time_ns, id LIMIT $1")
		for {
			var count, used int64
			if err := s.pool.QueryRow(ctx, "SELECT records, bytes FROM kordon_stats").Scan(&count, &used); err != nil {
				return removed, s.err("retention by size", err)
			}
			if used <= r.MaxBytes || count <= 0 {
				break
			}
			// Delete the share of the oldest records that holds the excess,
			// at least one and at most one batch.
			n := min(max((used-r.MaxBytes)*count/used+1, 1), retainBatch)
			var got int64
			err := s.pool.QueryRow(ctx, q, n).Scan(&got)
			removed += got
			if err != nil {
				return removed, s.err("retention by size", err)
			}
			if got == 0 {
				break
			}
		}
	}
	return removed, nil
}

// Stats reports the number of records, the estimated bytes they take
// (docs/server.md) and the time span, without scanning the table.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	if err := s.pool.QueryRow(ctx, "SELECT records, bytes FROM kordon_stats").Scan(&st.Records, &st.Bytes); err != nil {
		return st, s.err("stats", err)
	}
	var lo, hi *int64
	if err := s.pool.QueryRow(ctx, "SELECT min(time_ns), max(time_ns) FROM kordon_records").Scan(&lo, &hi); err != nil {
		return st, s.err("stats", err)
	}
	if lo != nil && hi != nil {
		st.Oldest, st.Newest = time.Unix(0, *lo).UTC(), time.Unix(0, *hi).UTC()
	}
	return st, nil
}

// DiskBytes returns what the records take on the server's disk: the
// table's, its TOAST table's and its indexes' files (pg_total_relation_size),
// including space freed by retention that autovacuum has not yet reused.
func (s *Store) DiskBytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT pg_total_relation_size('kordon_records')").Scan(&n); err != nil {
		return 0, s.err("disk size", err)
	}
	return n, nil
}

// Vacuum runs VACUUM ANALYZE on the records table, as autovacuum does in
// the background: it refreshes the planner's statistics and the
// visibility map that lets counts read only the indexes. A server runs it
// after a bulk load.
func (s *Store) Vacuum(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE kordon_records"); err != nil {
		return s.err("vacuum", err)
	}
	return nil
}
