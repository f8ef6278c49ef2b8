package analyzer

import (
	"cmp"
	"slices"

	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Endpoints returns the workloads (in the cluster's order) followed by the
// external address ranges (sorted). Endpoint indexes in other methods are
// positions in this list. The caller must not modify the result.
func (r *Result) Endpoints() []Endpoint { return r.endpoints }

// Ranges returns the external address ranges.
func (r *Result) Ranges() []Endpoint { return r.endpoints[len(r.cluster.Workloads):] }

// Classes returns the number of equivalence classes of workloads.
func (r *Result) Classes() int { return len(r.classes) }

func (r *Result) isRange(node int32) bool { return int(node) >= len(r.classes) }

func lookup(es []entry, node int32) (int32, bool) {
	i, ok := slices.BinarySearchFunc(es, node, func(e entry, n int32) int { return cmp.Compare(e.node, n) })
	if !ok {
		return psNone, false
	}
	return es[i].ps, true
}

func (r *Result) egress(src, dst int32) int32 {
	if r.isRange(src) {
		return psAll
	}
	id := r.classes[src].egProf
	if id < 0 {
		return psAll
	}
	prof := &r.eg[id]
	if ps, ok := lookup(prof.sparse, dst); ok {
		return ps
	}
	if r.isRange(dst) {
		return prof.base
	}
	return r.egressBase(prof, r.classes[dst].npsig)
}

func (r *Result) ingress(dst, src int32) int32 {
	if r.isRange(dst) {
		return psAll
	}
	id := r.classes[dst].inProf
	if id < 0 {
		return psAll
	}
	if ps, ok := lookup(r.in[id].sparse, src); ok {
		return ps
	}
	return r.in[id].base
}

func (r *Result) nodePorts(src, dst int32) int32 {
	if r.isRange(src) && r.isRange(dst) {
		return psNone
	}
	e := r.egress(src, dst)
	if e == psNone {
		return psNone
	}
	return r.t.and(e, r.ingress(dst, src))
}

// Ports returns the ports on which endpoint src may reach endpoint dst.
// It is empty for a workload and itself and between two address ranges.
func (r *Result) Ports(src, dst int) portset.Set {
	if src == dst {
		return portset.Empty()
	}
	return r.t.sets[r.nodePorts(r.nodeOf[src], r.nodeOf[dst])]
}

// Connection is an allowed connection between two endpoints.
type Connection struct {
	Src, Dst int // endpoint indexes
	Ports    portset.Set
}

// Connections returns every allowed connection between distinct endpoints,
// ordered by source and destination index; connections between two
// address ranges are not included. For large results prefer
// EachConnection, which does not hold them all in memory.
func (r *Result) Connections() []Connection {
	var out []Connection
	r.EachConnection(func(c Connection) bool {
		out = append(out, c)
		return true
	})
	return out
}

// EachConnection calls fn for every connection Connections returns, in the
// same order, without building the list; it stops when fn returns false.
func (r *Result) EachConnection(fn func(Connection) bool) {
	row := make([]int32, r.nodes)
	w := newRowWorkspace(r)
	last := int32(-1)
	nw := len(r.cluster.Workloads)
	for src := range r.endpoints {
		if sn := r.nodeOf[src]; sn != last {
			r.row(sn, row, w)
			last = sn
		}
		for dst := range r.endpoints {
			if dst == src || (src >= nw && dst >= nw) {
				continue
			}
			if ps := row[r.nodeOf[dst]]; ps != psNone {
				if !fn(Connection{Src: src, Dst: dst, Ports: r.t.sets[ps]}) {
					return
				}
			}
		}
	}
}

// Count returns how many connections Connections would return, without
// building them.
func (r *Result) Count() int {
	n := 0
	r.eachNodePair(func(src, dst, _ int32) {
		ms, md := r.size(src), r.size(dst)
		if src == dst {
			n += ms * (ms - 1)
		} else {
			n += ms * md
		}
	})
	return n
}

func (r *Result) size(node int32) int {
	if r.isRange(node) {
		return 1
	}
	return len(r.classes[node].members)
}

// eachNodePair calls fn for every pair of nodes with a non-empty port set.
func (r *Result) eachNodePair(fn func(src, dst, ps int32)) {
	row := make([]int32, r.nodes)
	w := newRowWorkspace(r)
	for src := range int32(r.nodes) {
		r.row(src, row, w)
		for dst, ps := range row {
			if ps != psNone {
				fn(src, int32(dst), ps)
			}
		}
	}
}

// rowWorkspace holds the dense scratch arrays row uses, stamped so that
// they never need clearing.
type rowWorkspace struct {
	eRow, eStamp []int32
	iRow, iStamp []int32
	stamp        int32
}

func newRowWorkspace(r *Result) *rowWorkspace {
	return &rowWorkspace{
		eRow: make([]int32, r.nodes), eStamp: make([]int32, r.nodes),
		iRow: make([]int32, len(r.in)), iStamp: make([]int32, len(r.in)),
	}
}

// row fills row[dst] with the port set identifier of every connection from
// node src (psNone where nothing is allowed, and between two ranges), using
// dense per-source rows instead of per-pair lookups.
func (r *Result) row(src int32, row []int32, w *rowWorkspace) {
	nc := int32(len(r.classes))
	w.stamp++
	stamp := w.stamp
	var prof *profile
	if src < nc && r.classes[src].egProf >= 0 {
		prof = &r.eg[r.classes[src].egProf]
		for _, e := range prof.sparse {
			w.eRow[e.node], w.eStamp[e.node] = e.ps, stamp
		}
	}
	for _, e := range r.inT[src] {
		w.iRow[e.node], w.iStamp[e.node] = e.ps, stamp
	}
	for dst := range int32(r.nodes) {
		if src >= nc && dst >= nc {
			row[dst] = psNone
			continue
		}
		var e int32
		switch {
		case prof == nil:
			e = psAll
		case w.eStamp[dst] == stamp:
			e = w.eRow[dst]
		case dst >= nc:
			e = prof.base
		default:
			e = r.egressBase(prof, r.classes[dst].npsig)
		}
		if e == psNone {
			row[dst] = psNone
			continue
		}
		i := psAll
		if dst < nc {
			if p := r.classes[dst].inProf; p >= 0 {
				if w.iStamp[p] == stamp {
					i = w.iRow[p]
				} else {
					i = r.in[p].base
				}
			}
		}
		row[dst] = r.t.and(e, i)
	}
}
