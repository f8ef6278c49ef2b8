package console

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/store"
)

// allRows pages through a findings listing and returns every row.
func allRows(t *testing.T, c *client, query string) []FindingRow {
	t.Helper()
	var rows []FindingRow
	cursor := ""
	for range 1000 {
		var page FindingsPage
		c.get(t, "/console/api/findings?limit=100&"+query+"&cursor="+url.QueryEscape(cursor), &page)
		rows = append(rows, page.Items...)
		if cursor = page.Next; cursor == "" {
			return rows
		}
	}
	t.Fatal("more than 1000 pages")
	return nil
}

// TestExceptedFindings applies an active console exception to the stored
// findings: they are shown as excepted and can be listed alone or left
// out; once the exception's last day has passed they are findings again.
func TestExceptedFindings(t *testing.T) {
	fx := newFixture(t, 600)
	ctx := context.Background()
	// The busiest rule of ns-1.
	groups, err := fx.Store.Count(ctx, store.Filter{Types: []store.Type{store.TypeFinding}, Namespaces: []string{"ns-1"}}, []store.Column{store.ColRuleID})
	if err != nil || len(groups) == 0 {
		t.Fatalf("groups %v %v", groups, err)
	}
	rule := groups[0].Key[0]
	covered := int(groups[0].Count)
	all, err := fx.Store.Count(ctx, store.Filter{Types: []store.Type{store.TypeFinding}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := int(all[0].Count)
	expires := testNow.AddDate(0, 0, 3).Format(time.DateOnly)
	if _, err := fx.Exc.Create(ctx, exceptions.Exception{Rule: rule, Namespace: "ns-1", Reason: "accepted for the migration", Expires: expires}, "alice", testNow); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	srv := New(Options{Store: fx.Store, Exceptions: fx.Exc, Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute,
		Auth: auth.New(auth.Options{Tokens: []auth.Token{{Secret: viewerToken, User: "victor", Role: auth.Viewer}}})})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := login(t, hs.URL, viewerToken)

	check := func(when string, wantCovered int) {
		t.Helper()
		only := allRows(t, c, "excepted=only")
		for _, r := range only {
			if r.Exception == "" || r.RuleID != rule || r.Resource.Namespace != "ns-1" {
				t.Fatalf("%s: excepted=only lists %s %s/%s (exception %q)", when, r.RuleID, r.Resource.Namespace, r.Resource.Name, r.Exception)
			}
		}
		hide := allRows(t, c, "excepted=hide")
		for _, r := range hide {
			if r.Exception != "" {
				t.Fatalf("%s: excepted=hide lists an excepted finding %d", when, r.ID)
			}
		}
		plain := allRows(t, c, "")
		n := 0
		for _, r := range plain {
			if r.Exception != "" {
				n++
			}
		}
		if len(only) != wantCovered || len(hide) != total-wantCovered || len(plain) != total || n != wantCovered {
			t.Errorf("%s: only %d, hide %d, all %d (%d shown excepted); want %d, %d, %d", when, len(only), len(hide), len(plain), n, wantCovered, total-wantCovered, total)
		}
	}
	check("active", covered)
	// The exception's last day still counts; the day after, it has expired.
	clock.Store(testNow.AddDate(0, 0, 3).Add(11 * time.Hour).UnixNano()) // 23:00 on the last day
	check("last day", covered)
	clock.Store(testNow.AddDate(0, 0, 3).Add(12 * time.Hour).UnixNano()) // midnight after it
	check("expired", 0)
	// Filtered with a namespace and a severity too.
	clock.Store(testNow.UnixNano())
	rows := allRows(t, c, "excepted=only&namespace=ns-2")
	if len(rows) != 0 {
		t.Errorf("ns-2: %d excepted findings, want 0", len(rows))
	}
	for _, bad := range []string{"excepted=maybe", "excepted=only&type=event"} {
		if code, b := c.do(t, "GET", "/console/api/findings?"+bad, "", nil); code != 400 {
			t.Errorf("%s: %d %s", bad, code, b)
		}
	}
	t.Logf("rule %s: %d of %d findings excepted", rule, covered, total)
}

// TestNarrowIsExact checks that narrowing the store filter to what the
// exceptions can cover loses no covered finding: for sets of exceptions
// with literal rules, namespaces and names, globs, kinds in another case,
// several exceptions at once and none, the covered findings read through
// the narrowed filter are those read from every finding. It also checks
// that the narrowed read is smaller when every exception is literal.
func TestNarrowIsExact(t *testing.T) {
	fx := newFixture(t, 3000)
	ctx := context.Background()
	base := store.Filter{Types: []store.Type{store.TypeFinding}}
	var all []finding.Finding
	if err := fx.Store.Scan(ctx, base, 0, func(rec *store.Record) error {
		all = append(all, rec.Event.Finding)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a, b := all[0], all[len(all)/2]
	ex := func(rule, kind, ns, name string) finding.Exception {
		return finding.Exception{Rule: rule, Kind: kind, Namespace: ns, Name: name, Reason: "r"}
	}
	tests := []struct {
		name     string
		m        matcher
		narrower bool // every exception literal in some field
	}{
		{"none", nil, true},
		{"rule and namespace", matcher{ex(a.RuleID, "", a.Resource.Namespace, "")}, true},
		{"one resource", matcher{ex(a.RuleID, "", a.Resource.Namespace, a.Resource.Name)}, true},
		{"kind in upper case", matcher{ex(a.RuleID, strings.ToUpper(a.Resource.Kind), "", "")}, true},
		{"two exceptions", matcher{ex(a.RuleID, "", a.Resource.Namespace, ""), ex(b.RuleID, "", "", b.Resource.Name)}, true},
		{"rule glob, literal namespace", matcher{ex(a.RuleID[:4]+"*", "", a.Resource.Namespace, "")}, true},
		{"every rule", matcher{ex("*", "", "", "")}, false},
		{"globs only", matcher{ex("KOR-?*", "", "ns-[12]", "")}, false},
		{"literal namespaces, one rule glob", matcher{ex(a.RuleID, "", a.Resource.Namespace, ""), ex("*", "", b.Resource.Namespace, "")}, true},
		{"one exception with no literal field", matcher{ex(a.RuleID, "", "", ""), ex("*", "", b.Resource.Namespace, "")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int
			for i := range all {
				if tt.m.match(&all[i]) != "" {
					want = append(want, i)
				}
			}
			var got []int
			read := 0
			f := tt.m.narrow(base)
			i := 0
			if err := fx.Store.Scan(ctx, f, 0, func(rec *store.Record) error {
				read++
				if tt.m.match(&rec.Event.Finding) == "" {
					return nil
				}
				// Records come in the same order; find this one in all.
				for ; i < len(all) && !reflect.DeepEqual(all[i], rec.Event.Finding); i++ {
				}
				got = append(got, i)
				i++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("narrowed read covers %d findings %v, every finding %d %v", len(got), got[:min(len(got), 10)], len(want), want[:min(len(want), 10)])
			}
			if tt.narrower && read >= len(all) {
				t.Errorf("narrowed filter %+v read %d of %d findings", f, read, len(all))
			}
			if !tt.narrower && read != len(all) {
				t.Errorf("filter narrowed with globs only: read %d of %d", read, len(all))
			}
		})
	}
	// A rule the request already asks for, and one outside the exceptions.
	f := matcher{ex(a.RuleID, "", "", "")}.narrow(store.Filter{Types: base.Types, RuleIDs: []string{a.RuleID, "KOR-OTHER"}})
	if f.None || !slices.Equal(f.RuleIDs, []string{a.RuleID}) {
		t.Errorf("intersection with the request's rules: %+v", f)
	}
	if f := (matcher{ex(a.RuleID, "", "", "")}).narrow(store.Filter{Types: base.Types, RuleIDs: []string{"KOR-OTHER"}}); !f.None {
		t.Errorf("no rule in common: %+v, want None", f)
	}
}
