// Package sqlite is the embedded back end of Kordon's store: one SQLite
// database file (modernc.org/sqlite, pure Go, no cgo) holding Findings and
// Events in one pair of tables per UTC day — a narrow table of the columns
// queries filter and group by (with a few indexes) and a table of the
// documents — so that ingest touches only the current day's small indexes,
// counts read narrow rows, and retention by age drops whole days. The
// schema is documented in docs/server.md.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/kordon-dev/kordon/internal/store"
)

// schemaVersion is kept in PRAGMA user_version; a database with a newer
// version is refused rather than misread, an older one migrated.
const schemaVersion = 2

// Store is a store.Store in one SQLite file. It is safe for concurrent
// use: writes are serialised, reads run beside them (WAL mode).
type Store struct {
	db *sql.DB
	// mu serialises writers (append, retention), which SQLite runs one at
	// a time anyway; holding it avoids busy retries. It also guards days.
	mu sync.Mutex
	// days are the days whose tables this Store has made sure exist.
	days map[int64]bool
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.NativeAttributes = (*Store)(nil)
)

// Open opens or creates the database at path and brings its schema up to
// date: a database of schema version 1 (one table of all records) is
// migrated to day tables in one transaction, which takes about as long as
// ingesting its records again. An error names the path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := OpenDB(path, 4, "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)",
		"auto_vacuum(INCREMENTAL)", "cache_size(-65536)", "temp_store(MEMORY)", "mmap_size(268435456)", "wal_autocheckpoint(8192)")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, days: map[int64]bool{}}
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

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
