package query

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

// edgeStore is a store of generated records in which some flows lack
// attributes or carry edge-case values: an empty verdict, a lower-case
// one, invalid UTF-8 (stored as U+FFFD), a port with a leading zero,
// non-ASCII text, and no attributes at all.
func edgeStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "edge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// Ten seconds apart: the records span two days.
	recs := storetest.New(11, t0.Add(20*time.Hour), 10*time.Second, 8).Batch(4000)
	flows := 0
	for i := range recs {
		a := recs[i].Event.Attributes
		if recs[i].Event.Engine != "flow" {
			if i%50 == 0 { // an attribute on an event of another engine
				if a == nil {
					a = map[string]string{}
					recs[i].Event.Attributes = a
				}
				a["verdict"] = "DROPPED"
			}
			continue
		}
		flows++
		switch flows % 13 {
		case 1:
			delete(a, "verdict")
		case 2:
			a["verdict"] = ""
		case 3:
			a["verdict"] = "dropped"
		case 4:
			a["verdict"] = "DROP\xffPED"
		case 5:
			a["dstPort"] = "0443"
		case 6:
			a["verdict"] = "DROPPÉ"
		case 7:
			recs[i].Event.Attributes = nil
		case 8:
			delete(a, "dstPort")
			delete(a, "protocol")
		}
	}
	if err := s.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAttributePushDown compares queries whose attribute conditions and
// groupings the SQLite store runs in SQL with the same queries evaluated
// by CEL alone on every record: the same matches, counts and groups.
func TestAttributePushDown(t *testing.T) {
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	st := edgeStore(t)
	day2 := t0.Add(24 * time.Hour)
	cases := []struct {
		spec     Spec
		residual bool // on the SQLite store
	}{
		{Spec{Filter: `attributes.verdict == "DROPPED"`, Count: true}, false},
		{Spec{Filter: `"DROPPED" == attributes.verdict`, GroupBy: []string{"engine"}}, false},
		{Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, GroupBy: []string{"attributes.dstPort"}}, false},
		{Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, From: day2, GroupBy: []string{"attributes.dstPort", "attributes.protocol"}}, false},
		{Spec{Filter: `attributes["protocol"] == "UDP" && attributes.dstPort in ["53", "0443", "443"]`, GroupBy: []string{"attributes.verdict"}}, false},
		{Spec{Filter: `attributes.verdict == ""`, Count: true}, false},
		{Spec{Filter: `attributes.verdict == "DROP\uFFFDPED"`, Count: true}, false},
		{Spec{Filter: `attributes.verdict == "DROPPÉ" || attributes.verdict == "dropped"`, Count: true}, true},
		{Spec{Filter: `attributes.verdict == "DROPPED" && attributes.verdict == "FORWARDED"`, Count: true}, false},
		{Spec{Filter: `attributes.verdict in ["DROPPED", "dropped"] && message.contains("flow")`, GroupBy: []string{"resource.namespace"}}, true},
		{Spec{Filter: `attributes.verdict == "DROPPED" && attributes.source == "governance"`, Count: true}, true},
		{Spec{Filter: `attributes.dstPort == "443"`, Limit: 50, From: day2}, false},
		{Spec{Filter: `attributes.dstPort != "443" && engine == "flow"`, GroupBy: []string{"attributes.dstPort"}}, true},
		{Spec{Filter: `engine == "flow"`, GroupBy: []string{"attributes.verdict", "resource.namespace"}}, false},
		{Spec{Filter: `engine == "flow"`, GroupBy: []string{"attributes.bytes"}, To: t0.Add(21 * time.Hour)}, false},
		{Spec{Filter: `has(attributes.verdict) && attributes.verdict == "FORWARDED"`, Count: true}, true},
	}
	for _, c := range cases {
		t.Run(c.spec.Filter, func(t *testing.T) {
			q, err := Compile(env, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := compile(env, c.spec, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.Run(t.Context(), st)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Run(t.Context(), st)
			if err != nil {
				t.Fatal(err)
			}
			if got.Plan.Residual != c.residual {
				t.Errorf("residual = %v, want %v (plan %+v)", got.Plan.Residual, c.residual, got.Plan)
			}
			if got.Count != want.Count || !reflect.DeepEqual(got.Groups, want.Groups) || len(got.Records) != len(want.Records) || got.Truncated != want.Truncated {
				t.Fatalf("pushed down (%+v): count %d groups %v records %d truncated %v\nCEL only: count %d groups %v records %d truncated %v",
					got.Plan, got.Count, got.Groups, len(got.Records), got.Truncated, want.Count, want.Groups, len(want.Records), want.Truncated)
			}
			for i := range got.Records {
				if got.Records[i].ID != want.Records[i].ID {
					t.Fatalf("record %d: ID %d, want %d", i, got.Records[i].ID, want.Records[i].ID)
				}
			}
			// Records a pushed-down attribute condition leaves out are not
			// evaluated, so never counted as evaluation errors.
			if got.EvalErrors > want.EvalErrors {
				t.Errorf("eval errors %d, more than CEL alone (%d)", got.EvalErrors, want.EvalErrors)
			}
			if got.Count == 0 && c.spec.Filter != `attributes.verdict == "DROPPED" && attributes.verdict == "FORWARDED"` {
				t.Errorf("query matched nothing: the case tests nothing")
			}
		})
	}
}

// TestAttributesStayInCELElsewhere: on a store without native attributes
// the plan keeps attribute conditions in CEL and groups in the query.
func TestAttributesStayInCELElsewhere(t *testing.T) {
	env, _ := NewEnv()
	q, err := Compile(env, Spec{Filter: `attributes.verdict == "DROPPED"`, GroupBy: []string{"attributes.dstPort"}})
	if err != nil {
		t.Fatal(err)
	}
	var plain store.Store = plainStore{edgeStore(t)}
	if p := q.ExplainFor(plain); !p.Residual || p.NativeGroups || len(p.PushedDown) != 0 {
		t.Errorf("plan on a plain store = %+v, want the attribute condition in CEL", p)
	}
	res, err := q.Run(t.Context(), plain)
	if err != nil || res.Count == 0 {
		t.Fatalf("run on a plain store: %v, %+v", err, res)
	}
}

// plainStore hides the SQLite store's native attributes.
type plainStore struct{ store.Store }
