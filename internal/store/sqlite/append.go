package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// insertRows is the number of rows of one INSERT statement (at most 17
// values a row, under SQLite's limit of 32,766 variables).
const insertRows = 500

// Append stores the records in one transaction and sets their IDs, which
// increase in the order of recs.
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
	// Taking the IDs first also takes the write lock, so that another
	// process appending to the file gets other IDs.
	var next int64
	if err := tx.QueryRowContext(ctx, "UPDATE seq SET next = next + ? RETURNING next", len(recs)).Scan(&next); err != nil {
		return fmt.Errorf("append: take ids: %w", err)
	}
	first := next - int64(len(recs))
	// Records go to their day's tables; a batch usually holds one day.
	byDay := map[int64][]int{}
	var order []int64
	for i := range recs {
		e := &recs[i].Event
		e.Time = e.Time.UTC()
		if !time.Unix(0, e.Time.UnixNano()).Equal(e.Time) {
			return fmt.Errorf("append record %d: time %s is outside the years 1678 to 2262", i, e.Time.Format(time.RFC3339))
		}
		recs[i].ID = first + int64(i)
		d := dayOf(e.Time.UnixNano())
		if _, ok := byDay[d]; !ok {
			order = append(order, d)
		}
		byDay[d] = append(byDay[d], i)
	}
	for _, d := range order {
		if !s.days[d] {
			if _, err := tx.ExecContext(ctx, dayTablesSQL(d)); err != nil {
				return fmt.Errorf("append: create tables of %s: %w", dayName(d), err)
			}
		}
		if err := appendDay(ctx, tx, d, recs, byDay[d]); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	for _, d := range order {
		s.days[d] = true
	}
	return nil
}

// appendDay inserts recs[idx...] into the tables of day d.
func appendDay(ctx context.Context, tx *sql.Tx, d int64, recs []store.Record, idx []int) error {
	ncol := 1 + len(evColumns)
	evArgs := make([]any, 0, min(len(idx), insertRows)*ncol)
	docArgs := make([]any, 0, min(len(idx), insertRows)*2)
	var evFull, docFull *sql.Stmt
	sums := map[sumKey]int64{}
	for _, i := range idx {
		e := &recs[i].Event
		sums[sumKey{int(recs[i].Type), asStored(e.Engine), asStored(e.Action), asStored(e.RuleID), int(e.Severity)}]++
	}
	if err := addSums(ctx, tx, d, sums); err != nil {
		return err
	}
	for start := 0; start < len(idx); start += insertRows {
		chunk := idx[start:min(start+insertRows, len(idx))]
		evArgs, docArgs = evArgs[:0], docArgs[:0]
		for _, i := range chunk {
			r := &recs[i]
			e := &r.Event
			doc, err := json.Marshal(slim(e))
			if err != nil {
				return fmt.Errorf("append record %d: %w", i, err)
			}
			evArgs = append(evArgs, r.ID, int(r.Type), e.Time.UnixNano(), asStored(e.Engine), asStored(e.Action), asStored(e.RuleID), int(e.Severity),
				asStored(e.Resource.Namespace), asStored(e.Resource.Kind), asStored(e.Resource.Name))
			for _, k := range attributeKeys {
				if v, ok := e.Attributes[k]; ok {
					evArgs = append(evArgs, asStored(v))
				} else {
					evArgs = append(evArgs, nil)
				}
			}
			docArgs = append(docArgs, r.ID, doc)
		}
		evStmt, docStmt := evFull, docFull
		if evStmt == nil || len(chunk) < insertRows {
			var err error
			if evStmt, err = tx.PrepareContext(ctx, insertSQL(evTable(d), "id, "+strings.Join(evColumns, ", "), ncol, len(chunk))); err != nil {
				return fmt.Errorf("append: %w", err)
			}
			defer evStmt.Close()
			if docStmt, err = tx.PrepareContext(ctx, insertSQL(docTable(d), "id, doc", 2, len(chunk))); err != nil {
				return fmt.Errorf("append: %w", err)
			}
			defer docStmt.Close()
			if len(chunk) == insertRows {
				evFull, docFull = evStmt, docStmt
			}
		}
		if _, err := evStmt.ExecContext(ctx, evArgs...); err != nil {
			return fmt.Errorf("append records %d to %d: %w", chunk[0], chunk[len(chunk)-1], err)
		}
		if _, err := docStmt.ExecContext(ctx, docArgs...); err != nil {
			return fmt.Errorf("append records %d to %d: %w", chunk[0], chunk[len(chunk)-1], err)
		}
	}
	return nil
}

// sumKey is one row of a day's sums table.
type sumKey struct {
	typ                    int
	engine, action, ruleID string
	severity               int
}

// addSums adds counts to a day's sums.
func addSums(ctx context.Context, tx *sql.Tx, d int64, sums map[sumKey]int64) error {
	args := make([]any, 0, 6*len(sums))
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		q := insertSQL(sumTable(d), sumColumns+", n", 6, rows) + " ON CONFLICT DO UPDATE SET n = n + excluded.n"
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("append: sums of %s: %w", dayName(d), err)
		}
		args, rows = args[:0], 0
		return nil
	}
	for k, n := range sums {
		args = append(args, k.typ, k.engine, k.action, k.ruleID, k.severity, n)
		if rows++; rows == insertRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// slim returns the event without the fields its columns hold (time,
// engine, action, rule ID, severity, namespace, kind, name and the
// attributes in columns), which are put back when it is read: the
// document is the rest, so that it is shorter to encode and store.
func slim(e *finding.Event) *finding.Event {
	d := *e
	d.Time = time.Time{}
	d.Engine, d.Action, d.RuleID, d.Severity = "", "", "", 0
	d.Resource.Namespace, d.Resource.Kind, d.Resource.Name = "", "", ""
	n := 0
	for _, k := range attributeKeys {
		if _, ok := e.Attributes[k]; ok {
			n++
		}
	}
	if n > 0 {
		d.Attributes = nil
		if len(e.Attributes) > n {
			d.Attributes = make(map[string]string, len(e.Attributes)-n)
			for k, v := range e.Attributes {
				if !slices.Contains(attributeKeys, k) {
					d.Attributes[k] = v
				}
			}
		}
	}
	return &d
}

// asStored returns an attribute's value as the stored document holds it:
// encoding/json replaces each byte of invalid UTF-8 by U+FFFD, and a
// query on the column must see what a query on the document sees.
func asStored(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

func insertSQL(table, cols string, ncol, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + "(" + cols + ") VALUES ")
	row := "(" + strings.Repeat("?,", ncol-1) + "?)"
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}
