package emit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

func TestName(t *testing.T) {
	long := strings.Repeat("a", 250) + "-web"
	tests := []struct {
		in, want string
	}{
		{"kordon-web", "kordon-web"},
		{"allow.web-v1", "allow.web-v1"},
		{strings.Repeat("a", 253), strings.Repeat("a", 253)},
		{"Kordon-Web", "kordon-web-" + hash("Kordon-Web")},
		{"shop_policies-api", "shop-policies-api-" + hash("shop_policies-api")},
		{"kordon-web-", "kordon-web-" + hash("kordon-web-")},
		{"-.web..api.-", "web.api-" + hash("-.web..api.-")},
		{"früh", "fr-h-" + hash("früh")},
		{"", hash("")},
		{"___", hash("___")},
		{long, strings.Repeat("a", 244) + "-" + hash(long)},
	}
	for _, tt := range tests {
		if got := Name(tt.in); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// TestNamesAreValidAndDistinct derives names and label values from random
// strings: every result must be valid, and different inputs must give
// different results.
func TestNamesAreValidAndDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ019-._/ é")
	names, values := map[string]string{}, map[string]string{}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(300) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		n, v := Name(s), LabelValue(s)
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Fatalf("Name(%q) = %q: %v", s, n, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("LabelValue(%q) = %q: %v", s, v, errs)
		}
		if prev, ok := names[n]; ok && prev != s {
			t.Fatalf("Name(%q) = Name(%q) = %q", s, prev, n)
		}
		if prev, ok := values[v]; ok && prev != s {
			t.Fatalf("LabelValue(%q) = LabelValue(%q) = %q", s, prev, v)
		}
		names[n], values[v] = s, s
	}
}

// bigPolicy returns a policy of web in shop allowing ingress from pods,
// from n /32 addresses on many ports, and egress to n /32 addresses on
// nPorts ports.
func bigPolicy(name string, n, nPorts int) map[string]any {
	var blocks []any
	for i := range n {
		blocks = append(blocks, map[string]any{"ipBlock": map[string]any{"cidr": netip.AddrFrom4([4]byte{198, 18, byte(i / 256), byte(i % 256)}).String() + "/32"}})
	}
	var ports []any
	for i := range nPorts {
		ports = append(ports, map[string]any{"protocol": "TCP", "port": int64(1000 + 2*i)})
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": "shop",
			"labels": map[string]any{"app.kubernetes.io/managed-by": "kordon"}},
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"ingress": []any{
				map[string]any{"from": []any{map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app": "api"}}}},
					"ports": []any{map[string]any{"protocol": "TCP", "port": int64(8080)}}},
				map[string]any{"from": blocks, "ports": ports[:min(len(ports), 3)]},
			},
			"egress":      []any{map[string]any{"to": blocks[:n/2], "ports": ports}},
			"policyTypes": []any{"Ingress", "Egress"},
		},
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name         string
		peers, ports int
		wantParts    int
	}{
		{"small", 10, 10, 1},
		{"many peers", 6000, 3, 0},
		{"many ports", 2, 6000, 0},
		{"many of both", 1500, 1500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bigPolicy("kordon-web", tt.peers, tt.ports)
			res, err := Policies([]map[string]any{orig}, Options{MaxBytes: MinBytes})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Invalid) > 0 {
				t.Fatalf("invalid: %v", res.Invalid)
			}
			parts := res.Policies
			if tt.wantParts == 1 {
				if len(parts) != 1 || len(res.Changes) != 0 || jsonSize(parts[0]) != jsonSize(orig) {
					t.Fatalf("a small policy changed: %d parts, changes %v", len(parts), res.Changes)
				}
				return
			}
			if len(parts) < 2 || len(res.Changes) != 1 || !strings.HasPrefix(res.Changes[0], "split shop/kordon-web (") {
				t.Fatalf("%d parts, changes %v; want a split, reported", len(parts), res.Changes)
			}
			names := map[string]bool{}
			for i, p := range parts {
				if size := jsonSize(p); size > MinBytes {
					t.Errorf("part %d has %d bytes, more than %d", i, size, MinBytes)
				}
				md := p["metadata"].(map[string]any)
				names[md["name"].(string)] = true
				if md["labels"].(map[string]any)[LabelSplitFrom] != "kordon-web" {
					t.Errorf("part %s lacks label %s", md["name"], LabelSplitFrom)
				}
				spec := p["spec"].(map[string]any)
				if fmt.Sprint(spec["podSelector"], spec["policyTypes"]) != "map[matchLabels:map[app:web]] [Ingress Egress]" {
					t.Errorf("part %s: podSelector %v, policyTypes %v", md["name"], spec["podSelector"], spec["policyTypes"])
				}
			}
			if len(names) != len(parts) || !names["kordon-web"] || !names["kordon-web-part-2"] {
				t.Errorf("part names %v, want kordon-web, kordon-web-part-2, ... all different", names)
			}
			sameConnectivity(t, []map[string]any{orig}, parts)
		})
	}
}

// sameConnectivity checks with the analyzer that two sets of policies
// allow the same connections among a few workloads and the addresses the
// policies name.
func sameConnectivity(t *testing.T, a, b []map[string]any) {
	t.Helper()
	analyse := func(policies []map[string]any) []string {
		docs := []string{workloads}
		for _, p := range policies {
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(data))
		}
		objs, errs := k8s.Decode([]byte(strings.Join(docs, "\n---\n")), "policies.yaml")
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		c, problems := model.FromObjects(objs)
		if len(problems) > 0 {
			t.Fatal(problems[0])
		}
		r := analyzer.Analyze(c, analyzer.Options{})
		eps := r.Endpoints()
		var out []string
		for _, cn := range r.Connections() {
			out = append(out, eps[cn.Src].Name()+" => "+eps[cn.Dst].Name()+" : "+cn.Ports.String())
		}
		slices.Sort(out)
		return out
	}
	got, want := analyse(b), analyse(a)
	if !slices.Equal(got, want) {
		t.Errorf("the split policies allow %d connections, the policy %d", len(got), len(want))
	}
}

const workloads = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c}]}
`

func TestRenameAndUnique(t *testing.T) {
	long := strings.Repeat("w", 250)
	objs := []map[string]any{
		bigPolicy("kordon-"+long+"-a", 1, 1),
		bigPolicy("kordon-"+long+"-b", 1, 1),
		bigPolicy("Kordon_Web", 1, 1),
		bigPolicy("kordon-web-"+hash("Kordon_Web"), 1, 1), // already the name Kordon_Web becomes
	}
	res, err := Policies(objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Policies {
		names = append(names, p["metadata"].(map[string]any)["name"].(string))
	}
	if len(names) != 4 || len(slices.Compact(slices.Sorted(slices.Values(names)))) != 4 {
		t.Fatalf("names %v, want 4 different", names)
	}
	for _, n := range names {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Errorf("name %q: %v", n, errs)
		}
	}
	if len(res.Changes) != 4 {
		t.Errorf("changes %q, want three renames for invalid names and one for the clash", res.Changes)
	}
	if objs[2]["metadata"].(map[string]any)["name"] != "Kordon_Web" {
		t.Errorf("the input was modified")
	}
}

func TestInvalidLeftOut(t *testing.T) {
	bad := bigPolicy("ok", 1, 1)
	bad["metadata"].(map[string]any)["namespace"] = "Shop"
	res, err := Policies([]map[string]any{bad, bigPolicy("fine", 1, 1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Policies) != 1 || len(res.Invalid) != 1 || !strings.Contains(res.Invalid[0], "metadata.namespace") {
		t.Errorf("policies %d, invalid %q; want the policy in namespace Shop left out", len(res.Policies), res.Invalid)
	}
	if _, err := Policies(nil, Options{MaxBytes: 1000}); err == nil {
		t.Errorf("a limit of 1000 bytes is accepted")
	}
}
