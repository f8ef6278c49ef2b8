package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
)

// migrate creates the schema of a new database, migrates a version 1
// database (one records table) to day tables, and refuses a newer one.
func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this kordon's (%d): use a newer kordon or another file", v, schemaVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Write first (a transaction that reads, then writes, fails when
	// another connection wrote meanwhile), then re-read the version inside
	// the write transaction: another process may have migrated the file.
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS seq (next INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v == schemaVersion {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO seq VALUES (1)"); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if v == 1 {
		if err := migrateV1(ctx, tx); err != nil {
			return fmt.Errorf("migrate schema version 1 to %d: %w", schemaVersion, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateV1 moves the records of the version 1 table, day by day, to day
// tables, keeping their IDs, then drops it.
func migrateV1(ctx context.Context, tx *sql.Tx) error {
	var maxID sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM records").Scan(&maxID); err != nil {
		return err
	}
	// Attribute columns come from the documents (JSON text in a BLOB,
	// which SQLite's JSON functions would take for JSONB: cast it).
	attrs := make([]string, len(attributeKeys))
	for i, k := range attributeKeys {
		attrs[i] = fmt.Sprintf("json_extract(CAST(doc AS TEXT), '$.attributes.%s')", k)
	}
	cols := "id, type, time, engine, action, rule_id, severity, namespace, kind, name, " + strings.Join(attrs, ", ")
	var next sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MIN(time) FROM records").Scan(&next); err != nil {
		return err
	}
	for next.Valid {
		d := dayOf(next.Int64)
		lo, last := d*dayNanos, int64(math.MaxInt64)
		if lo <= math.MaxInt64-dayNanos {
			last = lo + dayNanos - 1
		}
		if _, err := tx.ExecContext(ctx, dayTablesSQL(d)); err != nil {
			return fmt.Errorf("create tables of %s: %w", dayName(d), err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+evTable(d)+"(id, "+strings.Join(evColumns, ", ")+") SELECT "+cols+
			" FROM records WHERE time >= ? AND time <= ? ORDER BY id", lo, last); err != nil {
			return fmt.Errorf("copy %s: %w", dayName(d), err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+docTable(d)+"(id, doc) SELECT id, doc FROM records WHERE time >= ? AND time <= ? ORDER BY id", lo, last); err != nil {
			return fmt.Errorf("copy %s: %w", dayName(d), err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+sumTable(d)+"("+sumColumns+", n) SELECT "+sumColumns+", COUNT(*) FROM "+evTable(d)+
			" WHERE true GROUP BY "+sumColumns); err != nil {
			return fmt.Errorf("sum %s: %w", dayName(d), err)
		}
		if last == math.MaxInt64 {
			break
		}
		if err := tx.QueryRowContext(ctx, "SELECT MIN(time) FROM records WHERE time > ?", last).Scan(&next); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE records"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE seq SET next = ?", maxID.Int64+1)
	return err
}
