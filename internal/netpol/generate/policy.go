package generate

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/emit"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// peer returns the NetworkPolicy peer standing for a node, seen from a
// policy in namespace ns.
func peer(n node, ns string) map[string]any {
	if n.w == nil {
		bits := 32
		if n.ip.Is6() && !n.ip.Is4In6() {
			bits = 128
		}
		return map[string]any{"ipBlock": map[string]any{"cidr": netip.PrefixFrom(n.ip.Unmap(), bits).String()}}
	}
	p := map[string]any{"podSelector": selector(stable(n.w.Labels))}
	if n.w.Namespace != ns {
		p["namespaceSelector"] = map[string]any{"matchLabels": map[string]any{model.MetadataNameLabel: n.w.Namespace}}
	}
	return p
}

func selector(labels map[string]string) map[string]any {
	m := map[string]any{}
	for k, v := range labels {
		m[k] = v
	}
	return map[string]any{"matchLabels": m}
}

func portsField(s portset.Set) []any {
	var out []any
	for _, p := range portset.Protocols() {
		for _, iv := range s.Intervals(p) {
			m := map[string]any{"protocol": p.String(), "port": int64(iv.Lo)}
			if iv.Hi != iv.Lo {
				m["endPort"] = int64(iv.Hi)
			}
			out = append(out, m)
		}
	}
	return out
}

// rules groups peers with equal port sets into one rule each.
func rules(peers map[string]portset.Set, nodes map[string]node, ns, key string) []any {
	byPorts := map[string][]string{}
	sets := map[string]portset.Set{}
	for k, ps := range peers {
		byPorts[ps.Key()] = append(byPorts[ps.Key()], k)
		sets[ps.Key()] = ps
	}
	var out []any
	for _, pk := range slices.Sorted(maps.Keys(byPorts)) {
		var ps []any
		keys := byPorts[pk]
		slices.Sort(keys)
		for _, k := range keys {
			ps = append(ps, peer(nodes[k], ns))
		}
		out = append(out, map[string]any{key: ps, "ports": portsField(sets[pk])})
	}
	return out
}

// policies generates a policy for every workload seen, and makes them
// acceptable to the API server (emit.Policies): a policy still rejected is
// left out with a warning, and its workload counts as not restricted.
func (g *gen) policies(opts Options) error {
	g.ingress, g.egress = map[string]bool{}, map[string]bool{}
	in := map[string]map[string]portset.Set{}  // dst → src → ports
	out := map[string]map[string]portset.Set{} // src → dst → ports
	for p, ps := range g.observed {
		if g.nodes[p.dst].w != nil && opts.Ingress {
			if in[p.dst] == nil {
				in[p.dst] = map[string]portset.Set{}
			}
			in[p.dst][p.src] = ps
		}
		if g.nodes[p.src].w != nil && opts.Egress {
			if out[p.src] == nil {
				out[p.src] = map[string]portset.Set{}
			}
			out[p.src][p.dst] = ps
		}
	}
	keys := map[string]bool{}
	for k := range in {
		keys[k] = true
	}
	for k := range out {
		keys[k] = true
	}
	// Workloads whose egress becomes restricted get DNS to kube-dns; a
	// kube-dns workload whose ingress becomes restricted must accept it.
	if opts.Egress && opts.Ingress && !opts.NoDNS {
		for k := range in {
			if !isKubeDNS(g.nodes[k].w) {
				continue
			}
			for src := range keys {
				if src == k || len(stable(g.nodes[src].w.Labels)) == 0 {
					continue
				}
				in[k][src] = in[k][src].Union(portset.Single(portset.UDP, 53)).Union(portset.Single(portset.TCP, 53))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		w := g.nodes[k].w
		sel := stable(w.Labels)
		if len(sel) == 0 {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("%s %s has only volatile labels or none: no policy can select it alone, none generated", w.Kind, w.ID()))
			continue
		}
		spec := map[string]any{"podSelector": selector(sel)}
		var types []any
		if opts.Ingress {
			types = append(types, "Ingress")
			g.ingress[k] = true
			if r := rules(in[k], g.nodes, w.Namespace, "from"); len(r) > 0 {
				spec["ingress"] = r
			}
		}
		if opts.Egress {
			types = append(types, "Egress")
			g.egress[k] = true
			r := rules(out[k], g.nodes, w.Namespace, "to")
			if !opts.NoDNS {
				r = append(r, dnsRule())
			}
			if len(r) > 0 {
				spec["egress"] = r
			}
		}
		spec["policyTypes"] = types
		g.res.Policies = append(g.res.Policies, map[string]any{
			"apiVersion": "networking.k8s.io/v1",
			"kind":       "NetworkPolicy",
			"metadata": map[string]any{
				"name":      policyName(w),
				"namespace": w.Namespace,
				"labels":    map[string]any{"app.kubernetes.io/managed-by": "kordon"},
				"annotations": map[string]any{
					AnnotationFor: w.Kind + " " + w.ID(),
					"kordon.dev/generated-from": fmt.Sprintf("%d observed connection(s) to and %d from this workload",
						len(in[k]), len(out[k])),
				},
			},
			"spec": spec,
		})
	}
	emitted, err := emit.Policies(g.res.Policies, emit.Options{MaxBytes: opts.MaxPolicyBytes})
	if err != nil {
		return err
	}
	g.res.Policies, g.res.Changes = emitted.Policies, emitted.Changes
	for _, bad := range emitted.Invalid {
		g.res.Warnings = append(g.res.Warnings, "policy left out, the API server would reject it: "+bad)
	}
	kept := map[string]bool{}
	for _, p := range g.res.Policies {
		md := p["metadata"].(map[string]any)
		kept[md["annotations"].(map[string]any)[AnnotationFor].(string)] = true
	}
	for _, set := range []map[string]bool{g.ingress, g.egress} {
		for k := range set {
			if w := g.nodes[k].w; !kept[w.Kind+" "+w.ID()] {
				delete(set, k)
			}
		}
	}
	return nil
}

// AnnotationFor names the workload a generated policy is for: "Kind
// namespace/name".
const AnnotationFor = "kordon.dev/generated-for"

func isKubeDNS(w *model.Workload) bool {
	return w != nil && w.Namespace == "kube-system" && w.Labels["k8s-app"] == "kube-dns"
}

// policyName names a workload's policy; emit.Policies replaces a name
// that is not valid (too long, odd characters).
func policyName(w *model.Workload) string {
	name := "kordon-" + w.Name
	if w.Kind != "Deployment" {
		name += "-" + strings.ToLower(w.Kind)
	}
	return name
}

func dnsRule() map[string]any {
	return map[string]any{
		"to": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{model.MetadataNameLabel: "kube-system"}},
			"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
		}},
		"ports": []any{
			map[string]any{"protocol": "UDP", "port": int64(53)},
			map[string]any{"protocol": "TCP", "port": int64(53)},
		},
	}
}
