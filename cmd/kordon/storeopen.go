package main

import (
	"context"
	"net/url"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/postgres"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

// dbHelp describes the --db flag of kordon server and kordon query.
const dbHelp = "the store: an SQLite database file, or a PostgreSQL server as postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require (docs/server.md)"

// openStore opens the store --db names: a PostgreSQL server for a
// postgres:// or postgresql:// URL, an SQLite file otherwise.
func openStore(ctx context.Context, db string) (store.Store, error) {
	if postgres.IsURL(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(ctx, db)
}

// dbName returns --db as logs may show it: a URL without its password.
func dbName(db string) string {
	if !postgres.IsURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}
