package compile

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/netpol/emit"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// Annotations written on every generated policy.
const (
	// AnnotationRules lists the intent rules (1-based, with their text) a
	// policy implements, one per line.
	AnnotationRules = "kordon.dev/intent-rules"
	// AnnotationIntent names the intent document.
	AnnotationIntent = "kordon.dev/intent"
)

// policyKey identifies one generated policy: the pods of one group in one
// zone namespace.
type policyKey struct{ ns, group string }

type policyBuild struct {
	key     policyKey
	ingress []map[string]any
	egress  []map[string]any
	rules   []string
}

// Options tunes Compile.
type Options struct {
	// MaxPolicyBytes bounds the JSON size of one policy (emit.Options);
	// 0 means emit.DefaultMaxBytes.
	MaxPolicyBytes int
}

// Output is what Compile made.
type Output struct {
	// Policies are NetworkPolicy objects (as JSON-compatible maps), sorted
	// by namespace and name, each valid for the API server.
	Policies []map[string]any
	// Changes say which policies were renamed (their name was not a valid
	// object name) or split (they were larger than Options.MaxPolicyBytes).
	Changes []string
}

// Compile turns the intent into NetworkPolicy objects: one default-deny
// policy per zone namespace, and one policy per zone namespace and group
// that the rules allow traffic to or from, each renamed or split by
// emit.Policies when the API server or kubectl would not take it as it is.
func Compile(in *Intent, opts Options) (*Output, error) {
	objs, err := in.policies()
	if err != nil {
		return nil, err
	}
	res, err := emit.Policies(objs, emit.Options{MaxBytes: opts.MaxPolicyBytes})
	if err != nil {
		return nil, err
	}
	if len(res.Invalid) > 0 {
		return nil, fmt.Errorf("compiled policies the API server would reject: %s", strings.Join(res.Invalid, "; "))
	}
	return &Output{Policies: res.Policies, Changes: res.Changes}, nil
}

// policies compiles the intent to policies with names made of the intent's
// and groups' names, as large as the rules make them.
func (in *Intent) policies() ([]map[string]any, error) {
	builds := map[policyKey]*policyBuild{}
	get := func(k policyKey) *policyBuild {
		if b, ok := builds[k]; ok {
			return b
		}
		b := &policyBuild{key: k}
		builds[k] = b
		return b
	}
	for i := range in.Rules {
		r := &in.Rules[i]
		text := fmt.Sprintf("%d: %s", i+1, ruleText(r))
		for _, dir := range []model.Direction{model.Ingress, model.Egress} {
			selves, others := r.To, r.From
			if dir == model.Egress {
				selves, others = r.From, r.To
			}
			peers, err := in.peers(others)
			if err != nil {
				return nil, fmt.Errorf("rule %d: %w", i+1, err)
			}
			if len(peers) == 0 {
				continue // the other side is empty: nothing to allow (and no peers would mean everyone)
			}
			for _, name := range selves {
				g := in.Groups[name]
				if g.IsAddresses() {
					continue // addresses outside the cluster are not restricted
				}
				for _, ns := range in.zoneNamespaces(&g, dir) {
					b := get(policyKey{ns, name})
					key := "from"
					if dir == model.Egress {
						key = "to"
					}
					entry := map[string]any{key: peers}
					if ports := r.portsField(); ports != nil {
						entry["ports"] = ports
					}
					if dir == model.Ingress {
						b.ingress = append(b.ingress, entry)
					} else {
						b.egress = append(b.egress, entry)
					}
					if !slices.Contains(b.rules, text) {
						b.rules = append(b.rules, text)
					}
				}
			}
		}
	}
	var out []map[string]any
	for i, z := range in.Zones {
		types := []any{}
		for _, d := range []model.Direction{model.Ingress, model.Egress} {
			if len(z.Deny) == 0 || slices.Contains(z.Deny, d.String()) {
				types = append(types, strings.ToUpper(d.String()[:1])+d.String()[1:])
			}
		}
		for _, ns := range z.Namespaces {
			out = append(out, policy(ns, in.Metadata.Name+"-default-deny", in.Metadata.Name,
				[]string{fmt.Sprintf("zone %d: deny %s by default", i+1, strings.ToLower(joinAny(types)))},
				map[string]any{"podSelector": map[string]any{}, "policyTypes": types}))
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(builds), func(a, b policyKey) int {
		return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.group, b.group))
	}) {
		b := builds[k]
		g := in.Groups[k.group]
		spec := map[string]any{"podSelector": selector(g.Labels)}
		var types []any
		if len(b.ingress) > 0 {
			spec["ingress"] = toAny(b.ingress)
			types = append(types, "Ingress")
		}
		if len(b.egress) > 0 {
			spec["egress"] = toAny(b.egress)
			types = append(types, "Egress")
		}
		spec["policyTypes"] = types
		out = append(out, policy(k.ns, in.Metadata.Name+"-"+k.group, in.Metadata.Name, b.rules, spec))
	}
	slices.SortStableFunc(out, func(a, b map[string]any) int {
		ma, mb := a["metadata"].(map[string]any), b["metadata"].(map[string]any)
		return cmp.Or(cmp.Compare(ma["namespace"].(string), mb["namespace"].(string)), cmp.Compare(ma["name"].(string), mb["name"].(string)))
	})
	return out, nil
}

func joinAny(xs []any) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, " and ")
}

func toAny(xs []map[string]any) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// MaxRulesAnnotation bounds the annotation listing a policy's intent
// rules: the API server takes 256 KiB of annotations per object, and
// client-side kubectl apply copies the whole object into another one.
const MaxRulesAnnotation = 16 * 1024

// rulesAnnotation lists the rules one per line, as many as fit in
// MaxRulesAnnotation bytes, and then how many more there are.
func rulesAnnotation(rules []string) string {
	if s := strings.Join(rules, "\n"); len(s) <= MaxRulesAnnotation {
		return s
	}
	var b strings.Builder
	for i, r := range rules {
		more := fmt.Sprintf("... and %d more", len(rules)-i)
		if b.Len()+len(r)+1+len(more) > MaxRulesAnnotation {
			b.WriteString(more)
			break
		}
		b.WriteString(r)
		b.WriteByte('\n')
	}
	return b.String()
}

func policy(ns, name, intent string, rules []string, spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata": map[string]any{
			"name":      name,
			"namespace": ns,
			"annotations": map[string]any{
				AnnotationIntent: intent,
				AnnotationRules:  rulesAnnotation(rules),
			},
			"labels": map[string]any{"app.kubernetes.io/managed-by": "kordon"},
		},
		"spec": spec,
	}
}

func ruleText(r *Rule) string {
	s := "from " + strings.Join(r.From, ", ") + " to " + strings.Join(r.To, ", ")
	if len(r.ports) == 0 {
		return s + " on every port"
	}
	var ps []string
	for _, p := range r.ports {
		ps = append(ps, p.String())
	}
	return s + " on " + strings.Join(ps, ", ")
}

// zoneNamespaces returns the zone namespaces denying the direction where
// pods of the group can run. A zone namespace's labels are those its zone
// declares, plus kubernetes.io/metadata.name.
func (in *Intent) zoneNamespaces(g *Group, dir model.Direction) []string {
	var out []string
	for _, z := range in.Zones {
		for _, ns := range z.Namespaces {
			if !in.denies(ns, dir) || (len(g.Namespaces) > 0 && !slices.Contains(g.Namespaces, ns)) {
				continue
			}
			if !labelsMatch(g.NamespaceLabels, z.labels(ns)) {
				continue
			}
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func labelsMatch(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// peers converts groups to NetworkPolicy peers.
func (in *Intent) peers(names []string) ([]any, error) {
	var out []any
	for _, name := range names {
		g := in.Groups[name]
		if g.IsAddresses() {
			for _, c := range g.cidrs {
				block := map[string]any{"cidr": c.String()}
				var except []any
				drop := false
				for _, e := range g.except {
					switch {
					case e.Bits() <= c.Bits() && e.Contains(c.Addr()):
						drop = true // the exception covers the whole block
					case e.Addr().Is4() == c.Addr().Is4() && c.Contains(e.Addr()):
						except = append(except, e.String())
					}
				}
				if drop {
					continue
				}
				if len(except) > 0 {
					block["except"] = except
				}
				out = append(out, map[string]any{"ipBlock": block})
			}
			continue
		}
		nsSel := map[string]any{}
		if len(g.NamespaceLabels) > 0 {
			nsSel["matchLabels"] = stringsAny(g.NamespaceLabels)
		}
		if len(g.Namespaces) > 0 {
			values := slices.Sorted(slices.Values(g.Namespaces))
			nsSel["matchExpressions"] = []any{map[string]any{"key": model.MetadataNameLabel, "operator": "In", "values": toAnyStrings(slices.Compact(values))}}
		}
		out = append(out, map[string]any{"namespaceSelector": nsSel, "podSelector": selector(g.Labels)})
	}
	return out, nil
}

func selector(labels map[string]string) map[string]any {
	if len(labels) == 0 {
		return map[string]any{}
	}
	return map[string]any{"matchLabels": stringsAny(labels)}
}

func stringsAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAnyStrings(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func (r *Rule) portsField() []any {
	if len(r.ports) == 0 {
		return nil
	}
	var out []any
	for _, p := range r.ports {
		m := map[string]any{"protocol": p.proto.String()}
		switch {
		case p.name != "":
			m["port"] = p.name
		case p.lo != 0:
			m["port"] = int64(p.lo)
			if p.hi != p.lo {
				m["endPort"] = int64(p.hi)
			}
		}
		out = append(out, m)
	}
	return out
}

// Marshal writes objects as a multi-document YAML stream.
func Marshal(objs []map[string]any) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		data, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("write policy: %w", err)
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// Prefixes returns the address blocks an intent names, for probing.
func (in *Intent) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, name := range slices.Sorted(maps.Keys(in.Groups)) {
		g := in.Groups[name]
		out = append(out, g.cidrs...)
		out = append(out, g.except...)
	}
	return out
}
