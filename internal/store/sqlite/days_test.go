package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

func scanAll(t *testing.T, s store.Store, f store.Filter, limit int) []store.Record {
	t.Helper()
	var got []store.Record
	err := s.Scan(t.Context(), f, limit, func(r *store.Record) error {
		got = append(got, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestDaysOutOfOrder appends batches whose records jump between days (and
// before 1970): a scan returns them by time then ID, a limit spans days,
// and IDs keep increasing in append order.
func TestDaysOutOfOrder(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	var recs []store.Record
	for i, off := range []time.Duration{50 * time.Hour, -3 * time.Hour, 2 * time.Hour, 50 * time.Hour, -100 * 24 * 365 * time.Hour, 2 * time.Hour} {
		e := finding.Event{Time: t0.Add(off), Engine: "e", Action: finding.ActionObserved, Attributes: map[string]string{"verdict": strings.Repeat("x", i)}}
		recs = append(recs, store.Record{Event: e})
	}
	if err := s.Append(ctx, recs[:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, recs[3:]); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].ID <= recs[i-1].ID {
			t.Fatalf("IDs not increasing in append order: %d then %d", recs[i-1].ID, recs[i].ID)
		}
	}
	want := slices.Clone(recs)
	slices.SortStableFunc(want, func(a, b store.Record) int { return a.Event.Time.Compare(b.Event.Time) })
	got := scanAll(t, s, store.Filter{}, 0)
	if len(got) != len(want) {
		t.Fatalf("scanned %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || !got[i].Event.Time.Equal(want[i].Event.Time) {
			t.Errorf("record %d: id %d at %s, want id %d at %s", i, got[i].ID, got[i].Event.Time, want[i].ID, want[i].Event.Time)
		}
	}
	if got := scanAll(t, s, store.Filter{}, 4); len(got) != 4 || got[3].ID != want[3].ID {
		t.Errorf("scan with limit 4 over days returned %d records", len(got))
	}
	from, to := t0.Add(-3*time.Hour), t0.Add(50*time.Hour)
	if got := scanAll(t, s, store.Filter{From: from, To: to}, 0); len(got) != 3 {
		t.Errorf("scan of [%s, %s) returned %d records, want 3", from, to, len(got))
	}
	g, err := s.Count(ctx, store.Filter{Attributes: map[string][]string{"verdict": {"", "xxx", "xxxx"}}}, []store.Column{store.AttributeColumn("verdict")})
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 3 || g[0].Key[0] != "" || g[0].Count != 1 {
		t.Errorf("count by attribute = %v, want 3 groups of 1 (\"\", xxx, xxxx)", g)
	}
	if _, err := s.Count(ctx, store.Filter{Attributes: map[string][]string{"colour": {"red"}}}, nil); err == nil || !strings.Contains(err.Error(), `attribute "colour"`) {
		t.Errorf("filter on an attribute without a column: %v, want an error naming it", err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Records != 6 || !st.Oldest.Equal(want[0].Event.Time) || !st.Newest.Equal(want[5].Event.Time) {
		t.Errorf("stats = %+v, %v", st, err)
	}
}

// TestRetentionDropsDays: retention by age drops the days before the cut
// whole and deletes the older part of the cut's day; IDs are not reused.
func TestRetentionDropsDays(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := storetest.New(5, t0, 10*time.Minute, 5).Batch(5 * 144) // five days
	if err := s.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(5 * 24 * time.Hour)
	removed, err := s.Retain(ctx, store.Retention{MaxAge: 36 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 5*144-36*6 {
		t.Errorf("removed %d records, want %d", removed, 5*144-36*6)
	}
	if n := tables(t, path, "ev_%"); n != 2 {
		t.Errorf("%d day tables left, want 2", n)
	}
	more := storetest.New(6, now, time.Minute, 5).Batch(3)
	if err := s.Append(ctx, more); err != nil {
		t.Fatal(err)
	}
	if more[0].ID <= recs[len(recs)-1].ID {
		t.Errorf("ID %d after retention reuses an old one (last %d)", more[0].ID, recs[len(recs)-1].ID)
	}
}

func tables(t *testing.T, path, like string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE ?", like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// v1Schema is the schema of version 1, to test the migration.
const v1Schema = `
CREATE TABLE records (id INTEGER PRIMARY KEY, type INTEGER NOT NULL, time INTEGER NOT NULL, engine TEXT NOT NULL,
  action TEXT NOT NULL, rule_id TEXT NOT NULL, severity INTEGER NOT NULL, namespace TEXT NOT NULL, kind TEXT NOT NULL,
  name TEXT NOT NULL, doc BLOB NOT NULL);
CREATE INDEX records_time ON records(time);
PRAGMA user_version = 1;
`

// TestMigrateV1 opens a version 1 database: its records move to day
// tables with their IDs and attributes, and new IDs follow the old ones.
func TestMigrateV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(v1Schema); err != nil {
		t.Fatal(err)
	}
	recs := storetest.New(8, t0.Add(-time.Hour), 17*time.Second, 6).Batch(1000)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i].ID = int64(10 + 3*i) // gaps, as deletions leave them
		e := &recs[i].Event
		doc, _ := json.Marshal(e)
		if _, err := tx.Exec("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?)", recs[i].ID, int(recs[i].Type), e.Time.UnixNano(),
			e.Engine, e.Action, e.RuleID, int(e.Severity), e.Resource.Namespace, e.Resource.Kind, e.Resource.Name, doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := scanAll(t, s, store.Filter{}, 0)
	if len(got) != len(recs) {
		t.Fatalf("after migration %d records, want %d", len(got), len(recs))
	}
	for i := range got {
		if got[i].ID != recs[i].ID || got[i].Event.Message != recs[i].Event.Message {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], recs[i])
		}
	}
	var dropped int64
	for _, r := range recs {
		if r.Event.Attributes["verdict"] == "DROPPED" {
			dropped++
		}
	}
	g, err := s.Count(ctx, store.Filter{Attributes: map[string][]string{"verdict": {"DROPPED"}}}, nil)
	if err != nil || g[0].Count != dropped || dropped == 0 {
		t.Errorf("migrated verdict column counts %v (%v), want %d", g, err, dropped)
	}
	if n := tables(t, path, "records"); n != 0 {
		t.Error("the version 1 table is still there")
	}
	next := storetest.New(9, t0, time.Second, 3).Batch(1)
	if err := s.Append(ctx, next); err != nil || next[0].ID != recs[len(recs)-1].ID+1 {
		t.Errorf("first ID after migration %d (%v), want %d", next[0].ID, err, recs[len(recs)-1].ID+1)
	}
}

// TestNewerSchemaRefused: a database of a later schema version is refused
// with an error naming the file.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a version 99 database: %v, want a refusal naming %s", err, path)
	}
}

// TestDocumentRoundTrip: a record reads back as it was appended (as JSON,
// which is how every reader sees it), although its document leaves out
// the fields kept in columns; invalid UTF-8 reads back as JSON writes it.
func TestDocumentRoundTrip(t *testing.T) {
	s := open(t)
	recs := storetest.New(12, t0, 7*time.Second, 9).Batch(3000)
	recs[0].Event.Attributes = map[string]string{"verdict": "X"}                 // only a column attribute
	recs[1].Event.Attributes = map[string]string{"bytes": "1"}                   // none
	recs[2].Event.Attributes = map[string]string{"dst": "\xff", "path": "/\xfe"} // invalid UTF-8
	recs[3].Event.Engine, recs[3].Event.Resource.Name = "fl\xffow", "p\xc3"
	recs[4].Event.Time = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600))
	if err := s.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	byID := map[int64][]byte{}
	for _, r := range recs {
		// Encoded, decoded and encoded again: JSON writes invalid UTF-8
		// as "\ufffd" and U+FFFD itself as is.
		b, _ := json.Marshal(r)
		var back store.Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		byID[r.ID], _ = json.Marshal(back)
	}
	got := scanAll(t, s, store.Filter{}, 0)
	if len(got) != len(recs) {
		t.Fatalf("scanned %d records, want %d", len(got), len(recs))
	}
	for _, r := range got {
		b, _ := json.Marshal(r)
		if string(b) != string(byID[r.ID]) {
			t.Errorf("record %d reads back as\n%s\nwant\n%s", r.ID, b, byID[r.ID])
		}
	}
	bad := []store.Record{{Event: finding.Event{Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), Engine: "e"}}}
	if err := s.Append(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "record 0") {
		t.Errorf("appending a record of 2300: %v, want an error naming it", err)
	}
}

// TestConcurrentRetention counts and scans while retention drops days
// and ingest adds new ones: every read sees one snapshot and none fails.
func TestConcurrentRetention(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	g := storetest.New(13, t0, 5*time.Minute, 4)
	if err := s.Append(ctx, g.Batch(288*6)); err != nil { // six days
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	done := make(chan struct{})
	go func() {
		defer func() { errs <- nil }()
		for range 12 { // two more days, then wait
			if err := s.Append(ctx, g.Batch(48)); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer func() { errs <- nil }()
		for {
			select {
			case <-done:
				return
			default:
			}
			n := 0
			if err := s.Scan(ctx, store.Filter{}, 0, func(*store.Record) error { n++; return nil }); err != nil {
				errs <- err
				return
			}
			c, err := s.Count(ctx, store.Filter{}, []store.Column{store.ColEngine})
			if err != nil {
				errs <- err
				return
			}
			if len(c) == 0 || n == 0 {
				errs <- fmt.Errorf("read %d records, %d groups", n, len(c))
				return
			}
		}
	}()
	for day := 1; day <= 3; day++ { // the cut stays within the first six days
		if _, err := s.Retain(ctx, store.Retention{MaxAge: 72 * time.Hour}, t0.Add(time.Duration(72+24*day)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stats(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSumsMatchRecords: counts over whole days, answered from the days'
// sums, equal counts of the records themselves, also after retention
// removed part of a day (by age and by size).
func TestSumsMatchRecords(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	g := storetest.New(14, t0.Add(-7*time.Hour), 90*time.Second, 6)
	for range 4 {
		if err := s.Append(ctx, g.Batch(1500)); err != nil { // about 4 days and a half
			t.Fatal(err)
		}
	}
	high := finding.High
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	filters := []store.Filter{
		{},
		{From: day(0), To: day(2)},
		{From: day(1), To: day(1).Add(36 * time.Hour)}, // a day and a half
		{Types: []store.Type{store.TypeFinding}},
		{Engines: []string{"admission", "waf"}, MinSeverity: &high, From: day(0)},
		{Actions: []string{finding.ActionDenied}, RuleIDs: []string{"KOR-POD-001", "KOR-GOV-004"}, To: day(3)},
		{Namespaces: []string{"ns-0"}, From: day(1), To: day(2)}, // not from the sums
		{None: true},
	}
	groupings := [][]store.Column{nil, {store.ColEngine, store.ColAction}, {store.ColRuleID}, {store.ColSeverity, store.ColType}, {store.ColNamespace}}
	check := func(stage string) {
		t.Helper()
		all := scanAll(t, s, store.Filter{}, 0)
		for fi, f := range filters {
			for _, by := range groupings {
				want := map[string]int64{}
				for i := range all {
					r := &all[i]
					if !matches(f, r) {
						continue
					}
					var key []string
					for _, c := range by {
						key = append(key, c.Value(r))
					}
					want[strings.Join(key, "|")]++
				}
				got, err := s.Count(ctx, f, by)
				if err != nil {
					t.Fatal(err)
				}
				gotm := map[string]int64{}
				for _, gr := range got {
					gotm[strings.Join(gr.Key, "|")] += gr.Count
				}
				if len(want) == 0 && len(by) == 0 {
					want[""] = 0
				}
				if fmt.Sprint(gotm) != fmt.Sprint(want) {
					t.Errorf("%s: filter %d by %v: got %v, want %v", stage, fi, by, gotm, want)
				}
			}
		}
	}
	check("after ingest")
	if _, err := s.Retain(ctx, store.Retention{MaxAge: 60 * time.Hour}, day(4)); err != nil {
		t.Fatal(err)
	}
	check("after retention by age")
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(ctx, store.Retention{MaxBytes: st.Bytes * 2 / 3}, day(4)); err != nil {
		t.Fatal(err)
	}
	check("after retention by size")
}

// matches evaluates a filter on a record, as the store should.
func matches(f store.Filter, r *store.Record) bool {
	e := &r.Event
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	return !f.None && (f.From.IsZero() || !e.Time.Before(f.From)) && (f.To.IsZero() || e.Time.Before(f.To)) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, r.Type)) && in(f.Engines, e.Engine) && in(f.Actions, e.Action) &&
		in(f.RuleIDs, e.RuleID) && in(f.Namespaces, e.Resource.Namespace) &&
		(f.MinSeverity == nil || e.Severity >= *f.MinSeverity)
}
