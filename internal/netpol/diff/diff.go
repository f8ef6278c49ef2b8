package diff

import (
	"cmp"
	"slices"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// The kinds of change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change is one connection whose allowed ports differ, the element of the
// JSON contract (docs/netpol-json.md). Src and Dst are named as in
// analyzer.Endpoint: namespace/name or the range text, with their kinds.
type Change struct {
	Change  string `json:"change"`
	Src     string `json:"src"`
	SrcKind string `json:"srcKind"`
	Dst     string `json:"dst"`
	DstKind string `json:"dstKind"`
	// Old and New are the allowed ports before and after (empty when the
	// connection was not allowed).
	Old []string `json:"old"`
	New []string `json:"new"`
	// AddedPorts and RemovedPorts are the ports that became allowed and
	// those that stopped being allowed.
	AddedPorts   []string `json:"addedPorts"`
	RemovedPorts []string `json:"removedPorts"`
}

type key struct{ src, srcKind, dst, dstKind string }

// Diff compares the connectivity of two configurations.
func Diff(old, new *model.Cluster) []Change {
	extra := append(old.IPBlockPrefixes(), new.IPBlockPrefixes()...)
	before := connections(analyzer.Analyze(old, analyzer.Options{ExtraPrefixes: extra}))
	after := connections(analyzer.Analyze(new, analyzer.Options{ExtraPrefixes: extra}))
	var out []Change
	for k, o := range before {
		n := after[k]
		if o.Equal(n) {
			continue
		}
		kind := Changed
		if n.IsEmpty() {
			kind = Removed
		}
		out = append(out, change(kind, k, o, n))
	}
	for k, n := range after {
		if _, ok := before[k]; !ok {
			out = append(out, change(Added, k, portset.Empty(), n))
		}
	}
	Sort(out)
	return out
}

func change(kind string, k key, o, n portset.Set) Change {
	return Change{Change: kind, Src: k.src, SrcKind: k.srcKind, Dst: k.dst, DstKind: k.dstKind,
		Old: list(o), New: list(n), AddedPorts: list(n.Subtract(o)), RemovedPorts: list(o.Subtract(n))}
}

func list(s portset.Set) []string {
	if out := s.Strings(); out != nil {
		return out
	}
	return []string{}
}

func connections(r *analyzer.Result) map[key]portset.Set {
	eps := r.Endpoints()
	out := map[key]portset.Set{}
	for _, c := range r.Connections() {
		out[key{eps[c.Src].Name(), eps[c.Src].Kind(), eps[c.Dst].Name(), eps[c.Dst].Kind()}] = c.Ports
	}
	return out
}

// Pair returns the change of one connection from src to dst whose allowed
// ports were o and are n, as Diff reports it, and false when o and n are
// equal. It lets a caller that knows which connections can have changed
// compare only those.
func Pair(src, dst analyzer.Endpoint, o, n portset.Set) (Change, bool) {
	if o.Equal(n) {
		return Change{}, false
	}
	k := key{src.Name(), src.Kind(), dst.Name(), dst.Kind()}
	kind := Changed
	switch {
	case o.IsEmpty():
		kind = Added
	case n.IsEmpty():
		kind = Removed
	}
	return change(kind, k, o, n), true
}

// Sort orders changes as Diff returns them: by source, destination, then
// their kinds.
func Sort(changes []Change) {
	slices.SortFunc(changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst), cmp.Compare(a.SrcKind, b.SrcKind), cmp.Compare(a.DstKind, b.DstKind))
	})
}
