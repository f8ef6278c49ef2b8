package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// Open opens a new, empty store for one test; the suite closes it.
type Open func(t *testing.T) store.Store

// Run runs the conformance suite: the semantics of store.Store that every
// back end must share, each case on a fresh store from open. A back end's
// test calls it:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openMyStore) }
func Run(t *testing.T, open Open) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyStore", testEmptyStore},
		{"OrderByTimeThenID", testOrder},
		{"Limit", testLimit},
		{"Stop", testStop},
		{"Filter", testFilter},
		{"Count", testCount},
		{"RetainByAge", testRetainAge},
		{"RetainBySize", testRetainSize},
		{"Concurrent", testConcurrent},
		{"Cancel", testCancel},
		{"LargeBatch", testLargeBatch},
		{"OddStrings", testOddStrings},
		{"TimePrecision", testTimePrecision},
		{"NativeAttributes", testNativeAttributes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func mustAppend(t *testing.T, s store.Store, recs []store.Record) {
	t.Helper()
	if err := s.Append(t.Context(), recs); err != nil {
		t.Fatalf("append %d records: %v", len(recs), err)
	}
}

func scanAll(t *testing.T, s store.Store, f store.Filter, limit int) []store.Record {
	t.Helper()
	var out []store.Record
	err := s.Scan(t.Context(), f, limit, func(r *store.Record) error {
		out = append(out, *r)
		return nil
	})
	if err != nil {
		t.Fatalf("scan %+v: %v", f, err)
	}
	return out
}

// stored returns what a store gives back for an appended record: its
// event after a JSON round trip (the document every back end keeps).
func stored(t *testing.T, r store.Record) store.Record {
	t.Helper()
	b, err := json.Marshal(r.Event)
	if err != nil {
		t.Fatal(err)
	}
	out := store.Record{ID: r.ID, Type: r.Type}
	if err := json.Unmarshal(b, &out.Event); err != nil {
		t.Fatal(err)
	}
	return out
}

// sorted returns the records in the order Scan returns them.
func sorted(recs []store.Record) []store.Record {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b store.Record) int {
		if c := a.Event.Time.Compare(b.Event.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func ids(recs []store.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func checkIDs(t *testing.T, what string, got, want []store.Record) {
	t.Helper()
	g, w := ids(got), ids(want)
	if !slices.Equal(g, w) {
		t.Errorf("%s: got %d records, want %d\n got IDs %v\nwant IDs %v", what, len(g), len(w), head(g), head(w))
	}
}

func head(v []int64) []int64 {
	if len(v) > 20 {
		return v[:20]
	}
	return v
}

func testRoundTrip(t *testing.T, s store.Store) {
	recs := New(1, t0, time.Second, 10).Batch(1200)
	// Times in another zone come back in UTC.
	recs[3].Event.Time = recs[3].Event.Time.In(time.FixedZone("X", 5*3600))
	mustAppend(t, s, recs[:700])
	mustAppend(t, s, recs[700:])
	seen := map[int64]bool{}
	for i, r := range recs {
		if r.ID <= 0 || seen[r.ID] {
			t.Fatalf("record %d: ID %d is not positive and unique", i, r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.ID <= recs[i-1].ID {
			t.Fatalf("record %d: ID %d does not increase in append order (previous %d)", i, r.ID, recs[i-1].ID)
		}
	}
	if loc := recs[3].Event.Time.Location(); loc != time.UTC {
		t.Errorf("an appended record's time is in %s, want UTC", loc)
	}
	got := scanAll(t, s, store.Filter{}, 0)
	if len(got) != len(recs) {
		t.Fatalf("scanned %d records, want %d", len(got), len(recs))
	}
	for i := range got {
		want := stored(t, recs[i])
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
		if got[i].Event.Time.Location() != time.UTC {
			t.Fatalf("record %d: time in %s, want UTC", i, got[i].Event.Time.Location())
		}
	}
	if err := s.Append(t.Context(), nil); err != nil {
		t.Errorf("appending no records: %v", err)
	}
}

func testEmptyStore(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got := scanAll(t, s, store.Filter{}, 0); len(got) != 0 {
		t.Errorf("empty store scanned %d records", len(got))
	}
	gs, err := s.Count(ctx, store.Filter{}, nil)
	if err != nil || len(gs) != 1 || gs[0].Count != 0 || len(gs[0].Key) != 0 {
		t.Errorf("count of an empty store = %+v, %v; want one group with an empty key and 0", gs, err)
	}
	gs, err = s.Count(ctx, store.Filter{}, []store.Column{store.ColEngine})
	if err != nil || len(gs) != 0 {
		t.Errorf("grouped count of an empty store = %+v, %v; want no groups", gs, err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Records != 0 || !st.Oldest.IsZero() || !st.Newest.IsZero() {
		t.Errorf("stats of an empty store = %+v, %v", st, err)
	}
	if n, err := s.Retain(ctx, store.Retention{MaxAge: time.Hour, MaxBytes: 1}, t0); err != nil || n != 0 {
		t.Errorf("retention on an empty store removed %d, %v", n, err)
	}
	if _, err := s.Count(ctx, store.Filter{}, []store.Column{"nonsense"}); err == nil {
		t.Error("counting by an unknown column succeeded")
	}
}

func testOrder(t *testing.T, s store.Store) {
	// Appended out of time order, many at the same time, over several
	// appends: a scan returns them by time, then ID.
	g := New(2, t0, 0, 5)
	var all []store.Record
	for b := range 4 {
		recs := g.Batch(50)
		for i := range recs {
			recs[i].Event.Time = t0.Add(time.Duration((i*7+b*3)%11) * time.Minute)
		}
		mustAppend(t, s, recs)
		all = append(all, recs...)
	}
	got := scanAll(t, s, store.Filter{}, 0)
	checkIDs(t, "scan of records appended out of time order", got, sorted(all))
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID && got[i].Event.Time.Equal(got[i-1].Event.Time) {
			t.Fatalf("records %d and %d at the same time are not in ID order", got[i-1].ID, got[i].ID)
		}
	}
}

func testLimit(t *testing.T, s store.Store) {
	recs := New(3, t0, time.Second, 5).Batch(300)
	mustAppend(t, s, recs)
	want := sorted(recs)
	for _, n := range []int{1, 2, 10, 299, 300, 301, 10000} {
		got := scanAll(t, s, store.Filter{}, n)
		checkIDs(t, fmt.Sprintf("limit %d", n), got, want[:min(n, len(want))])
	}
	// A limit counts matching records only.
	f := store.Filter{Engines: []string{"admission"}}
	var adm []store.Record
	for _, r := range want {
		if r.Event.Engine == "admission" {
			adm = append(adm, r)
		}
	}
	checkIDs(t, "limit 5 of admission events", scanAll(t, s, f, 5), adm[:5])
	checkIDs(t, "limit 0 (none)", scanAll(t, s, store.Filter{}, 0), want)
	checkIDs(t, "negative limit (none)", scanAll(t, s, store.Filter{}, -1), want)
}

func testStop(t *testing.T, s store.Store) {
	ctx := t.Context()
	// More records than a back end reads at once.
	recs := New(4, t0, time.Millisecond, 5).Batch(max(20000/scale, 6000))
	mustAppend(t, s, recs)
	want := sorted(recs)
	// Stops at 1,000 and 5,000 end a chunk of a back end reading 1,000,
	// then 4,000 rows at a time.
	for _, stopAt := range []int{1, 7, 1000, 5000, 5001} {
		var got []store.Record
		err := s.Scan(ctx, store.Filter{}, 0, func(r *store.Record) error {
			got = append(got, *r)
			if len(got) == stopAt {
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			t.Errorf("scan stopped with ErrStop returned %v, want nil", err)
		}
		checkIDs(t, fmt.Sprintf("stop after %d", stopAt), got, want[:stopAt])
		// With a limit above the stop (a back end may read limited scans
		// otherwise).
		got = got[:0]
		err = s.Scan(ctx, store.Filter{}, stopAt+10, func(r *store.Record) error {
			got = append(got, *r)
			if len(got) == stopAt {
				return store.ErrStop
			}
			return nil
		})
		if err != nil {
			t.Errorf("limited scan stopped with ErrStop returned %v, want nil", err)
		}
		checkIDs(t, fmt.Sprintf("stop after %d of a limit of %d", stopAt, stopAt+10), got, want[:stopAt])
	}
	// A wrapped ErrStop stops too; another error is returned as it is.
	n := 0
	err := s.Scan(ctx, store.Filter{}, 0, func(*store.Record) error {
		n++
		return fmt.Errorf("enough: %w", store.ErrStop)
	})
	if err != nil || n != 1 {
		t.Errorf("scan stopped with a wrapped ErrStop: %d calls, %v; want 1 call and nil", n, err)
	}
	boom := errors.New("boom")
	n = 0
	err = s.Scan(ctx, store.Filter{}, 0, func(*store.Record) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Errorf("scan whose callback failed: %d calls, %v; want 3 calls and the callback's error", n, err)
	}
	// The store still works after scans ended early.
	if got := scanAll(t, s, store.Filter{}, 3); len(got) != 3 {
		t.Errorf("scan after early stops returned %d records, want 3", len(got))
	}
}

// matches is the reference meaning of a filter.
func matches(f store.Filter, r *store.Record) bool {
	e := &r.Event
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	switch {
	case f.None,
		!f.From.IsZero() && e.Time.Before(f.From),
		!f.To.IsZero() && !e.Time.Before(f.To),
		len(f.Types) > 0 && !slices.Contains(f.Types, r.Type),
		!in(f.Engines, e.Engine), !in(f.Actions, e.Action), !in(f.RuleIDs, e.RuleID),
		!in(f.Namespaces, e.Resource.Namespace), !in(f.Kinds, e.Resource.Kind), !in(f.Names, e.Resource.Name),
		len(f.Severities) > 0 && !slices.Contains(f.Severities, e.Severity),
		f.MinSeverity != nil && e.Severity < *f.MinSeverity,
		f.MaxSeverity != nil && e.Severity > *f.MaxSeverity:
		return false
	}
	for k, vs := range f.Attributes {
		if v, ok := e.Attributes[k]; !ok || !slices.Contains(vs, v) {
			return false
		}
	}
	return true
}

func sev(s finding.Severity) *finding.Severity { return &s }

// filters exercises every field of store.Filter, alone and together, on
// records from New(…, t0, time.Second, 8) over 3,000 s.
func filters() []struct {
	name string
	f    store.Filter
} {
	return []struct {
		name string
		f    store.Filter
	}{
		{"none", store.Filter{}},
		{"from", store.Filter{From: t0.Add(1000 * time.Second)}},
		{"to", store.Filter{To: t0.Add(1000 * time.Second)}},
		{"from-to", store.Filter{From: t0.Add(500 * time.Second), To: t0.Add(1500 * time.Second)}},
		{"from-to-empty", store.Filter{From: t0.Add(500 * time.Second), To: t0.Add(500 * time.Second)}},
		{"type-event", store.Filter{Types: []store.Type{store.TypeEvent}}},
		{"type-finding", store.Filter{Types: []store.Type{store.TypeFinding}}},
		{"types-both", store.Filter{Types: []store.Type{store.TypeFinding, store.TypeEvent}}},
		{"engine", store.Filter{Engines: []string{"waf"}}},
		{"engines", store.Filter{Engines: []string{"waf", "sensor", "missing"}}},
		{"engine-missing", store.Filter{Engines: []string{"missing"}}},
		{"action", store.Filter{Actions: []string{finding.ActionDenied}}},
		{"actions", store.Filter{Actions: []string{finding.ActionDenied, finding.ActionBlocked}}},
		{"action-empty-string", store.Filter{Actions: []string{""}}},
		{"rule", store.Filter{RuleIDs: []string{"KOR-RT-001"}}},
		{"rules", store.Filter{RuleIDs: []string{"KOR-POD-001", "KOR-WAF-003", "KOR-WL-001"}}},
		{"rule-empty-string", store.Filter{RuleIDs: []string{""}}},
		{"namespace", store.Filter{Namespaces: []string{"ns-0"}}},
		{"namespaces", store.Filter{Namespaces: []string{"ns-1", "ns-5"}}},
		{"kind", store.Filter{Kinds: []string{"Pod"}}},
		{"kinds", store.Filter{Kinds: []string{"Job", "CronJob"}}},
		{"name", store.Filter{Names: []string{"app-3"}}},
		{"names", store.Filter{Names: []string{"app-3", "app-7"}}},
		{"severity", store.Filter{Severities: []finding.Severity{finding.High}}},
		{"severities", store.Filter{Severities: []finding.Severity{finding.Info, finding.Critical}}},
		{"min-severity", store.Filter{MinSeverity: sev(finding.Medium)}},
		{"max-severity", store.Filter{MaxSeverity: sev(finding.Low)}},
		{"severity-range", store.Filter{MinSeverity: sev(finding.Low), MaxSeverity: sev(finding.High)}},
		{"severity-range-empty", store.Filter{MinSeverity: sev(finding.High), MaxSeverity: sev(finding.Low)}},
		{"impossible", store.Filter{None: true}},
		{"impossible-with-fields", store.Filter{None: true, Engines: []string{"waf"}}},
		{"empty-lists", store.Filter{Types: []store.Type{}, Engines: []string{}, Severities: []finding.Severity{}}},
		{"combined", store.Filter{From: t0.Add(200 * time.Second), To: t0.Add(2500 * time.Second), Types: []store.Type{store.TypeEvent},
			Engines: []string{"admission", "waf"}, Namespaces: []string{"ns-0", "ns-1", "ns-2"}, MinSeverity: sev(finding.Medium)}},
		{"combined-all", store.Filter{From: t0.Add(10 * time.Second), To: t0.Add(2900 * time.Second), Types: []store.Type{store.TypeEvent},
			Engines: []string{"admission"}, Actions: []string{finding.ActionDenied, finding.ActionWarned}, RuleIDs: []string{"KOR-POD-001", "KOR-GOV-004"},
			Namespaces: []string{"ns-0", "ns-1"}, Kinds: []string{"Deployment", "Job", "Pod"}, Severities: []finding.Severity{finding.Medium, finding.High, finding.Critical},
			MinSeverity: sev(finding.Low), MaxSeverity: sev(finding.High)}},
	}
}

func testFilter(t *testing.T, s store.Store) {
	// 3,000 records over 3,000 s (fewer, further apart, under the race detector).
	recs := New(5, t0, scale*time.Second, 8).Batch(3000 / scale)
	mustAppend(t, s, recs)
	all := sorted(recs)
	for _, c := range filters() {
		var want []store.Record
		for i := range all {
			if matches(c.f, &all[i]) {
				want = append(want, all[i])
			}
		}
		got := scanAll(t, s, c.f, 0)
		checkIDs(t, "filter "+c.name, got, want)
		gs, err := s.Count(t.Context(), c.f, nil)
		if err != nil {
			t.Fatalf("filter %s: count: %v", c.name, err)
		}
		if len(gs) != 1 || gs[0].Count != int64(len(want)) {
			t.Errorf("filter %s: count = %+v, want %d", c.name, gs, len(want))
		}
		if !slices.Contains([]string{"none", "empty-lists", "types-both"}, c.name) && len(want) == len(all) {
			t.Errorf("filter %s matches every record: the test data does not exercise it", c.name)
		}
	}
}

// refGroups is the reference grouped count: largest first, ties ordered
// by the columns (type and severity by number, strings by bytes).
func refGroups(recs []store.Record, f store.Filter, by []store.Column) []store.Group {
	type acc struct {
		rec *store.Record
		n   int64
	}
	m := map[string]*acc{}
	var keys []string
	for i := range recs {
		r := &recs[i]
		if !matches(f, r) {
			continue
		}
		var kb strings.Builder
		for _, c := range by {
			kb.WriteString(c.Value(r))
			kb.WriteByte(0)
		}
		k := kb.String()
		if m[k] == nil {
			m[k] = &acc{rec: r}
			keys = append(keys, k)
		}
		m[k].n++
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, y := m[a], m[b]
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		for _, col := range by {
			var c int
			switch col {
			case store.ColType:
				c = cmp.Compare(x.rec.Type, y.rec.Type)
			case store.ColSeverity:
				c = cmp.Compare(x.rec.Event.Severity, y.rec.Event.Severity)
			default:
				c = strings.Compare(col.Value(x.rec), col.Value(y.rec))
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	out := []store.Group{}
	for _, k := range keys {
		g := store.Group{Count: m[k].n, Key: []string{}}
		for _, c := range by {
			g.Key = append(g.Key, c.Value(m[k].rec))
		}
		out = append(out, g)
	}
	return out
}

func testCount(t *testing.T, s store.Store) {
	recs := New(6, t0, scale*time.Second, 8).Batch(3000 / scale)
	mustAppend(t, s, recs)
	var bys [][]store.Column
	for _, c := range store.Columns() {
		bys = append(bys, []store.Column{c})
	}
	bys = append(bys,
		[]store.Column{store.ColEngine, store.ColAction},
		[]store.Column{store.ColSeverity, store.ColType},
		[]store.Column{store.ColNamespace, store.ColSeverity},
		[]store.Column{store.ColType, store.ColEngine, store.ColAction, store.ColRuleID, store.ColSeverity, store.ColNamespace, store.ColKind, store.ColName},
	)
	fs := []store.Filter{{}, {From: t0.Add(100 * time.Second), To: t0.Add(1500 * time.Second), Engines: []string{"admission", "waf"}, MinSeverity: sev(finding.High)}, {None: true}}
	for _, f := range fs {
		for _, by := range bys {
			got, err := s.Count(t.Context(), f, by)
			if err != nil {
				t.Fatalf("count by %v: %v", by, err)
			}
			want := refGroups(recs, f, by)
			if len(got) == 0 {
				got = []store.Group{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("count of %+v by %v:\n got %v\nwant %v", f, by, headGroups(got), headGroups(want))
			}
		}
	}
}

func headGroups(g []store.Group) []store.Group {
	if len(g) > 12 {
		return g[:12]
	}
	return g
}

func stats(t *testing.T, s store.Store) store.Stats {
	t.Helper()
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return st
}

func testRetainAge(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := New(7, t0, time.Minute, 20)
	var all []store.Record
	const batch = 3000 / scale
	for range 10 {
		recs := g.Batch(batch)
		mustAppend(t, s, recs)
		all = append(all, recs...)
	}
	const total, keep = 10 * batch, 10 * batch / 3
	st := stats(t, s)
	if st.Records != total || !st.Oldest.Equal(t0) || !st.Newest.Equal(t0.Add((total-1)*time.Minute)) {
		t.Fatalf("stats = %+v, want %d records from %s to %s", st, total, t0, t0.Add((total-1)*time.Minute))
	}
	if st.Bytes <= 0 {
		t.Errorf("stats: %d bytes for %d records", st.Bytes, total)
	}
	now := t0.Add(total * time.Minute)
	// Zero bounds keep everything.
	if n, err := s.Retain(ctx, store.Retention{}, now); err != nil || n != 0 {
		t.Fatalf("retention without bounds removed %d, %v", n, err)
	}
	// By age: keep the last third; a record exactly at the cut stays.
	removed, err := s.Retain(ctx, store.Retention{MaxAge: keep * time.Minute}, now)
	if err != nil {
		t.Fatal(err)
	}
	st2 := stats(t, s)
	if removed != total-keep || st2.Records != keep {
		t.Fatalf("retention by age removed %d and kept %d, want %d and %d", removed, st2.Records, total-keep, keep)
	}
	if cut := now.Add(-keep * time.Minute); !st2.Oldest.Equal(cut) {
		t.Errorf("oldest record after retention is %s, want the one at the cut %s", st2.Oldest, cut)
	}
	if st2.Bytes >= st.Bytes {
		t.Errorf("retention by age left %d bytes of %d", st2.Bytes, st.Bytes)
	}
	checkIDs(t, "records kept by age", scanAll(t, s, store.Filter{}, 0), all[total-keep:])
	// Again: nothing more to remove.
	if n, err := s.Retain(ctx, store.Retention{MaxAge: keep * time.Minute}, now); err != nil || n != 0 {
		t.Errorf("second retention by age removed %d, %v", n, err)
	}
	// Everything older than now.
	if n, err := s.Retain(ctx, store.Retention{MaxAge: time.Nanosecond}, now); err != nil || n != keep {
		t.Errorf("retention of everything removed %d, %v; want %d", n, err, keep)
	}
	if st := stats(t, s); st.Records != 0 || !st.Oldest.IsZero() {
		t.Errorf("stats after removing everything: %+v", st)
	}
}

func testRetainSize(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := New(8, t0, time.Minute, 20)
	var all []store.Record
	for range 10 {
		recs := g.Batch(2000 / scale)
		mustAppend(t, s, recs)
		all = append(all, recs...)
	}
	st := stats(t, s)
	now := t0.Add(20000 * time.Minute)
	// A bound above the size removes nothing.
	if n, err := s.Retain(ctx, store.Retention{MaxBytes: st.Bytes * 2}, now); err != nil || n != 0 {
		t.Fatalf("retention to twice the size removed %d, %v", n, err)
	}
	// To half the size: the oldest go, the newest stay.
	limit := st.Bytes / 2
	removed, err := s.Retain(ctx, store.Retention{MaxBytes: limit}, now)
	if err != nil {
		t.Fatal(err)
	}
	st2 := stats(t, s)
	if st2.Bytes > limit {
		t.Errorf("used %d bytes after retention by size, want at most %d", st2.Bytes, limit)
	}
	if removed <= 0 || st2.Records != st.Records-removed || st2.Records == 0 {
		t.Fatalf("retention by size removed %d of %d records and kept %d", removed, st.Records, st2.Records)
	}
	if !st2.Newest.Equal(st.Newest) {
		t.Errorf("newest record after retention by size is %s, was %s", st2.Newest, st.Newest)
	}
	// It removes no more than about the excess: at least a third is kept.
	if st2.Records < st.Records/3 {
		t.Errorf("retention to half the size kept only %d of %d records", st2.Records, st.Records)
	}
	checkIDs(t, "records kept by size", scanAll(t, s, store.Filter{}, 0), sorted(all)[removed:])
	// Age and size together.
	if _, err := s.Retain(ctx, store.Retention{MaxAge: 5000 * time.Minute, MaxBytes: 1}, now); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, s); st.Records != 0 {
		t.Errorf("retention to 1 byte kept %d records", st.Records)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, batches, batch = 4, 15 / scale, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches+100)
	appended := make([][]store.Record, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := New(uint64(100+w), t0.Add(time.Duration(w)*time.Millisecond), time.Second, 10)
			for range batches {
				recs := g.Batch(batch)
				if err := s.Append(ctx, recs); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				appended[w] = append(appended[w], recs...)
			}
		}()
	}
	done := make(chan struct{})
	var rg sync.WaitGroup
	for r := range 2 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				var prev store.Record
				first := true
				err := s.Scan(ctx, store.Filter{Engines: []string{"flow", "waf"}}, 0, func(rec *store.Record) error {
					if !first && (rec.Event.Time.Before(prev.Event.Time) || rec.Event.Time.Equal(prev.Event.Time) && rec.ID <= prev.ID) {
						return fmt.Errorf("reader %d: record %d after %d is out of order", r, rec.ID, prev.ID)
					}
					prev, first = *rec, false
					return nil
				})
				if err == nil {
					_, err = s.Count(ctx, store.Filter{}, []store.Column{store.ColEngine})
				}
				if err == nil {
					_, err = s.Stats(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var all []store.Record
	for w := range writers {
		all = append(all, appended[w]...)
	}
	seen := map[int64]bool{}
	for _, r := range all {
		if seen[r.ID] {
			t.Fatalf("ID %d given to two records", r.ID)
		}
		seen[r.ID] = true
	}
	if st := stats(t, s); st.Records != writers*batches*batch {
		t.Errorf("after concurrent appends the store holds %d records, want %d", st.Records, writers*batches*batch)
	}
	checkIDs(t, "scan after concurrent appends", scanAll(t, s, store.Filter{}, 0), sorted(all))
}

func testCancel(t *testing.T, s store.Store) {
	recs := New(9, t0, time.Millisecond, 5).Batch(5000)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, recs[:100]); err == nil {
		t.Error("append with a cancelled context succeeded")
	}
	if st := stats(t, s); st.Records != 0 {
		t.Errorf("append with a cancelled context stored %d records", st.Records)
	}
	mustAppend(t, s, recs)
	if err := s.Scan(ctx, store.Filter{}, 0, func(*store.Record) error { return nil }); err == nil {
		t.Error("scan with a cancelled context succeeded")
	}
	if _, err := s.Count(ctx, store.Filter{}, []store.Column{store.ColEngine}); err == nil {
		t.Error("count with a cancelled context succeeded")
	}
	if _, err := s.Retain(ctx, store.Retention{MaxAge: time.Nanosecond}, t0.Add(time.Hour)); err == nil {
		t.Error("retention with a cancelled context succeeded")
	}
	// Cancelled during a scan: the scan ends with an error, soon.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	n := 0
	err := s.Scan(ctx, store.Filter{}, 0, func(*store.Record) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	})
	if err == nil || n == len(recs) {
		t.Errorf("scan cancelled after 10 records: %d calls, err %v; want an error before the end", n, err)
	}
	// The store still works, and holds what was appended before.
	if st := stats(t, s); st.Records != int64(len(recs)) {
		t.Errorf("after cancellations the store holds %d records, want %d", st.Records, len(recs))
	}
}

func testLargeBatch(t *testing.T, s store.Store) {
	recs := New(10, t0, time.Millisecond, 50).Batch(70001 / scale)
	mustAppend(t, s, recs)
	for i := 1; i < len(recs); i++ {
		if recs[i].ID <= recs[i-1].ID {
			t.Fatalf("record %d: ID %d after %d", i, recs[i].ID, recs[i-1].ID)
		}
	}
	gs, err := s.Count(t.Context(), store.Filter{}, nil)
	if err != nil || gs[0].Count != int64(len(recs)) {
		t.Fatalf("count after one append of %d records = %+v, %v", len(recs), gs, err)
	}
	last := scanAll(t, s, store.Filter{From: recs[len(recs)-1].Event.Time}, 0)
	if len(last) != 1 || !reflect.DeepEqual(last[0], stored(t, recs[len(recs)-1])) {
		t.Errorf("the last record of a large batch: got %+v", last)
	}
}

// oddStrings are values that trip up quoting, escaping, collation and
// encodings.
var oddStrings = []string{
	"", " ", "o'brien", `"quoted"`, `back\slash`, "semi;colon -- comment", "'; DROP TABLE records; --",
	"100%", "under_score", "*", "?", "$1", ":name", "@p1",
	"ünïcödé", "日本語の名前", "emoji-🔥-🚀", "עברית", "e\u0301", "é", "Z", "a", "A", "\u200b", "line\nbreak", "tab\tchar",
}

// longString returns n bytes that do not compress (a database may
// compress what it indexes).
func longString(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.IntN(62)]
	}
	return string(b)
}

func testOddStrings(t *testing.T, s store.Store) {
	g := New(11, t0, time.Second, 3)
	var recs []store.Record
	long := []string{longString(3000), longString(20000), "日本" + longString(1200)}
	odd := append(slices.Clone(oddStrings), long...)
	for i, v := range odd {
		r := g.Next()
		r.Type = store.TypeEvent
		r.Event.Engine, r.Event.Action, r.Event.RuleID = "odd", v, v
		r.Event.Resource = finding.Resource{Namespace: v, Kind: v, Name: fmt.Sprintf("%s-%d", v, i)}
		r.Event.Message = v
		r.Event.Attributes = map[string]string{v: v}
		recs = append(recs, r)
	}
	// NUL bytes and invalid UTF-8 never fail an append; a record is kept as
	// its JSON round trip (invalid bytes become U+FFFD, one each) and found
	// by the values it is shown with.
	for _, v := range []string{"nul\x00byte", "bad\xffutf8", "bad\xff\xfe-two", "bad\xff\x00-mixed"} {
		r := g.Next()
		r.Event.Engine, r.Event.Resource.Namespace, r.Event.Message = "odd-bytes", v, v
		recs = append(recs, r)
	}
	mustAppend(t, s, recs)
	got := scanAll(t, s, store.Filter{Engines: []string{"odd"}}, 0)
	if len(got) != len(odd) {
		t.Fatalf("scanned %d odd records, want %d", len(got), len(odd))
	}
	for i := range got {
		if want := stored(t, recs[i]); !reflect.DeepEqual(got[i], want) {
			t.Errorf("odd record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	// Each value matches exactly its own record: no case folding, no
	// normalisation, no pattern characters.
	for i, v := range odd {
		f := store.Filter{Engines: []string{"odd"}, Namespaces: []string{v}}
		if got := scanAll(t, s, f, 0); len(got) != 1 || got[0].ID != recs[i].ID {
			t.Errorf("namespace %q matched %v, want record %d", v, ids(got), recs[i].ID)
		}
		f = store.Filter{Names: []string{fmt.Sprintf("%s-%d", v, i)}, Actions: []string{v, "other"}}
		if got := scanAll(t, s, f, 0); len(got) != 1 || got[0].ID != recs[i].ID {
			t.Errorf("name and action %q matched %v, want record %d", v, ids(got), recs[i].ID)
		}
	}
	// Grouped counts key by the values; ties are in byte order. (A back
	// end may shorten very long values in group keys.)
	gs, err := s.Count(t.Context(), store.Filter{Engines: []string{"odd"}, To: recs[len(oddStrings)].Event.Time}, []store.Column{store.ColRuleID})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(oddStrings)
	slices.Sort(want)
	var keys []string
	for _, g := range gs {
		if g.Count != 1 {
			t.Errorf("group %q: count %d, want 1", g.Key[0], g.Count)
		}
		keys = append(keys, g.Key[0])
	}
	if !slices.Equal(keys, want) {
		t.Errorf("groups of odd rule IDs in the wrong order or values:\n got %q\nwant %q", keys, want)
	}
	// The odd bytes: each record is found by its value as stored.
	for _, r := range recs[len(odd):] {
		f := store.Filter{Engines: []string{"odd-bytes"}, Namespaces: []string{stored(t, r).Event.Resource.Namespace}}
		got := scanAll(t, s, f, 0)
		if len(got) != 1 || got[0].ID != r.ID {
			t.Errorf("namespace %q (appended as %q) matched %v, want record %d", f.Namespaces[0], r.Event.Resource.Namespace, ids(got), r.ID)
			continue
		}
		if want := stored(t, r); !bytes.Equal(mustJSON(t, got[0]), mustJSON(t, want)) {
			t.Errorf("record %d:\n got %+v\nwant %+v", r.ID, got[0], want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testTimePrecision(t *testing.T, s store.Store) {
	g := New(12, t0, 0, 3)
	var recs []store.Record
	for i, d := range []time.Duration{0, 1, 2, 999, 1000, 1001, time.Second - 1} {
		r := g.Next()
		r.Event.Time = t0.Add(d)
		r.Event.Message = fmt.Sprint(i)
		recs = append(recs, r)
	}
	// Far past and future.
	for _, tm := range []time.Time{time.Date(1971, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(2250, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		r := g.Next()
		r.Event.Time = tm
		recs = append(recs, r)
	}
	mustAppend(t, s, recs)
	got := scanAll(t, s, store.Filter{}, 0)
	checkIDs(t, "times a nanosecond apart", got, sorted(recs))
	for _, r := range got {
		var want store.Record
		for _, w := range recs {
			if w.ID == r.ID {
				want = stored(t, w)
			}
		}
		if !r.Event.Time.Equal(want.Event.Time) {
			t.Errorf("record %d: time %s, want %s", r.ID, r.Event.Time.Format(time.RFC3339Nano), want.Event.Time.Format(time.RFC3339Nano))
		}
	}
	// Bounds are exact to the nanosecond: From inclusive, To exclusive.
	for _, c := range []struct {
		from, to time.Duration
		want     int
	}{{1, 2, 1}, {1, 1000, 3}, {0, 1, 1}, {1000, 1001, 1}, {999, time.Second, 4}, {2, 2, 0}} {
		f := store.Filter{From: t0.Add(c.from), To: t0.Add(c.to)}
		if got := scanAll(t, s, f, 0); len(got) != c.want {
			t.Errorf("from t0+%dns to t0+%dns: %d records, want %d", c.from, c.to, len(got), c.want)
		}
	}
	st := stats(t, s)
	if !st.Oldest.Equal(recs[7].Event.Time) || !st.Newest.Equal(recs[8].Event.Time) {
		t.Errorf("stats span %s to %s, want %s to %s", st.Oldest, st.Newest, recs[7].Event.Time, recs[8].Event.Time)
	}
}

// testNativeAttributes checks the attribute filters and groupings of a
// back end implementing store.NativeAttributes against the reference; it
// skips for others.
func testNativeAttributes(t *testing.T, s store.Store) {
	na, ok := s.(store.NativeAttributes)
	if !ok {
		t.Skip("the back end keeps no attributes natively")
	}
	keys := na.NativeAttributes()
	recs := New(13, t0, scale*time.Second, 8).Batch(3000 / scale)
	// Present but empty, and absent, on some flows; a key the generator
	// lacks is added.
	for i := range recs {
		a := recs[i].Event.Attributes
		if recs[i].Event.Engine != "flow" {
			continue
		}
		a["srcPort"] = fmt.Sprint(32768 + i%5)
		if i%7 == 0 {
			a["verdict"] = ""
			delete(a, "protocol")
		}
	}
	mustAppend(t, s, recs)
	all := sorted(recs)
	var fs []store.Filter
	for _, k := range keys {
		// The values of the key in the data, the first two of them.
		var vals []string
		for _, r := range all {
			if v, ok := r.Event.Attributes[k]; ok && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			t.Fatalf("native attribute %q: no record has it", k)
		}
		fs = append(fs,
			store.Filter{Attributes: map[string][]string{k: vals[:1]}},
			store.Filter{Attributes: map[string][]string{k: vals[:min(2, len(vals))]}, Engines: []string{"flow"}},
			store.Filter{Attributes: map[string][]string{k: {}}},
			store.Filter{Attributes: map[string][]string{k: {"no such value"}}},
		)
	}
	fs = append(fs, store.Filter{From: t0.Add(500 * time.Second), Attributes: map[string][]string{"verdict": {"DROPPED", ""}, "protocol": {"TCP"}}})
	for _, f := range fs {
		var want []store.Record
		for i := range all {
			if matches(f, &all[i]) {
				want = append(want, all[i])
			}
		}
		checkIDs(t, fmt.Sprintf("filter on attributes %v", f.Attributes), scanAll(t, s, f, 0), want)
		gs, err := s.Count(t.Context(), f, nil)
		if err != nil || len(gs) != 1 || gs[0].Count != int64(len(want)) {
			t.Errorf("count of attributes %v = %+v, %v; want %d", f.Attributes, gs, err, len(want))
		}
	}
	for _, k := range keys {
		for _, by := range [][]store.Column{{store.AttributeColumn(k)}, {store.ColEngine, store.AttributeColumn(k)}} {
			got, err := s.Count(t.Context(), store.Filter{}, by)
			if err != nil {
				t.Fatalf("count by %v: %v", by, err)
			}
			want := refGroups(recs, store.Filter{}, by)
			if len(got) == 0 {
				got = []store.Group{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("count by %v:\n got %v\nwant %v", by, headGroups(got), headGroups(want))
			}
		}
	}
}
