package analyzer

import "github.com/kordon-dev/kordon/internal/netpol/portset"

// Port-set identifiers: every distinct set is stored once.
const (
	psNone int32 = 0
	psAll  int32 = 1
)

// table interns port sets and memoizes operations on their identifiers.
type table struct {
	sets      []portset.Set
	index     map[string]int32
	unions    map[[2]int32]int32
	intersect map[[2]int32]int32
}

func newTable() *table {
	t := &table{index: map[string]int32{}, unions: map[[2]int32]int32{}, intersect: map[[2]int32]int32{}}
	t.id(portset.Empty())
	t.id(portset.All())
	return t
}

func (t *table) id(s portset.Set) int32 {
	k := s.Key()
	if id, ok := t.index[k]; ok {
		return id
	}
	id := int32(len(t.sets))
	t.sets = append(t.sets, s)
	t.index[k] = id
	return id
}

func (t *table) union(a, b int32) int32 {
	switch {
	case a == b || b == psNone:
		return a
	case a == psNone:
		return b
	case a == psAll || b == psAll:
		return psAll
	}
	if a > b {
		a, b = b, a
	}
	k := [2]int32{a, b}
	if r, ok := t.unions[k]; ok {
		return r
	}
	r := t.id(t.sets[a].Union(t.sets[b]))
	t.unions[k] = r
	return r
}

func (t *table) and(a, b int32) int32 {
	switch {
	case a == b || b == psAll:
		return a
	case a == psAll:
		return b
	case a == psNone || b == psNone:
		return psNone
	}
	if a > b {
		a, b = b, a
	}
	k := [2]int32{a, b}
	if r, ok := t.intersect[k]; ok {
		return r
	}
	r := t.id(t.sets[a].Intersect(t.sets[b]))
	t.intersect[k] = r
	return r
}
