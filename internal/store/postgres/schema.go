package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations[i] brings the schema from version i to version i+1. Append
// new versions; never edit a released one. The version is kept in
// kordon_schema; a database with a newer version is refused rather than
// misread.
var migrations = []string{
	// Version 1: records, their ID sequence, the indexes the query
	// pushdown uses (time, and namespace, rule or engine then time) and
	// the counters behind Stats and retention by size. The flow
	// attributes of attributeKeys have columns of their own (NULL when a
	// record lacks them), filtered and grouped by in SQL. Text columns sort
	// bytewise (COLLATE "C"), whatever the database's locale, as SQLite's
	// do; time_ns is Unix nanoseconds, because timestamptz keeps only
	// microseconds and a filter's bounds are exact to the nanosecond.
	`
CREATE SEQUENCE kordon_records_id;
CREATE TABLE kordon_records (
  id        bigint   PRIMARY KEY DEFAULT nextval('kordon_records_id'),
  type      smallint NOT NULL,
  time_ns   bigint   NOT NULL,
  engine    text COLLATE "C" NOT NULL,
  action    text COLLATE "C" NOT NULL,
  rule_id   text COLLATE "C" NOT NULL,
  severity  smallint NOT NULL,
  namespace text COLLATE "C" NOT NULL,
  kind      text COLLATE "C" NOT NULL,
  name      text COLLATE "C" NOT NULL,
  attr_verdict  text COLLATE "C",
  attr_protocol text COLLATE "C",
  attr_src      text COLLATE "C",
  attr_dst      text COLLATE "C",
  attr_srcPort  text COLLATE "C",
  attr_dstPort  text COLLATE "C",
  doc       bytea    NOT NULL
);
ALTER SEQUENCE kordon_records_id OWNED BY kordon_records.id;
CREATE INDEX kordon_records_time ON kordon_records (time_ns);
CREATE INDEX kordon_records_namespace_time ON kordon_records (namespace, time_ns);
CREATE INDEX kordon_records_rule_time ON kordon_records (rule_id, time_ns);
CREATE INDEX kordon_records_engine_time ON kordon_records (engine, time_ns);
CREATE TABLE kordon_stats (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  records bigint NOT NULL,
  bytes   bigint NOT NULL
);
INSERT INTO kordon_stats (records, bytes) VALUES (0, 0);
`,
}

// schemaVersion is the version this kordon writes.
var schemaVersion = len(migrations)

// migrateLock is the transaction-scoped advisory lock that keeps two
// kordon processes opening one database from migrating it at once.
const migrateLock = 0x6b6f72646f6e // "kordon"

// migrate checks the database's encoding and brings the schema up to
// date in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	var enc string
	if err := s.pool.QueryRow(ctx, "SHOW server_encoding").Scan(&enc); err != nil {
		return err
	}
	if enc != "UTF8" {
		return fmt.Errorf("the database's encoding is %s: kordon needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')", enc)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS kordon_schema (version integer NOT NULL, applied timestamptz NOT NULL DEFAULT now())"); err != nil {
			return fmt.Errorf("create kordon_schema: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM kordon_schema").Scan(&v); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if v > schemaVersion {
			return fmt.Errorf("schema version %d is newer than this kordon's (%d)", v, schemaVersion)
		}
		for ; v < schemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO kordon_schema (version) VALUES ($1)", v+1); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		return nil
	})
}
