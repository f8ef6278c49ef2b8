package query

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/sqlite"
	"github.com/kordon-dev/kordon/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func testStore(t *testing.T, n int) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Append(t.Context(), storetest.New(7, t0, 10*time.Second, 12).Batch(n)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPushDownMatchesCEL compares each query's plan with the same filter
// evaluated by CEL alone on every record.
func TestPushDownMatchesCEL(t *testing.T) {
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	st := testStore(t, 3000)
	cases := []struct {
		spec     Spec
		residual bool
	}{
		{Spec{Filter: `resource.namespace == "ns-0"`}, false},
		{Spec{Filter: `"ns-1" == resource.namespace && engine == "admission"`, GroupBy: []string{"ruleID"}}, false},
		{Spec{Filter: `ruleID in ["KOR-POD-001", "KOR-GOV-004"] && severityRank >= 3`, GroupBy: []string{"resource.namespace", "severity"}}, false},
		{Spec{Filter: `severity == "critical" || engine == "intel"`, GroupBy: []string{"engine"}}, true},
		{Spec{Filter: `engine == "flow" && attributes.verdict == "DROPPED"`, GroupBy: []string{"attributes.dstPort"}}, true},
		{Spec{Filter: `type == "finding" && resource.kind == "Deployment"`, GroupBy: []string{"type", "resource.kind"}}, false},
		{Spec{Filter: `resource.namespace == "ns-0" && resource.namespace == "ns-1"`, Count: true}, false},
		{Spec{Filter: `severity == "High"`, Count: true}, false},
		{Spec{Filter: `severityRank > 1 && severityRank < 3`, GroupBy: []string{"severity"}}, false},
		{Spec{Filter: `time >= timestamp("2026-03-01T02:00:00Z") && time < timestamp("2026-03-01T04:00:00Z")`, Count: true}, false},
		{Spec{Filter: `timestamp("2026-03-01T02:00:00Z") < time && time <= timestamp("2026-03-01T04:00:00Z") && engine == "waf"`, GroupBy: []string{"action"}}, false},
		{Spec{Filter: `actor.user.startsWith("alice")`, From: t0.Add(time.Hour), To: t0.Add(5 * time.Hour), GroupBy: []string{"resource.namespace"}}, true},
		{Spec{Filter: `"CIS:5.7.3" in controls && line > 100`, Count: true}, true},
		{Spec{Filter: `message.contains("KOR-GOV") && resource.namespace in ["ns-2", "ns-3"]`, Limit: 20}, true},
		{Spec{Filter: `engine == "sensor"`, Limit: 5, From: t0.Add(2 * time.Hour)}, false},
		{Spec{Filter: `false`, Count: true}, false},
		{Spec{Filter: `true`, GroupBy: []string{"engine", "action"}}, false},
	}
	for _, c := range cases {
		t.Run(c.spec.Filter, func(t *testing.T) {
			q, err := Compile(env, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Explain().Residual; got != c.residual {
				t.Errorf("residual = %v, want %v (plan %+v)", got, c.residual, q.Explain())
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
			if got.Count != want.Count || !reflect.DeepEqual(got.Groups, want.Groups) || len(got.Records) != len(want.Records) || got.Truncated != want.Truncated {
				t.Fatalf("pushed down: count %d groups %v records %d truncated %v\nCEL only: count %d groups %v records %d truncated %v",
					got.Count, got.Groups, len(got.Records), got.Truncated, want.Count, want.Groups, len(want.Records), want.Truncated)
			}
			for i := range got.Records {
				if got.Records[i].ID != want.Records[i].ID {
					t.Fatalf("record %d: ID %d, want %d", i, got.Records[i].ID, want.Records[i].ID)
				}
			}
			if got.EvalErrors != want.EvalErrors {
				t.Errorf("eval errors %d, want %d", got.EvalErrors, want.EvalErrors)
			}
			if c.spec.Filter != "false" && got.Count == 0 && !strings.Contains(c.spec.Filter, `"ns-0" && resource.namespace == "ns-1"`) && c.spec.Filter != `severity == "High"` {
				t.Errorf("query matched nothing: the case tests nothing")
			}
			// Matches agrees with Run record by record.
			var n int64
			err = st.Scan(t.Context(), store.Filter{}, 0, func(r *store.Record) error {
				ok, err := q.Matches(t.Context(), r)
				if err == nil && ok {
					n++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.spec.Count && n != got.Count {
				t.Errorf("Matches accepted %d records, Run counted %d", n, got.Count)
			}
		})
	}
}

func TestEvalErrorsAreCounted(t *testing.T) {
	env, _ := NewEnv()
	st := testStore(t, 500)
	// "source" is not an attribute the SQLite store keeps in a column, so
	// CEL evaluates it on every record (see TestAttributePushDown for the
	// native ones).
	q, err := Compile(env, Spec{Filter: `attributes.source == "governance"`, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Run(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if res.EvalErrors == 0 || !strings.Contains(res.FirstEvalError, "no such key") {
		t.Errorf("eval errors %d (%q); want records without the attribute counted", res.EvalErrors, res.FirstEvalError)
	}
	if res.Count == 0 {
		t.Error("no record matched")
	}
}

func TestCompileErrors(t *testing.T) {
	env, _ := NewEnv()
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Filter: `resource.namespace ==`}, "filter:"},
		{Spec{Filter: `engin == "a"`}, "undeclared reference to 'engin'"},
		{Spec{Filter: `severityRank == "high"`}, "no matching overload"},
		{Spec{Filter: `message`}, "want bool"},
		{Spec{GroupBy: []string{"colour"}}, `group by "colour"`},
		{Spec{Limit: MaxLimit + 1}, "limit"},
		{Spec{From: t0, To: t0}, "time range"},
	} {
		_, err := Compile(env, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}
