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
