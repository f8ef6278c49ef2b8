package emit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/emit"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
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

// lastApplied is the annotation client-side kubectl apply writes: the
// whole object as JSON.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// inNamespace returns a copy of the policy in another namespace, with the
// annotation kubectl apply would add when withLastApplied.
func inNamespace(t *testing.T, p map[string]any, ns string, withLastApplied bool) *k8s.Object {
	t.Helper()
	out := maps.Clone(p)
	md := maps.Clone(p["metadata"].(map[string]any))
	md["namespace"] = ns
	out["metadata"] = md
	if withLastApplied {
		data, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		annotations := map[string]any{}
		if a, ok := md["annotations"].(map[string]any); ok {
			annotations = maps.Clone(a)
		}
		annotations[lastApplied] = string(data) + "\n"
		md["annotations"] = annotations
	}
	return &k8s.Object{Content: out}
}

// createAll stores every policy in the real API server twice: as created
// (kubectl create, server-side apply) and with kubectl apply's copy of the
// object in an annotation.
func createAll(ctx context.Context, t *testing.T, env *testenv.Env, policies []map[string]any) {
	t.Helper()
	plain, applied := env.CreateNamespace(t, "emit"), env.CreateNamespace(t, "emit-applied")
	for _, p := range policies {
		for _, o := range []*k8s.Object{inNamespace(t, p, plain, false), inNamespace(t, p, applied, true)} {
			if _, err := env.Create(ctx, o); err != nil {
				t.Errorf("the API server rejects an emitted policy: %v", err)
			}
		}
	}
}

// TestCompiledPoliciesAreAccepted compiles an intent with names over 253
// characters, an address group making a policy of about 170 KB, and 3,000
// rules for one policy, and stores the result in a real API server.
func TestCompiledPoliciesAreAccepted(t *testing.T) {
	env := cluster.Env(t)
	var cidrs, rules []string
	for i := range 4000 {
		cidrs = append(cidrs, fmt.Sprintf("198.18.%d.%d/32", i/256, i%256))
	}
	for i := range 3000 {
		rules = append(rules, fmt.Sprintf("{from: web, to: api, ports: [tcp/%d]}", 1000+i))
	}
	in, err := compile.Parse(fmt.Appendf(nil, `apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata: {name: %s}
groups:
  web: {namespaces: [shop], labels: {app: web}}
  api: {namespaces: [shop], labels: {app: api}}
  partners: {cidrs: [%s]}
zones: [{namespaces: [shop]}]
rules: [{from: partners, to: web, ports: [tcp/443]}, %s]
`, strings.Repeat("x", 250), strings.Join(cidrs, ", "), strings.Join(rules, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	out, err := compile.Compile(in, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Changes) < 4 {
		t.Errorf("changes %q, want renames and splits", out.Changes)
	}
	createAll(context.Background(), t, env, out.Policies)
}

// TestGeneratedPoliciesAreAccepted generates policies for workloads with
// long names, from flows to 8,000 addresses and on 15,000 ports, and
// stores them in a real API server.
func TestGeneratedPoliciesAreAccepted(t *testing.T) {
	env := cluster.Env(t)
	long := strings.Repeat("w", 245)
	c := &model.Cluster{Workloads: []model.Workload{
		{Namespace: "shop", Name: long + "-a", Kind: "Deployment", Labels: map[string]string{"app": "a"}},
		{Namespace: "shop", Name: long + "-b", Kind: "StatefulSet", Labels: map[string]string{"app": "b"}},
		{Namespace: "shop", Name: "web", Kind: "Deployment", Labels: map[string]string{"app": "web"}},
	}}
	c.Normalize()
	g := generate.New(c, generate.Options{Ingress: true, Egress: true, MaxUnmatched: 0.5})
	a, b, web := flow.End{Namespace: "shop", Name: long + "-a"}, flow.End{Namespace: "shop", Name: long + "-b"}, flow.End{Namespace: "shop", Name: "web"}
	for i := range 8000 {
		g.Observe(flow.Flow{Src: web, Dst: flow.End{IP: netip.AddrFrom4([4]byte{198, 18, byte(i / 256), byte(i % 256)})}, Protocol: portset.TCP, Port: 443})
	}
	for p := 1; p < 30000; p += 2 {
		g.Observe(flow.Flow{Src: a, Dst: b, Protocol: portset.UDP, Port: int32(p)})
	}
	res, err := g.Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) < 4 || len(res.NotAllowed) > 0 || len(res.Failures) > 0 {
		t.Errorf("changes %q, not allowed %q, failures %q; want renames and splits, and nothing else", res.Changes, res.NotAllowed, res.Failures)
	}
	createAll(context.Background(), t, env, res.Policies)
}

// TestSizeLimits shows the limits behind emit's: a policy of about 340 KB
// of JSON is accepted as created but not with kubectl apply's annotation
// (256 KiB of annotations in all), and one of about 4 MB not at all (the
// API server takes requests of up to 3 MiB; etcd takes 1.5 MiB, of the
// smaller protobuf encoding).
func TestSizeLimits(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	ns := env.CreateNamespace(t, "limits")
	policy := func(name string, peers int) map[string]any {
		var blocks []any
		for i := range peers {
			blocks = append(blocks, map[string]any{"ipBlock": map[string]any{"cidr": fmt.Sprintf("10.%d.%d.%d/32", i/65536, i/256%256, i%256)}})
		}
		return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec":     map[string]any{"podSelector": map[string]any{}, "ingress": []any{map[string]any{"from": blocks}}}}
	}
	medium, large := policy("medium", 7500), policy("large", 90000)
	if err := emit.Validate(medium, emit.LimitBytes); err != nil {
		t.Fatalf("the medium policy is not valid: %v", err)
	}
	if _, err := env.Create(ctx, inNamespace(t, medium, ns, false)); err != nil {
		t.Errorf("a policy of about 340 KB is rejected: %v", err)
	}
	withAnnotation := inNamespace(t, medium, ns, true)
	withAnnotation.Content["metadata"].(map[string]any)["name"] = "medium-applied"
	if _, err := env.Create(ctx, withAnnotation); err == nil || !strings.Contains(err.Error(), "metadata.annotations: Too long") {
		t.Errorf("a policy of about 340 KB with kubectl apply's annotation: error %v, want annotations too long", err)
	}
	if _, err := env.Create(ctx, inNamespace(t, large, ns, false)); err == nil {
		t.Errorf("a policy of about 4 MB is accepted")
	} else {
		t.Logf("a policy of about 4 MB: %.200s", err)
	}
}
