package generate

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/emit"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
	"github.com/kordon-dev/kordon/internal/netpol/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s:\n%s", path, got)
	}
}

func TestHubbleGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := k8s.Decode(data, "cluster.yaml")
	c, _ := model.FromObjects(objs)
	f, err := os.Open("testdata/hubble.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flows, err := flow.Read(f, "hubble.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(c, flows.Flows, Options{Ingress: true, Egress: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NotAllowed) > 0 {
		t.Errorf("observed flows not allowed: %v", res.NotAllowed)
	}
	yaml, err := compile.Marshal(res.Policies)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/hubble.policies.yaml", yaml)
	report, _ := json.MarshalIndent(res, "", "  ")
	golden(t, "testdata/hubble.report.json", append(report, '\n'))
}

// TestObservedFlowsStayAllowed generates policies from random flows on
// random clusters that already have policies, and checks with the analyzer
// that every observed flow is allowed.
func TestObservedFlowsStayAllowed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for iter := range 150 {
		c := synth.Random(rng, synth.Small{Namespaces: 2, Workloads: 6, Policies: 3})
		var labelled []*model.Workload
		for i := range c.Workloads {
			if len(c.Workloads[i].Labels) > 0 {
				labelled = append(labelled, &c.Workloads[i])
			}
		}
		if len(labelled) < 2 {
			continue
		}
		end := func() flow.End {
			if rng.IntN(5) == 0 {
				return flow.End{IP: netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(4))})}
			}
			w := labelled[rng.IntN(len(labelled))]
			return flow.End{Namespace: w.Namespace, Name: w.Name}
		}
		var flows []flow.Flow
		for i := range 1 + rng.IntN(8) {
			f := flow.Flow{Src: end(), Dst: end(), Protocol: portset.Protocol(rng.IntN(3)), Port: int32(1 + rng.IntN(100)), Line: i + 1}
			if f.Src.Name == "" && f.Dst.Name == "" {
				continue
			}
			flows = append(flows, f)
		}
		res, err := Generate(c, flows, Options{Ingress: true, Egress: true})
		if err != nil {
			t.Fatalf("case %d: %v", iter, err)
		}
		if len(res.NotAllowed) > 0 {
			t.Fatalf("case %d: observed flows not allowed: %v\nflows: %v", iter, res.NotAllowed, fmt.Sprint(flows))
		}
		if res.Flows != len(flows) {
			t.Fatalf("case %d: used %d of %d flows: %v", iter, res.Flows, len(flows), res.Warnings)
		}
	}
}

const mappingCluster = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-6d4cf56db6-rw2hk
  namespace: shop
  labels: {app: api, pod-template-hash: 6d4cf56db6}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-6d4cf56db6, controller: true}]
spec: {containers: [{name: c}]}
status: {podIP: 10.244.1.7}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec: {template: {metadata: {labels: {app: db, tier: data}}, spec: {containers: [{name: c}]}}}
`

// TestMapping checks how flow ends are mapped to workloads.
func TestMapping(t *testing.T) {
	objs, errs := k8s.Decode([]byte(mappingCluster), "cluster.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, _ := model.FromObjects(objs)
	tests := []struct {
		name    string
		end     flow.End
		want    string
		warning string
	}{
		{"workload name", flow.End{Namespace: "shop", Name: "web"}, "Deployment/shop/web", ""},
		{"known pod", flow.End{Namespace: "shop", Name: "api-6d4cf56db6-rw2hk"}, "Deployment/shop/api", ""},
		{"pod name prefix", flow.End{Namespace: "shop", Name: "db-0"}, "StatefulSet/shop/db", ""},
		{"labels", flow.End{Namespace: "shop", Name: "x", Labels: map[string]string{"app": "db", "tier": "data", "pod-template-hash": "1"}}, "StatefulSet/shop/db", ""},
		{"pod address", flow.End{IP: netip.MustParseAddr("10.244.1.7")}, "Deployment/shop/api", ""},
		{"outside address", flow.End{IP: netip.MustParseAddr("192.0.2.1")}, "192.0.2.1", ""},
		{"unknown pod with labels", flow.End{Namespace: "ops", Name: "agent-7c9f8b6d5d-x2x9z", Labels: map[string]string{"app": "agent", "pod-template-hash": "7c9f8b6d5d"}}, "Deployment/ops/agent", "is not in the input"},
		{"unknown pod without labels", flow.End{Namespace: "ops", Name: "mystery"}, "", "no labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flow.Flow{Src: tt.end, Dst: flow.End{Namespace: "shop", Name: "web"}, Protocol: portset.TCP, Port: 80, Line: 1}
			if tt.end.Name == "web" {
				f.Dst = flow.End{IP: netip.MustParseAddr("198.51.100.1")}
			}
			res, err := Generate(c, []flow.Flow{f}, Options{Ingress: true, Egress: true})
			if err != nil {
				t.Fatal(err)
			}
			warnings := fmt.Sprint(res.Warnings)
			if tt.warning != "" && !strings.Contains(warnings, tt.warning) {
				t.Errorf("warnings %s lack %q", warnings, tt.warning)
			}
			if tt.want == "" {
				if res.Flows != 0 {
					t.Errorf("flow used, want it skipped")
				}
				return
			}
			var got []string
			for _, p := range res.Policies {
				md := p["metadata"].(map[string]any)
				got = append(got, md["annotations"].(map[string]any)["kordon.dev/generated-for"].(string))
			}
			wantPolicy := strings.Replace(tt.want, "/", " ", 1)
			if !strings.Contains(tt.want, "/") { // an address: only the destination gets a policy
				if len(got) != 1 {
					t.Errorf("policies for %v, want one for shop/web", got)
				}
				return
			}
			if !slices.Contains(got, wantPolicy) {
				t.Errorf("policies for %v, want one for %s", got, wantPolicy)
			}
		})
	}
}

// TestUnmatched checks that flows neither end of which is a workload are
// counted with a sample, not used, and fail the run when they are too many
// or when nothing could be used.
func TestUnmatched(t *testing.T) {
	objs, errs := k8s.Decode([]byte(mappingCluster), "cluster.yaml")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	c, _ := model.FromObjects(objs)
	addr := func(i int) flow.End { return flow.End{IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})} }
	web := flow.End{Namespace: "shop", Name: "web"}
	ghost := flow.End{Namespace: "ops", Name: "ghost"}
	used := flow.Flow{Src: web, Dst: addr(1), Protocol: portset.TCP, Port: 443}
	unmatched := []flow.Flow{
		{Src: addr(1), Dst: addr(2), Protocol: portset.TCP, Port: 80},
		{Src: ghost, Dst: addr(3), Protocol: portset.UDP, Port: 53},
		{Src: addr(4), Dst: ghost, Protocol: portset.TCP, Port: 8080},
	}
	tests := []struct {
		name          string
		flows         []flow.Flow
		max           float64
		wantUnmatched int
		wantFailure   string
	}{
		{"no flows", nil, 0.5, 0, "no flow was read"},
		{"all unmatched", unmatched, 1, 3, "none of the 3 flows could be used"},
		{"under the limit", append([]flow.Flow{used, used, used}, unmatched...), 0.5, 3, ""},
		{"over the limit", append([]flow.Flow{used, used}, unmatched...), 0.5, 3, "3 of 5 flows (60%) matched no workload, more than the 50% allowed"},
		{"none allowed", append([]flow.Flow{used}, unmatched[0]), 0, 1, "1 of 2 flows (50%)"},
		{"only unusable flows", []flow.Flow{{Src: ghost, Dst: web, Protocol: portset.TCP, Port: 80}}, 0.5, 0, "none of the 1 flows could be used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flows := slices.Clone(tt.flows)
			for i := range flows {
				flows[i].Line = i + 1
			}
			res, err := Generate(c, flows, Options{Ingress: true, Egress: true, MaxUnmatched: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			if res.Unmatched != tt.wantUnmatched || len(res.UnmatchedSample) != tt.wantUnmatched || res.Read != len(tt.flows) {
				t.Errorf("read %d, unmatched %d, sample %q; want %d read, %d unmatched", res.Read, res.Unmatched, res.UnmatchedSample, len(tt.flows), tt.wantUnmatched)
			}
			got := strings.Join(res.Failures, "\n")
			if (tt.wantFailure == "") != (got == "") || !strings.Contains(got, tt.wantFailure) {
				t.Errorf("failures %q, want %q", got, tt.wantFailure)
			}
		})
	}
	for i := range unmatched {
		unmatched[i].Line = i + 1
	}
	res, _ := Generate(c, unmatched, Options{})
	want := []string{
		"line 1: 192.0.2.1 -> 192.0.2.2 on TCP/80: neither end is a workload",
		"line 2: ops/ghost -> 192.0.2.3 on UDP/53: source ops/ghost: pod not found in the input and the flow carries no labels to select it by",
		"line 3: 192.0.2.4 -> ops/ghost on TCP/8080: destination ops/ghost: pod not found in the input and the flow carries no labels to select it by",
	}
	if !slices.Equal(res.UnmatchedSample, want) {
		t.Errorf("sample = %q, want %q", res.UnmatchedSample, want)
	}
}

// TestWarningsAreBounded checks that an end that cannot be mapped gives one
// warning counting its flows, however many there are.
func TestWarningsAreBounded(t *testing.T) {
	objs, _ := k8s.Decode([]byte(mappingCluster), "cluster.yaml")
	c, _ := model.FromObjects(objs)
	g := New(c, Options{Ingress: true, Egress: true})
	for i := range 10000 {
		g.Observe(flow.Flow{Src: flow.End{Namespace: "ops", Name: fmt.Sprintf("ghost-%d", i%300)}, Dst: flow.End{Namespace: "shop", Name: "web"}, Protocol: portset.TCP, Port: 80, Line: i + 1})
	}
	res, err := g.Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != maxWarnings+1 {
		t.Fatalf("%d warnings, want %d", len(res.Warnings), maxWarnings+1)
	}
	if want := "flow on line 1 and 33 more: source ops/ghost-0: pod not found"; !strings.HasPrefix(res.Warnings[0], want) {
		t.Errorf("first warning %q, want it to start with %q", res.Warnings[0], want)
	}
	if want := "6600 more flows could not be used"; !strings.HasPrefix(res.Warnings[maxWarnings], want) {
		t.Errorf("last warning %q, want it to start with %q", res.Warnings[maxWarnings], want)
	}
}

// TestEmittedPoliciesAreValid generates policies for workloads with long
// names, flows to many addresses and on many ports, and labels no pod can
// carry, and checks that every policy is valid and within the size limit,
// and that renames and splits are reported.
func TestEmittedPoliciesAreValid(t *testing.T) {
	long := strings.Repeat("w", 245)
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "shop", Name: long + "-a", Kind: "Deployment", Labels: map[string]string{"app": "a"}},
		{Namespace: "shop", Name: long + "-b", Kind: "Deployment", Labels: map[string]string{"app": "b"}},
		{Namespace: "shop", Name: "web", Kind: "Deployment", Labels: map[string]string{"app": "web", "bad key": "x", "ok": "not ok"}},
	}}
	c.Normalize()
	g := New(c, Options{Ingress: true, Egress: true})
	line := 0
	add := func(src, dst flow.End, port int) {
		line++
		g.Observe(flow.Flow{Src: src, Dst: dst, Protocol: portset.TCP, Port: int32(port), Line: line})
	}
	a, b, web := flow.End{Namespace: "shop", Name: long + "-a"}, flow.End{Namespace: "shop", Name: long + "-b"}, flow.End{Namespace: "shop", Name: "web"}
	add(a, b, 80)
	for i := range 6000 { // many addresses: a large policy for web
		add(web, flow.End{IP: netip.AddrFrom4([4]byte{198, 18, byte(i / 256), byte(i % 256)})}, 443)
	}
	for p := 1; p < 40000; p += 2 { // many ports: large rules for a and b
		add(a, b, p)
	}
	res, err := g.Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NotAllowed) > 0 {
		t.Errorf("not allowed: %v", res.NotAllowed)
	}
	var renamed, split int
	for _, ch := range res.Changes {
		switch {
		case strings.HasPrefix(ch, "renamed shop/kordon-"+long):
			renamed++
		case strings.HasPrefix(ch, "split shop/kordon-web ("), strings.HasPrefix(ch, "split shop/kordon-www"):
			split++
		}
	}
	if renamed != 2 || split != 3 || len(res.Changes) != 5 {
		t.Errorf("changes %q, want 2 renames and 3 splits (web, a and b)", res.Changes)
	}
	names := map[string]bool{}
	for _, p := range res.Policies {
		if err := emit.Validate(p, emit.DefaultMaxBytes); err != nil {
			t.Errorf("invalid policy: %v", err)
		}
		md := p["metadata"].(map[string]any)
		names[md["name"].(string)] = true
		if md["annotations"].(map[string]any)[AnnotationFor] == "Deployment shop/web" {
			if sel := fmt.Sprint(p["spec"].(map[string]any)["podSelector"]); sel != "map[matchLabels:map[app:web]]" {
				t.Errorf("web's podSelector %s, want only its valid label", sel)
			}
		}
	}
	if len(names) != len(res.Policies) {
		t.Errorf("%d names for %d policies", len(names), len(res.Policies))
	}
}
