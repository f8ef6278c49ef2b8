package netmap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/testgen"
)

func cluster(tb testing.TB, n int) *model.Cluster {
	tb.Helper()
	c, problems := model.FromObjects(testgen.Generate(n, 7, testgen.Shape{PerNamespace: 150}))
	if len(problems) > 0 {
		tb.Fatalf("generated objects: %v", problems)
	}
	return c
}

// TestMapAgreesWithAnalyzer checks the aggregated levels against the
// analyzer's connections, and traces against its verdicts.
func TestMapAgreesWithAnalyzer(t *testing.T) {
	c := cluster(t, 1500)
	m := New(c)
	res := analyzer.Analyze(c, analyzer.Options{})
	eps := res.Endpoints()
	total, intra := 0, map[string]int{}
	res.EachConnection(func(cn analyzer.Connection) bool {
		total++
		s, d := eps[cn.Src], eps[cn.Dst]
		if s.Workload != nil && d.Workload != nil && s.Workload.Namespace == d.Workload.Namespace {
			intra[s.Workload.Namespace]++
		}
		return true
	})
	top := m.Namespaces()
	sum := 0
	for _, e := range top.Edges {
		sum += e.Pairs
		if e.Src == e.Dst && e.Src != External {
			if e.Pairs != intra[e.Src] {
				t.Errorf("%s: %d pairs inside, want %d", e.Src, e.Pairs, intra[e.Src])
			}
			v, ok := m.Namespace(e.Src)
			in := 0
			for _, we := range v.Edges {
				if c.Workload(we.Src) != nil && c.Workload(we.Dst) != nil {
					in += we.Pairs
				}
			}
			if !ok || in != e.Pairs {
				t.Errorf("%s view: %d pairs inside, want %d", e.Src, in, e.Pairs)
			}
		}
	}
	if sum != total || total == 0 {
		t.Errorf("top edges hold %d pairs, analyzer %d", sum, total)
	}
	workloads, unprotected := 0, 0
	for _, n := range top.Nodes {
		workloads += n.Workloads
		unprotected += n.Unprotected
	}
	if workloads != len(c.Workloads) || unprotected == 0 || unprotected == workloads {
		t.Errorf("%d workloads (%d unprotected), want %d", workloads, unprotected, len(c.Workloads))
	}

	// Traces agree with the analyzer's ports.
	checked := 0
	for i := 0; i < len(c.Workloads) && checked < 200; i += 7 {
		j := (i * 31) % len(c.Workloads)
		if i == j {
			continue
		}
		raw, allowed, err := m.Trace(c.Workloads[i].ID(), c.Workloads[j].ID(), "")
		if err != nil {
			t.Fatal(err)
		}
		if want := !res.Ports(i, j).IsEmpty(); allowed != want {
			t.Errorf("%s -> %s: allowed %v, analyzer %v", c.Workloads[i].ID(), c.Workloads[j].ID(), allowed, want)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		checked++
	}
	if _, _, err := m.Trace("nope/nothing", c.Workloads[0].ID(), ""); err == nil {
		t.Error("trace from an unknown workload: no error")
	}
	if _, _, err := m.Trace(c.Workloads[0].ID(), c.Workloads[1].ID(), "tcp/99999"); err == nil {
		t.Error("trace with a bad port: no error")
	}

	for i := range c.Workloads {
		e, ok := m.Effective(c.Workloads[i].ID())
		if !ok {
			t.Fatal(c.Workloads[i].ID())
		}
		if e.IngressIsolated != (top.Nodes != nil && len(e.Policies) > 0 && hasDir(e, "ingress")) {
			t.Errorf("%s: effective %+v", e.Workload, e)
		}
	}
}

func hasDir(e Effective, d string) bool {
	for _, p := range e.Policies {
		for _, x := range p.Directions {
			if x == d {
				return true
			}
		}
	}
	return false
}

// BenchmarkBuild2000Workloads builds the map of a cluster of about 2,000
// workloads (7,000 generated objects).
func BenchmarkBuild2000Workloads(b *testing.B) {
	c := cluster(b, 7000)
	b.Logf("%d workloads, %d policies", len(c.Workloads), len(c.Policies))
	for b.Loop() {
		New(c)
	}
}

// TestPreview compiles an intent that zones one namespace and checks
// that every connectivity change involves that namespace.
func TestPreview(t *testing.T) {
	c := cluster(t, 1500)
	m := New(c)
	ns := c.Workloads[0].Namespace
	intent := `apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata:
  name: lockdown
groups:
  inside:
    namespaces: [` + ns + `]
zones:
  - namespaces: [` + ns + `]
rules:
  - from: inside
    to: inside
    ports: [tcp/8080]
`
	pv, err := m.Preview([]byte(intent))
	if err != nil {
		t.Fatal(err)
	}
	if pv.Total == 0 || len(pv.Changes) == 0 || !strings.Contains(pv.Policies, "kind: NetworkPolicy") {
		t.Fatalf("preview: %d changes, policies:\n%s", pv.Total, pv.Policies)
	}
	for _, ch := range pv.Changes {
		if !strings.HasPrefix(ch.Src, ns+"/") && !strings.HasPrefix(ch.Dst, ns+"/") {
			t.Errorf("change outside %s: %+v", ns, ch)
		}
	}
	// The inventory is unchanged: the same intent gives the same preview.
	again, err := m.Preview([]byte(intent))
	if err != nil || again.Total != pv.Total {
		t.Errorf("second preview: %d changes (%v), first %d", again.Total, err, pv.Total)
	}
	if _, err := m.Preview([]byte("apiVersion: kordon.dev/v1alpha1\nkind: NetworkIntent\nrules:\n  - from: nowhere\n    to: inside\n")); err == nil {
		t.Error("an intent with unknown groups: no error")
	}
}
