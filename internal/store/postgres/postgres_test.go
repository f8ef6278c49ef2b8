package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/postgres"
	"github.com/kordon-dev/kordon/internal/store/postgres/pgtest"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// server is the PostgreSQL server of this package's tests, started once in
// TestMain (a private instance, or $KORDON_POSTGRES_URL).
var server *pgtest.Server

func TestMain(m *testing.M) {
	var err error
	server, err = pgtest.Start(pgtest.Options{Durable: os.Getenv("KORDON_BENCH_DURABLE") != "", Dir: os.Getenv("KORDON_BENCH_DIR")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func open(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	url := server.Schema(t)
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s, url
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := open(t)
		return s
	})
}

func TestReopenKeepsRecords(t *testing.T) {
	ctx := t.Context()
	s, url := open(t)
	if err := s.Append(ctx, storetest.New(4, t0, time.Second, 3).Batch(10)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stats(ctx)
	if err != nil || st.Records != 10 {
		t.Fatalf("after reopening: %+v, %v; want 10 records", st, err)
	}
	recs := storetest.New(5, t0, time.Second, 3).Batch(2)
	if err := s.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if recs[0].ID <= 10 {
		t.Errorf("after reopening the next ID is %d, want more than 10", recs[0].ID)
	}
}

// TestSchemaVersion: a database migrated by a newer kordon is refused, and
// the version table records what was applied.
func TestSchemaVersion(t *testing.T) {
	ctx := t.Context()
	s, url := open(t)
	s.Close()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v int
	if err := c.QueryRow(ctx, "SELECT max(version) FROM kordon_schema").Scan(&v); err != nil || v != 1 {
		t.Fatalf("schema version = %d, %v; want 1", v, err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO kordon_schema (version) VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, url)
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// TestConcurrentOpen: kordon servers starting together migrate once.
func TestConcurrentOpen(t *testing.T) {
	url := server.Schema(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(t.Context(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, c := range []struct{ url, want string }{
		// Nothing listens there.
		{"postgres://kordon:s3cret@127.0.0.1:1/kordondb?connect_timeout=5", "postgres 127.0.0.1:1/kordondb"},
		{"postgres://kordon@/kordondb?host=/nonexistent-dir&connect_timeout=5", "postgres /nonexistent-dir/.s.PGSQL.5432/kordondb"},
		{"postgres://kordon:s3cret@host:notaport/db", "postgres: "},
	} {
		_, err := postgres.Open(ctx, c.url)
		if err == nil {
			t.Errorf("%s: opened", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %q", c.url, err, c.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the password", c.url, err)
		}
	}
	// A database that does not exist on a running server.
	if server.Skip == "" && os.Getenv(pgtest.URLEnv) == "" {
		url := strings.Replace(server.URL, "/postgres?", "/missingdb?", 1)
		_, err := postgres.Open(ctx, url)
		if err == nil || !strings.Contains(err.Error(), "/missingdb") || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("opening a missing database: %v", err)
		}
	}
}

// TestDiskBytes: the estimate Stats reports is of the order of what the
// table takes on disk.
func TestDiskBytes(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	defer s.Close()
	if err := s.Append(ctx, storetest.New(6, t0, time.Second, 20).Batch(20000)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := s.DiskBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(disk) / float64(st.Bytes); ratio < 0.5 || ratio > 2 {
		t.Errorf("estimated %d bytes, the table takes %d on disk (ratio %.2f)", st.Bytes, disk, ratio)
	}
	t.Logf("20,000 records: estimate %d bytes, on disk %d (%.0f bytes a record)", st.Bytes, disk, float64(disk)/20000)
}

func TestText(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\x00b", "a\uFFFDb"},
		{"bad\xff", "bad\uFFFD"},
	} {
		if got := postgres.Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := postgres.Text(long)
	if len(got) > 1000 || !strings.HasPrefix(got, "xxx") || got == postgres.Text(long+"y") {
		t.Errorf("Text of a 5000-byte value = %q (%d bytes): want a short, distinct form", got, len(got))
	}
}
