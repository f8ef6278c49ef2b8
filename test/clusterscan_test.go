package test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/packs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// liveDifferences are rules that rightly judge a live object differently
// from the same manifest.
var liveDifferences = map[string]string{}

type fixtureCase struct {
	rule      string
	file      string
	want      string // pass or fail
	namespace string
	objs      []*k8s.Object
}

// namespacedFixtures returns the built-in rules' fixture files whose objects
// are all namespaced workloads, each moved into a fresh namespace, for rules
// that judge one object on its own (no inventory).
func namespacedFixtures(t *testing.T, all []*rules.Rule, rs *rules.RuleSet) []fixtureCase {
	t.Helper()
	var out []fixtureCase
	for _, r := range all {
		if rs.NeedsInventory(r.ID) || !r.Match.Workloads {
			continue
		}
		dir := path.Join(rules.FixturesDir, r.ID)
		entries, err := fs.ReadDir(packs.FS, dir)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
	files:
		for _, e := range entries {
			data, err := fs.ReadFile(packs.FS, path.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			objs, errs := k8s.Decode(data, path.Join(dir, e.Name()))
			if len(errs) > 0 || len(objs) == 0 {
				continue
			}
			// A fixture with its own parameter values is judged by rules
			// compiled with them; this test compiles the catalogue once,
			// with the defaults (the VAP export test checks those fixtures
			// on a real API server with their values).
			if ps, err := rules.FixtureParams(data, r.ID, e.Name()); err != nil {
				t.Fatalf("%s/%s: %v", r.ID, e.Name(), err)
			} else if len(ps) > 0 {
				continue
			}
			for _, o := range objs {
				// Moving objects out of kube-system or default (or giving a
				// namespace to one without) changes what namespace-aware
				// rules must say; those fixtures stay with the file tests.
				switch o.Namespace() {
				case "", "default", "kube-system":
					continue files
				}
				if !k8s.IsWorkload(o.Group(), o.Kind()) {
					continue files
				}
			}
			if why, ok := liveDifferences[r.ID]; ok {
				t.Logf("%s: not compared on a live cluster: %s", r.ID, why)
				continue
			}
			want := "fail"
			if strings.HasPrefix(e.Name(), "pass") {
				want = "pass"
			}
			out = append(out, fixtureCase{rule: r.ID, file: path.Join(dir, e.Name()), want: want, objs: objs})
		}
	}
	return out
}

// TestScanLiveClusterAgreesWithFixtures loads the built-in rules' workload
// fixtures into a real API server, each file in a namespace of its own,
// scans the cluster and checks every rule's verdict: a finding for each fail
// fixture, none for each pass fixture. The API server validates and
// defaults the objects first, so this shows the rules judge objects as a
// cluster really stores them.
func TestScanLiveClusterAgreesWithFixtures(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	cases := namespacedFixtures(t, all, rs)
	if len(cases) < 50 {
		t.Fatalf("only %d fixture files qualify; the test would prove little", len(cases))
	}
	var loaded []fixtureCase
	for i, c := range cases {
		c.namespace = fmt.Sprintf("fx-%d-%s", i, strings.ToLower(c.rule))
		if _, err := env.Create(ctx, &k8s.Object{Content: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": c.namespace}}}); err != nil {
			t.Fatal(err)
		}
		var objs []*k8s.Object
		for _, o := range c.objs {
			md := k8s.Map(o.Content, "metadata")
			md["namespace"] = c.namespace
			objs = append(objs, o)
		}
		if _, err := env.Create(ctx, objs...); err != nil {
			// The API server refuses some deliberately broken fixtures
			// (e.g. invalid field values); those verdicts cannot be
			// observed in a cluster.
			t.Logf("%s: not stored by the API server: %v", c.file, err)
			continue
		}
		loaded = append(loaded, c)
	}

	got, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := posture.Scan(ctx, posture.Checks{Rules: rs}, got, posture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("scan errors: %+v", rep.Errors[:min(len(rep.Errors), 5)])
	}
	byNamespace := map[string][]finding.Finding{}
	for _, f := range rep.Findings {
		byNamespace[f.Resource.Namespace] = append(byNamespace[f.Resource.Namespace], f)
	}
	checked := 0
	for _, c := range loaded {
		flagged := slices.ContainsFunc(byNamespace[c.namespace], func(f finding.Finding) bool { return f.RuleID == c.rule })
		switch {
		case c.want == "fail" && !flagged:
			t.Errorf("%s: stored in the cluster, %s reports nothing", c.file, c.rule)
		case c.want == "pass" && flagged:
			t.Errorf("%s: stored in the cluster, %s reports a finding", c.file, c.rule)
		}
		checked++
	}
	t.Logf("%d fixture files checked against the live cluster (%d not stored by the API server)", checked, len(cases)-len(loaded))
	for _, f := range rep.Findings {
		if f.Location == nil || !strings.HasPrefix(f.Location.File, "cluster:") {
			t.Fatalf("finding %s on %s: location %+v, want the cluster as source", f.RuleID, f.Resource, f.Location)
		}
	}
}
