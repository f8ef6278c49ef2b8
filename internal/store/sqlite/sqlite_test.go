package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kordon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAppendScanRoundTrip(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	recs := storetest.New(1, t0, time.Second, 10).Batch(500)
	if err := s.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var got []store.Record
	err := s.Scan(ctx, store.Filter{}, 0, func(r *store.Record) error {
		got = append(got, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("scanned %d records, want %d", len(got), len(recs))
	}
	for i := range got {
		if got[i].ID != recs[i].ID || got[i].Type != recs[i].Type || !got[i].Event.Time.Equal(recs[i].Event.Time) ||
			got[i].Event.Message != recs[i].Event.Message || got[i].Event.Resource != recs[i].Event.Resource ||
			got[i].Event.Severity != recs[i].Event.Severity || len(got[i].Event.Attributes) != len(recs[i].Event.Attributes) {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], recs[i])
		}
	}
}

func TestCountGroups(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	recs := storetest.New(2, t0, time.Second, 5).Batch(2000)
	if err := s.Append(ctx, recs); err != nil {
		t.Fatal(err)
	}
	high := finding.High
	f := store.Filter{From: t0.Add(100 * time.Second), To: t0.Add(1500 * time.Second), Engines: []string{"admission", "waf"}, MinSeverity: &high}
	want := map[[2]string]int64{}
	var total int64
	for _, r := range recs {
		e := r.Event
		if e.Time.Before(f.From) || !e.Time.Before(f.To) || (e.Engine != "admission" && e.Engine != "waf") || e.Severity < high {
			continue
		}
		want[[2]string{e.Resource.Namespace, e.Severity.String()}]++
		total++
	}
	groups, err := s.Count(ctx, f, []store.Column{store.ColNamespace, store.ColSeverity})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(want) {
		t.Fatalf("got %d groups, want %d: %v", len(groups), len(want), groups)
	}
	for i, g := range groups {
		if w := want[[2]string{g.Key[0], g.Key[1]}]; g.Count != w {
			t.Errorf("group %v: count %d, want %d", g.Key, g.Count, w)
		}
		if i > 0 && groups[i-1].Count < g.Count {
			t.Errorf("groups not largest first: %v", groups)
		}
	}
	all, err := s.Count(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Count != total {
		t.Errorf("ungrouped count = %v, want %d", all, total)
	}
	none, err := s.Count(ctx, store.Filter{None: true}, nil)
	if err != nil || len(none) != 1 || none[0].Count != 0 {
		t.Errorf("count of an impossible filter = %v, %v; want 0", none, err)
	}
}

func TestRetention(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	g := storetest.New(3, t0, time.Minute, 20)
	for range 10 {
		if err := s.Append(ctx, g.Batch(3000)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(30000 * time.Minute)
	// By age: keep the last 10,000 minutes.
	removed, err := s.Retain(ctx, store.Retention{MaxAge: 10000 * time.Minute}, now)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 20000 || st.Records != 10000 {
		t.Fatalf("retention by age removed %d and kept %d, want 20000 and 10000", removed, st.Records)
	}
	if cut := now.Add(-10000 * time.Minute); st.Oldest.Before(cut) {
		t.Errorf("oldest record %s is older than the cut %s", st.Oldest, cut)
	}
	// By size: to half the used size; the newest records stay.
	limit := st.Bytes / 2
	if _, err := s.Retain(ctx, store.Retention{MaxBytes: limit}, now); err != nil {
		t.Fatal(err)
	}
	st2, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Bytes > limit {
		t.Errorf("used %d bytes after retention by size, want at most %d", st2.Bytes, limit)
	}
	if st2.Records == 0 || st2.Records >= st.Records || !st2.Newest.Equal(st.Newest) {
		t.Errorf("retention by size kept %d of %d records, newest %s (was %s)", st2.Records, st.Records, st2.Newest, st.Newest)
	}
}

func TestReopenKeepsRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, storetest.New(4, t0, time.Second, 3).Batch(10)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stats(ctx)
	if err != nil || st.Records != 10 {
		t.Fatalf("after reopening: %+v, %v; want 10 records", st, err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing-dir", "k.db"))
	if err == nil {
		t.Fatal("opening a database in a missing folder succeeded")
	}
}
