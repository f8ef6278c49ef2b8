package generate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// ordinalSuffix and deploymentSuffix match the suffixes controllers add
// to pod names: a StatefulSet ordinal, a ReplicaSet hash and pod suffix.
var (
	ordinalSuffix    = regexp.MustCompile(`^(.+)-[0-9]+$`)
	deploymentSuffix = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
)

// found is an answer of find.
type found struct {
	n   node
	ok  bool
	err error
}

// resolved is an answer of resolve.
type resolved struct {
	n   node
	err error
}

// endKey identifies a flow end by everything resolve looks at.
func endKey(e flow.End) string {
	b := make([]byte, 0, 128)
	for _, s := range []string{e.Namespace, e.Name, e.Workload, e.Kind} {
		b = append(append(b, s...), 0)
	}
	if e.IP.IsValid() {
		b = e.IP.AppendTo(b)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		b = append(append(append(append(b, 0), k...), '='), e.Labels[k]...)
	}
	return string(b)
}

// resolve maps a flow end to a workload of the input (by owner, name, pod
// name, labels or pod address), to a workload synthesized from the flow's
// labels, or to an external address. Answers are remembered until a
// workload is synthesized, which can change them.
func (g *gen) resolve(e flow.End) (node, error) {
	k := endKey(e)
	if r, ok := g.resolved[k]; ok {
		return r.n, r.err
	}
	n, ok, err := g.find(e)
	if !ok && err == nil {
		n, err = g.synthesize(e)
	}
	g.resolved[k] = resolved{n, err}
	return n, err
}

// isWorkload reports whether the end maps to a workload — of the input,
// or one resolve would synthesize — without synthesizing it.
func (g *gen) isWorkload(e flow.End) bool {
	n, ok, err := g.find(e)
	switch {
	case err != nil:
		return false
	case ok:
		return n.w != nil
	}
	return e.Name != "" && len(stable(e.Labels)) > 0
}

// find is resolve without synthesizing: ok is false for the name of a pod
// that is not in the input.
func (g *gen) find(e flow.End) (node, bool, error) {
	k := endKey(e)
	if f, hit := g.found[k]; hit {
		return f.n, f.ok, f.err
	}
	n, ok, err := g.lookup(e)
	g.found[k] = found{n, ok, err}
	return n, ok, err
}

func (g *gen) lookup(e flow.End) (node, bool, error) {
	if e.Name == "" {
		if !e.IP.IsValid() {
			return node{}, false, fmt.Errorf("neither a name nor an address")
		}
		if w := g.byIP(e.IP); w != nil {
			return node{w: w}, true, nil
		}
		return node{ip: e.IP}, true, nil
	}
	ns := e.Namespace
	candidates := []string{e.Name}
	if e.Workload != "" {
		candidates = append([]string{e.Workload}, candidates...)
	}
	for _, name := range candidates {
		if w := g.c.Workload(ns + "/" + name); w != nil {
			return node{w: w}, true, nil
		}
	}
	var best *model.Workload
	for i := range g.c.Workloads {
		w := &g.c.Workloads[i]
		if w.Namespace != ns {
			continue
		}
		if slices.Contains(w.PodNames, e.Name) {
			return node{w: w}, true, nil
		}
		if strings.HasPrefix(e.Name, w.Name+"-") && (best == nil || len(w.Name) > len(best.Name)) {
			best = w
		}
	}
	if best != nil {
		return node{w: best}, true, nil
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
			return node{w: best}, true, nil
		}
	}
	if e.IP.IsValid() {
		if w := g.byIP(e.IP); w != nil {
			return node{w: w}, true, nil
		}
	}
	return node{}, false, nil
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
	clear(g.found) // a workload more can change how ends map
	clear(g.resolved)
	if g.c.Namespace(e.Namespace) == nil {
		g.c.Namespaces = append(g.c.Namespaces, model.Namespace{Name: e.Namespace, Labels: map[string]string{model.MetadataNameLabel: e.Namespace}})
		slices.SortFunc(g.c.Namespaces, func(a, b model.Namespace) int { return cmp.Compare(a.Name, b.Name) })
	}
	g.res.Warnings = append(g.res.Warnings, fmt.Sprintf("pod %s/%s is not in the input: using %s %s/%s with labels %s", e.Namespace, e.Name, kind, e.Namespace, name, labelText(labels)))
	// Nodes keep pointers to workloads that may now live in an older copy
	// of the slice; the copies are equal and nodes are told apart by key.
	return node{w: &g.c.Workloads[len(g.c.Workloads)-1]}, nil
}
