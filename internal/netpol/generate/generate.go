package generate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/iprange"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// VolatileLabels are labels controllers put on pods that change between
// revisions or differ per pod; they are never used in selectors.
var volatileLabels = []string{
	"pod-template-hash", "controller-revision-hash", "pod-template-generation",
	"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
	"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name",
	"batch.kubernetes.io/job-completion-index",
}

// VolatileLabels returns the labels generate drops from selectors.
func VolatileLabels() []string { return slices.Clone(volatileLabels) }

// Options tunes Generate.
type Options struct {
	// Ingress and Egress choose the directions to restrict.
	Ingress, Egress bool
	// NoDNS leaves out the DNS allowance added to restricted egress.
	NoDNS bool
}

// Extra is traffic the generated policies allow that was not observed.
type Extra struct {
	Src   string   `json:"src"`
	Dst   string   `json:"dst"`
	Ports []string `json:"ports"`
}

// Result is the generated policies and the check of them.
type Result struct {
	// Policies are NetworkPolicy objects, sorted by namespace and name.
	Policies []map[string]any `json:"-"`
	// Flows counts the flows used.
	Flows int `json:"flows"`
	// Warnings are flows that could not be used, and other notes.
	Warnings []string `json:"warnings"`
	// NotAllowed are observed flows that the existing and generated
	// policies together do not allow: empty when both directions are
	// generated and every workload could be selected.
	NotAllowed []string `json:"notAllowed"`
	// Beyond is what the policies allow beyond the observed traffic, for
	// pairs where a generated policy restricts at least one side.
	Beyond []Extra `json:"beyondObserved"`
}

type node struct {
	w  *model.Workload
	ip netip.Addr
}

func (n node) key() string {
	if n.w != nil {
		return n.w.Kind + "/" + n.w.ID()
	}
	return n.ip.String()
}

func (n node) String() string {
	if n.w != nil {
		return n.w.ID()
	}
	return n.ip.String()
}

type pair struct{ src, dst string }

// Generate learns policies for the cluster's workloads from the flows.
func Generate(c *model.Cluster, flows []flow.Flow, opts Options) (*Result, error) {
	g := &gen{c: cloneCluster(c), res: &Result{Warnings: []string{}, NotAllowed: []string{}, Beyond: []Extra{}}, nodes: map[string]node{}, observed: map[pair]portset.Set{}}
	for _, f := range flows {
		src, err := g.resolve(f.Src)
		if err != nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: source %s: %v", f.Line, f.Src, err))
			continue
		}
		dst, err := g.resolve(f.Dst)
		if err != nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: destination %s: %v", f.Line, f.Dst, err))
			continue
		}
		if src.w == nil && dst.w == nil {
			g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("flow on line %d: %s -> %s: neither end is a workload", f.Line, f.Src, f.Dst))
			continue
		}
		g.res.Flows++
		g.nodes[src.key()], g.nodes[dst.key()] = src, dst
		p := pair{src.key(), dst.key()}
		g.observed[p] = g.observed[p].Union(portset.Single(f.Protocol, f.Port))
	}
	g.policies(opts)
	if err := g.verify(opts); err != nil {
		return nil, err
	}
	return g.res, nil
}

type gen struct {
	c        *model.Cluster
	res      *Result
	nodes    map[string]node
	observed map[pair]portset.Set
	ips      map[netip.Addr]int // pod address → workload index (synthesized workloads have none)
	ingress  map[string]bool    // workload keys with a generated ingress side
	egress   map[string]bool
}

func cloneCluster(c *model.Cluster) *model.Cluster {
	out := &model.Cluster{Namespaces: slices.Clone(c.Namespaces), Policies: slices.Clone(c.Policies)}
	out.Workloads = make([]model.Workload, len(c.Workloads), len(c.Workloads)+64)
	copy(out.Workloads, c.Workloads)
	return out
}

// stable returns the labels without volatile ones.
func stable(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !slices.Contains(volatileLabels, k) {
			out[k] = v
		}
	}
	return out
}

var (
	ordinalSuffix    = regexp.MustCompile(`^(.+)-[0-9]+$`)
	deploymentSuffix = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
)

func (g *gen) resolve(e flow.End) (node, error) {
	if e.Name == "" {
		if !e.IP.IsValid() {
			return node{}, fmt.Errorf("neither a name nor an address")
		}
		if w := g.byIP(e.IP); w != nil {
			return node{w: w}, nil
		}
		return node{ip: e.IP}, nil
	}
	ns := e.Namespace
	candidates := []string{e.Name}
	if e.Workload != "" {
		candidates = append([]string{e.Workload}, candidates...)
	}
	for _, name := range candidates {
		if w := g.c.Workload(ns + "/" + name); w != nil {
			return node{w: w}, nil
		}
	}
	var best *model.Workload
	for i := range g.c.Workloads {
		w := &g.c.Workloads[i]
		if w.Namespace != ns {
			continue
		}
		if slices.Contains(w.PodNames, e.Name) {
			return node{w: w}, nil
		}
		if strings.HasPrefix(e.Name, w.Name+"-") && (best == nil || len(w.Name) > len(best.Name)) {
			best = w
		}
	}
	if best != nil {
		return node{w: best}, nil
	}
	if len(e.Labels) > 0 {
		have := stable(e.Labels)
		for i := range g.c.Workloads {
			w := &g.c.Workloads[i]
			sl := stable(w.Labels)
			if w.Namespace == ns && len(sl) > 0 && subset(sl, have) && (best == nil || len(sl) > len(stable(best.Labels))) {
				best = w
			}
		}
		if best != nil {
			return node{w: best}, nil
		}
	}
	if e.IP.IsValid() {
		if w := g.byIP(e.IP); w != nil {
			return node{w: w}, nil
		}
	}
	return g.synthesize(e)
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if got, ok := b[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (g *gen) byIP(a netip.Addr) *model.Workload {
	if g.ips == nil {
		g.ips = map[netip.Addr]int{}
		for i := range g.c.Workloads {
			for _, ip := range g.c.Workloads[i].IPs {
				g.ips[ip.Unmap()] = i
			}
		}
	}
	if i, ok := g.ips[a.Unmap()]; ok {
		return &g.c.Workloads[i]
	}
	return nil
}

// synthesize makes a workload for a pod seen in flows but not in the input,
// named after its owner (or its pod name without generated suffixes).
func (g *gen) synthesize(e flow.End) (node, error) {
	labels := stable(e.Labels)
	if len(labels) == 0 {
		return node{}, fmt.Errorf("pod not found in the input and the flow carries no labels to select it by")
	}
	name, kind := e.Workload, e.Kind
	if name == "" {
		name, kind = e.Name, "Pod"
		if h := e.Labels["pod-template-hash"]; h != "" {
			if i := strings.Index(name, "-"+h); i > 0 {
				name, kind = name[:i], "Deployment"
			}
		} else if m := ordinalSuffix.FindStringSubmatch(name); m != nil && e.Labels["statefulset.kubernetes.io/pod-name"] != "" {
			name, kind = m[1], "StatefulSet"
		} else if m := deploymentSuffix.FindStringSubmatch(name); m != nil {
			name, kind = m[1], "Deployment" // ReplicaSet hash and pod suffix use these characters
		}
	}
	if w := g.c.Workload(e.Namespace + "/" + name); w != nil {
		return node{w: w}, nil
	}
	g.c.Workloads = append(g.c.Workloads, model.Workload{Namespace: e.Namespace, Name: name, Kind: kind, Labels: labels, PodNames: []string{e.Name}})
	if g.c.Namespace(e.Namespace) == nil {
		g.c.Namespaces = append(g.c.Namespaces, model.Namespace{Name: e.Namespace, Labels: map[string]string{model.MetadataNameLabel: e.Namespace}})
		slices.SortFunc(g.c.Namespaces, func(a, b model.Namespace) int { return cmp.Compare(a.Name, b.Name) })
	}
	g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("pod %s/%s is not in the input: using %s %s/%s with labels %s", e.Namespace, e.Name, kind, e.Namespace, name, labelText(labels)))
	// Nodes keep pointers to workloads that may now live in an older copy
	// of the slice; the copies are equal and nodes are told apart by key.
	return node{w: &g.c.Workloads[len(g.c.Workloads)-1]}, nil
}

func labelText(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

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

func (g *gen) policies(opts Options) {
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
					"kordon.dev/generated-for": w.Kind + " " + w.ID(),
					"kordon.dev/generated-from": fmt.Sprintf("%d observed connection(s) to and %d from this workload",
						len(in[k]), len(out[k])),
				},
			},
			"spec": spec,
		})
	}
	slices.SortStableFunc(g.res.Policies, func(a, b map[string]any) int {
		ma, mb := a["metadata"].(map[string]any), b["metadata"].(map[string]any)
		return cmp.Or(cmp.Compare(ma["namespace"].(string), mb["namespace"].(string)), cmp.Compare(ma["name"].(string), mb["name"].(string)))
	})
}

func isKubeDNS(w *model.Workload) bool {
	return w != nil && w.Namespace == "kube-system" && w.Labels["k8s-app"] == "kube-dns"
}

func policyName(w *model.Workload) string {
	name := "kordon-" + w.Name
	if w.Kind != "Deployment" {
		name += "-" + strings.ToLower(w.Kind)
	}
	if len(name) > 253 {
		name = name[:253]
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

// verify analyses the cluster with its existing and the generated policies.
func (g *gen) verify(opts Options) error {
	data, err := compile.Marshal(g.res.Policies)
	if err != nil {
		return err
	}
	objs, errs := k8s.Decode(data, "generated")
	if len(errs) > 0 {
		return fmt.Errorf("generated policies do not decode: %w", errs[0])
	}
	pc, problems := model.FromObjects(objs)
	if len(problems) > 0 {
		return fmt.Errorf("generated policy rejected: %s", problems[0].Error())
	}
	c := &model.Cluster{Namespaces: slices.Clone(g.c.Namespaces), Workloads: slices.Clone(g.c.Workloads),
		Policies: append(slices.Clone(g.c.Policies), pc.Policies...)}
	c.Normalize()
	var extra []netip.Prefix
	for _, n := range g.nodes {
		if n.w == nil {
			extra = append(extra, netip.PrefixFrom(n.ip.Unmap(), n.ip.Unmap().BitLen()))
		}
	}
	r := analyzer.Analyze(c, analyzer.Options{ExtraPrefixes: extra})
	eps := r.Endpoints()
	index := map[string]int{}
	for i, e := range eps {
		if e.Workload != nil {
			index[e.Workload.Kind+"/"+e.Workload.ID()] = i
		}
	}
	ranges := make([]iprange.Range, 0, len(r.Ranges()))
	for _, e := range r.Ranges() {
		ranges = append(ranges, e.Range)
	}
	endpoint := func(k string) int {
		if i, ok := index[k]; ok {
			return i
		}
		i, _ := iprange.Index(ranges, g.nodes[k].ip)
		return len(c.Workloads) + i
	}
	observedByIndex := map[[2]int]portset.Set{}
	for _, p := range slices.SortedFunc(maps.Keys(g.observed), func(a, b pair) int { return cmp.Or(cmp.Compare(a.src, b.src), cmp.Compare(a.dst, b.dst)) }) {
		s, d := endpoint(p.src), endpoint(p.dst)
		observedByIndex[[2]int{s, d}] = g.observed[p]
		if s == d {
			continue // a workload's connections between its own pods are not analysed
		}
		if missing := g.observed[p].Subtract(r.Ports(s, d)); !missing.IsEmpty() {
			g.res.NotAllowed = append(g.res.NotAllowed, fmt.Sprintf("%s -> %s on %s", g.nodes[p.src], g.nodes[p.dst], missing))
		}
	}
	restricted := func(i int, set map[string]bool) bool {
		e := eps[i]
		return e.Workload != nil && set[e.Workload.Kind+"/"+e.Workload.ID()]
	}
	for _, cn := range r.Connections() {
		if !restricted(cn.Src, g.egress) && !restricted(cn.Dst, g.ingress) {
			continue
		}
		if more := cn.Ports.Subtract(observedByIndex[[2]int{cn.Src, cn.Dst}]); !more.IsEmpty() {
			ports := more.Strings()
			if more.IsAll() {
				ports = []string{"all"}
			}
			g.res.Beyond = append(g.res.Beyond, Extra{Src: eps[cn.Src].Name(), Dst: eps[cn.Dst].Name(), Ports: ports})
		}
	}
	return nil
}
