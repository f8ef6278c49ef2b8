package netmap

import (
	"maps"
	"reflect"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// incrementalDiff returns what diff.Diff(old, new) returns, comparing only
// the connections that can have changed.
//
// The ports from src to dst are what the egress policies selecting src
// allow, intersected with what the ingress policies selecting dst allow
// (a pod no policy selects in a direction is not isolated in it; an
// address range is never isolated). Namespace labels, workloads and their
// ports being the same, a connection can change only when the set or the
// content of the policies selecting src or dst changes, that is when src
// or dst is selected by a policy that was added, removed or changed (by
// its old or its new selector). A policy that selects no pod changes
// nothing. Those workloads are the touched ones; every connection from or
// to a touched workload (address ranges included) is compared, and no
// other. Both analyses cut the address ranges with the prefixes of both
// configurations, as diff.Diff does, so their endpoints are the same.
//
// Namespaces enter only through the labels of those that hold workloads
// (a namespaceSelector picks pods, and an empty namespace has none), so a
// namespace that only a new policy names, with no workload, changes
// nothing. When the workloads, or the labels of a namespace holding
// workloads, differ, it falls back to diff.Diff.
func incrementalDiff(old, new *model.Cluster) []diff.Change {
	if !sameWorkloads(old, new) {
		return diff.Diff(old, new)
	}
	changed := changedPolicies(old.Policies, new.Policies)
	if len(changed) == 0 {
		return nil
	}
	touched := make([]bool, len(old.Workloads))
	some := false
	for i := range old.Workloads {
		w := &old.Workloads[i]
		for _, p := range changed {
			if p.Selects(w) {
				touched[i], some = true, true
				break
			}
		}
	}
	if !some {
		return nil
	}
	extra := append(old.IPBlockPrefixes(), new.IPBlockPrefixes()...)
	before := analyzer.Analyze(old, analyzer.Options{ExtraPrefixes: extra})
	after := analyzer.Analyze(new, analyzer.Options{ExtraPrefixes: extra})
	eps := before.Endpoints()
	if !sameEndpoints(eps, after.Endpoints()) {
		return diff.Diff(old, new)
	}
	var out []diff.Change
	pair := func(src, dst int) {
		if ch, ok := diff.Pair(eps[src], eps[dst], before.Ports(src, dst), after.Ports(src, dst)); ok {
			out = append(out, ch)
		}
	}
	nw := len(old.Workloads)
	for src := range eps {
		srcTouched := src < nw && touched[src]
		for dst := range eps {
			if src == dst || (src >= nw && dst >= nw) {
				continue
			}
			if srcTouched || (dst < nw && touched[dst]) {
				pair(src, dst)
			}
		}
	}
	diff.Sort(out)
	return out
}

// changedPolicies returns every version, old and new, of the policies
// whose ID is in only one list or whose versions differ (an inventory may
// hold two policies of the same namespace and name, so each ID is matched
// with all of its versions).
func changedPolicies(old, new []model.Policy) []*model.Policy {
	byID := func(ps []model.Policy) map[string][]*model.Policy {
		m := make(map[string][]*model.Policy, len(ps))
		for i := range ps {
			m[ps[i].ID()] = append(m[ps[i].ID()], &ps[i])
		}
		return m
	}
	o, n := byID(old), byID(new)
	var out []*model.Policy
	for id, os := range o {
		if !reflect.DeepEqual(os, n[id]) {
			out = append(out, os...)
		}
	}
	for id, ns := range n {
		if !reflect.DeepEqual(o[id], ns) {
			out = append(out, ns...)
		}
	}
	return out
}

func sameEndpoints(a, b []analyzer.Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name() != b[i].Name() || a[i].Kind() != b[i].Kind() {
			return false
		}
	}
	return true
}

// sameWorkloads reports whether the two configurations have the same
// workloads and the same labels on every namespace holding one.
func sameWorkloads(old, new *model.Cluster) bool {
	if !reflect.DeepEqual(old.Workloads, new.Workloads) {
		return false
	}
	seen := map[string]bool{}
	for i := range old.Workloads {
		ns := old.Workloads[i].Namespace
		if seen[ns] {
			continue
		}
		seen[ns] = true
		if !maps.Equal(old.NamespaceLabels(ns), new.NamespaceLabels(ns)) {
			return false
		}
	}
	return true
}
