package console

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
)

// TestComplianceScores checks the framework and namespace scores and
// their trends against the documented formula, computed here from the
// catalogue: 100 × (checks − failing) / checks, rounded down.
func TestComplianceScores(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kordon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	// Two rules: one in PSS, one in no PSS control but in another framework.
	var pss, other *rules.Rule
	checks := map[string]int{}
	for _, r := range cat.Rules() {
		fws := r.Frameworks()
		if len(fws) > 0 {
			checks[""]++
		}
		for _, f := range fws {
			checks[f]++
		}
		switch {
		case pss == nil && slices.Contains(fws, "PSS"):
			pss = r
		case other == nil && len(fws) > 0 && !slices.Contains(fws, "PSS"):
			other = r
		}
	}
	if pss == nil || other == nil {
		t.Fatal("no PSS rule or no other framework rule in the catalogue")
	}
	score := func(fw string, failing ...*rules.Rule) int {
		n := 0
		for _, r := range failing {
			if fw == "" || slices.Contains(r.Frameworks(), fw) {
				n++
			}
		}
		return 100 * (checks[fw] - n) / checks[fw]
	}
	rec := func(at time.Time, r *rules.Rule, ns string) store.Record {
		return store.Record{Type: store.TypeFinding, Event: finding.Event{Time: at, Engine: "scan", Finding: finding.Finding{
			RuleID: r.ID, Severity: finding.High, Controls: r.Controls, Resource: finding.Resource{Kind: "Deployment", Namespace: ns, Name: "web"}}}}
	}
	day := testNow.Truncate(24 * time.Hour)
	twoDaysAgo, today := day.AddDate(0, 0, -2).Add(time.Hour), day.Add(time.Hour)
	// Two days ago: namespace a fails the PSS rule and b the other one;
	// today only b fails the other rule; an event does not count.
	err = st.Append(ctx, []store.Record{
		rec(twoDaysAgo, pss, "a"), rec(twoDaysAgo, other, "b"), rec(twoDaysAgo, other, "b"),
		rec(today, other, "b"),
		{Type: store.TypeEvent, Event: finding.Event{Time: today, Engine: "waf", Action: "blocked", Finding: finding.Finding{RuleID: pss.ID, Resource: finding.Resource{Namespace: "a"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Store: st, Catalogue: cat, Now: func() time.Time { return testNow }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ov, err := srv.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := func(trend []*int, daysAgo int) *int { return trend[len(trend)-1-daysAgo] }
	eq := func(what string, got *int, want int, none bool) {
		t.Helper()
		switch {
		case none && got != nil:
			t.Errorf("%s = %d, want none (no finding that day)", what, *got)
		case !none && (got == nil || *got != want):
			t.Errorf("%s = %v, want %d", what, got, want)
		}
	}
	for _, f := range ov.Frameworks {
		if f.Checks != checks[f.Framework] || f.Score != score(f.Framework, pss, other) {
			t.Errorf("%s: %d checks, score %d; want %d, %d", f.Framework, f.Checks, f.Score, checks[f.Framework], score(f.Framework, pss, other))
		}
		eq(f.Framework+" two days ago", at(f.Trend, 2), score(f.Framework, pss, other), false)
		eq(f.Framework+" yesterday", at(f.Trend, 1), 0, true)
		eq(f.Framework+" today", at(f.Trend, 0), score(f.Framework, other), false)
	}
	if len(ov.Compliance) != 2 {
		t.Fatalf("compliance of %d namespaces, want 2: %+v", len(ov.Compliance), ov.Compliance)
	}
	for _, n := range ov.Compliance {
		failing := map[string]*rules.Rule{"a": pss, "b": other}[n.Namespace]
		if n.Score != score("", failing) || n.Frameworks["PSS"] != score("PSS", failing) {
			t.Errorf("%s: score %d, PSS %d; want %d, %d", n.Namespace, n.Score, n.Frameworks["PSS"], score("", failing), score("PSS", failing))
		}
		eq(n.Namespace+" two days ago", at(n.Trend, 2), score("", failing), false)
		eq(n.Namespace+" yesterday", at(n.Trend, 1), 0, true)
		if n.Namespace == "a" {
			eq("a today", at(n.Trend, 0), 100, false)
		} else {
			eq("b today", at(n.Trend, 0), score("", other), false)
		}
	}
	if ov.Compliance[0].Score > ov.Compliance[1].Score {
		t.Errorf("compliance not lowest first: %+v", ov.Compliance)
	}
}
