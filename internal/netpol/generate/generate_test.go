package generate

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
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
