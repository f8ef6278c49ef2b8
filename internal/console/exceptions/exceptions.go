// Package exceptions keeps the exceptions created in the web console in
// an SQLite database with an audit trail (who created or revoked which
// exception, when, and why), and exports the active ones in the
// exceptions-file format that `kordon scan --exceptions` reads.
package exceptions

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

// schemaVersion is kept in PRAGMA user_version.
const schemaVersion = 1

// Limits on what one exception may hold.
const (
	maxField  = 253
	maxReason = 2000
)

// Exception is one stored exception.
type Exception struct {
	ID        int64     `json:"id"`
	Rule      string    `json:"rule"`
	Kind      string    `json:"kind,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name,omitempty"`
	Reason    string    `json:"reason"`
	Expires   string    `json:"expires,omitempty"`
	Author    string    `json:"author"`
	Created   time.Time `json:"created"`
	// RevokedBy and Revoked are set once the exception is revoked.
	RevokedBy string    `json:"revokedBy,omitempty"`
	Revoked   time.Time `json:"revoked,omitzero"`
}

// Finding returns the exception as the scan engine reads it.
func (e *Exception) Finding() finding.Exception {
	return finding.Exception{Rule: e.Rule, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Reason: e.Reason, Expires: e.Expires,
		Source: fmt.Sprintf("console exception %d", e.ID)}
}

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"` // created, revoked
	Exception int64     `json:"exception"`
	Detail    string    `json:"detail,omitempty"`
}

// Store keeps exceptions and their audit trail. It is safe for concurrent
// use.
type Store struct {
	db *sql.DB
}

// Open opens or creates the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.OpenDB(path, 2, "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("open exceptions %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open exceptions %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this kordon's (%d)", v, schemaVersion)
	}
	_, err := s.db.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS exceptions (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  reason TEXT NOT NULL, expires TEXT NOT NULL,
  author TEXT NOT NULL, created INTEGER NOT NULL,
  revoked_by TEXT NOT NULL DEFAULT '', revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  exception INTEGER NOT NULL, detail TEXT NOT NULL
);
PRAGMA user_version = 1;`)
	return err
}

// Close releases the database.
func (s *Store) Close() error { return s.db.Close() }

// Validate checks a new exception: rule and reason set, patterns and date
// valid, fields bounded. The error names the field.
func Validate(e *Exception) error {
	for _, f := range []struct{ name, v string }{{"rule", e.Rule}, {"kind", e.Kind}, {"namespace", e.Namespace}, {"name", e.Name}, {"expires", e.Expires}} {
		if len(f.v) > maxField {
			return fmt.Errorf("%s: longer than %d bytes", f.name, maxField)
		}
		if strings.ContainsAny(f.v, "\n\r\x00") {
			return fmt.Errorf("%s: holds a control character", f.name)
		}
	}
	if len(e.Reason) > maxReason {
		return fmt.Errorf("reason: longer than %d bytes", maxReason)
	}
	fe := e.Finding()
	return fe.Validate()
}

// Create stores a new exception by author and records it in the audit
// trail, in one transaction.
func (s *Store) Create(ctx context.Context, e Exception, author string, now time.Time) (Exception, error) {
	e.Rule, e.Kind, e.Namespace, e.Name = strings.TrimSpace(e.Rule), strings.TrimSpace(e.Kind), strings.TrimSpace(e.Namespace), strings.TrimSpace(e.Name)
	e.Reason, e.Expires = strings.TrimSpace(e.Reason), strings.TrimSpace(e.Expires)
	if err := Validate(&e); err != nil {
		return Exception{}, err
	}
	e.Author, e.Created, e.RevokedBy, e.Revoked = author, now.UTC(), "", time.Time{}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Exception{}, fmt.Errorf("create exception: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO exceptions(rule, kind, namespace, name, reason, expires, author, created) VALUES (?,?,?,?,?,?,?,?)`,
		e.Rule, e.Kind, e.Namespace, e.Name, e.Reason, e.Expires, e.Author, e.Created.UnixNano())
	if err != nil {
		return Exception{}, fmt.Errorf("create exception: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return Exception{}, fmt.Errorf("create exception: %w", err)
	}
	detail, _ := json.Marshal(e)
	if err := audit(ctx, tx, now, author, "created", e.ID, string(detail)); err != nil {
		return Exception{}, err
	}
	if err := tx.Commit(); err != nil {
		return Exception{}, fmt.Errorf("create exception: %w", err)
	}
	return e, nil
}

// ErrNotFound is returned for an unknown or already revoked exception.
var ErrNotFound = errors.New("no such active exception")

// Revoke ends an exception, saying who and why, and records it in the
// audit trail.
func (s *Store) Revoke(ctx context.Context, id int64, actor, why string, now time.Time) error {
	if len(why) > maxReason {
		return fmt.Errorf("reason: longer than %d bytes", maxReason)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke exception: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE exceptions SET revoked_by = ?, revoked = ? WHERE id = ? AND revoked = 0`, actor, now.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke exception: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if err := audit(ctx, tx, now, actor, "revoked", id, why); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke exception: %w", err)
	}
	return nil
}

func audit(ctx context.Context, tx *sql.Tx, now time.Time, actor, action string, id int64, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit(time, actor, action, exception, detail) VALUES (?,?,?,?,?)`, now.UnixNano(), actor, action, id, detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// List returns the exceptions, newest first; revoked ones only when all
// is set. There are never so many that paging is needed (they are
// written by hand), but at most limit are returned.
func (s *Store) List(ctx context.Context, all bool, limit int) ([]Exception, error) {
	q := `SELECT id, rule, kind, namespace, name, reason, expires, author, created, revoked_by, revoked FROM exceptions`
	if !all {
		q += ` WHERE revoked = 0`
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	defer rows.Close()
	out := []Exception{}
	for rows.Next() {
		var e Exception
		var created, revoked int64
		if err := rows.Scan(&e.ID, &e.Rule, &e.Kind, &e.Namespace, &e.Name, &e.Reason, &e.Expires, &e.Author, &created, &e.RevokedBy, &revoked); err != nil {
			return nil, fmt.Errorf("list exceptions: %w", err)
		}
		e.Created = time.Unix(0, created).UTC()
		if revoked != 0 {
			e.Revoked = time.Unix(0, revoked).UTC()
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Audit returns the newest entries of the audit trail first.
func (s *Store) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, actor, action, exception, detail FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Actor, &a.Action, &a.Exception, &a.Detail); err != nil {
			return nil, fmt.Errorf("audit trail: %w", err)
		}
		a.Time = time.Unix(0, t).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// maxExport bounds an export.
const maxExport = 100000

// Export writes the active exceptions in the exceptions-file format of
// docs/scanning.md, with the author and creation time as the reason's
// suffix so that a scan report says where an exception came from.
func (s *Store) Export(ctx context.Context) ([]byte, error) {
	list, err := s.List(ctx, false, maxExport)
	if err != nil {
		return nil, err
	}
	type entry struct {
		Rule      string `json:"rule"`
		Kind      string `json:"kind,omitempty"`
		Namespace string `json:"namespace,omitempty"`
		Name      string `json:"name,omitempty"`
		Reason    string `json:"reason"`
		Expires   string `json:"expires,omitempty"`
	}
	file := struct {
		Exceptions []entry `json:"exceptions"`
	}{Exceptions: []entry{}}
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		e := list[i]
		file.Exceptions = append(file.Exceptions, entry{Rule: e.Rule, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Expires: e.Expires,
			Reason: fmt.Sprintf("%s (console exception %d by %s, %s)", e.Reason, e.ID, e.Author, e.Created.Format("2006-01-02"))})
	}
	out, err := yaml.Marshal(file)
	if err != nil {
		return nil, fmt.Errorf("export exceptions: %w", err)
	}
	return append([]byte("# Exceptions created in the Kordon console; use with kordon scan --exceptions FILE.\n"), out...), nil
}
