package console

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/console/auth"
	"github.com/kordon-dev/kordon/internal/console/exceptions"
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
