package rxfilter

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrEmptyLiteral is returned by NewMatcher for an empty literal.
var ErrEmptyLiteral = errors.New("rxfilter: empty literal")

// maxMatcherBytes bounds the total size of a Matcher's literals.
const maxMatcherBytes = 1 << 22

// Matcher finds which of many literals occur in a string, comparing ASCII
// letters case-insensitively and all other bytes exactly; all occurrences
// count (overlapping ones too).
//
// It is an Aho–Corasick automaton over byte classes: states near the root
// have dense transition rows, deeper ones sorted sparse edges and a failure
// link. Find makes one pass over its input. A Matcher is immutable and safe
// for concurrent use.
type Matcher struct {
	n int // literals
	// class maps a byte to its class; ASCII letters share their lower
	// case's class. Class 0 is every byte in no literal.
	class   [256]byte
	classes int
	// dense[s*classes+c] is the transition of a dense state s (< nDense).
	dense  []uint32
	nDense uint32
	// Sparse states: edges[edgeStart[s]:edgeStart[s+1]] sorted by class.
	edgeStart []uint32
	edgeClass []byte
	edgeNext  []uint32
	fail      []uint32
	// Outputs: the IDs of literals ending at s are ids[outStart[s]:outStart[s+1]];
	// dict[s] is the nearest state on s's failure chain with outputs (0: none).
	outStart []uint32
	ids      []uint32
	dict     []uint32
}

// denseDepth is the depth up to which states get dense rows.
const denseDepth = 2

// NewMatcher compiles lits (any bytes, non-empty); literal i has ID i. It
// returns ErrEmptyLiteral (wrapped) for an empty literal and an error when
// the literals exceed 4 MiB in total. Time is O(n log n) and memory linear
// in their total size n (a few tens of bytes per byte while building, about
// 25 bytes per automaton state after).
func NewMatcher(lits []string) (*Matcher, error) {
	total := 0
	for i, l := range lits {
		if l == "" {
			return nil, fmt.Errorf("new matcher: literal %d: %w", i, ErrEmptyLiteral)
		}
		total += len(l)
	}
	if total > maxMatcherBytes {
		return nil, fmt.Errorf("new matcher: literals total %d bytes, more than %d", total, maxMatcherBytes)
	}
	m := &Matcher{n: len(lits)}
	m.buildClasses(lits)

	// The trie, with one transition map for all states (construction only).
	type edge struct {
		from uint32
		c    byte
		to   uint32
	}
	type output struct{ state, id uint32 }
	trans := make(map[uint64]uint32, total)
	depth := []int32{0}
	var edges []edge
	outs := make([]output, 0, len(lits))
	for id, l := range lits {
		s := uint32(0)
		for i := 0; i < len(l); i++ {
			c := m.class[l[i]]
			k := uint64(s)<<8 | uint64(c)
			t, ok := trans[k]
			if !ok {
				t = uint32(len(depth))
				depth = append(depth, depth[s]+1)
				trans[k] = t
				edges = append(edges, edge{s, c, t})
			}
			s = t
		}
		outs = append(outs, output{s, uint32(id)})
	}
	clear(trans)

	// Each state's edges by class, and its outputs, as runs of sorted slices.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.from != b.from {
			return cmp.Compare(a.from, b.from)
		}
		return cmp.Compare(a.c, b.c)
	})
	slices.SortFunc(outs, func(a, b output) int {
		if a.state != b.state {
			return cmp.Compare(a.state, b.state)
		}
		return cmp.Compare(a.id, b.id)
	})
	ns := len(depth)
	firstEdge := make([]uint32, ns+1)
	for _, e := range edges {
		firstEdge[e.from+1]++
	}
	firstOut := make([]uint32, ns+1)
	for _, o := range outs {
		firstOut[o.state+1]++
	}
	for s := 0; s < ns; s++ {
		firstEdge[s+1] += firstEdge[s]
		firstOut[s+1] += firstOut[s]
	}

	// Renumber breadth-first so that dense (shallow) states come first.
	order := make([]uint32, 1, ns)
	newID := make([]uint32, ns)
	for i := 0; i < len(order); i++ {
		s := order[i]
		for _, e := range edges[firstEdge[s]:firstEdge[s+1]] {
			newID[e.to] = uint32(len(order))
			order = append(order, e.to)
		}
	}
	for i, old := range order {
		if depth[old] < denseDepth {
			m.nDense = uint32(i) + 1
		}
	}
	m.fail = make([]uint32, ns)
	m.dict = make([]uint32, ns)
	m.edgeStart = make([]uint32, ns+1)
	m.outStart = make([]uint32, ns+1)
	m.edgeClass = make([]byte, 0, len(edges))
	m.edgeNext = make([]uint32, 0, len(edges))
	m.ids = make([]uint32, 0, len(outs))
	for i, old := range order {
		m.edgeStart[i] = uint32(len(m.edgeClass))
		for _, e := range edges[firstEdge[old]:firstEdge[old+1]] {
			m.edgeClass = append(m.edgeClass, e.c)
			m.edgeNext = append(m.edgeNext, newID[e.to])
		}
		m.outStart[i] = uint32(len(m.ids))
		for _, o := range outs[firstOut[old]:firstOut[old+1]] {
			m.ids = append(m.ids, o.id)
		}
	}
	m.edgeStart[ns] = uint32(len(m.edgeClass))
	m.outStart[ns] = uint32(len(m.ids))

	// Failure links in BFS order (parents before children).
	for s := 0; s < ns; s++ {
		for e := m.edgeStart[s]; e < m.edgeStart[s+1]; e++ {
			c, t := m.edgeClass[e], m.edgeNext[e]
			if s == 0 {
				m.fail[t] = 0
			} else {
				m.fail[t] = m.gotoSparse(m.fail[s], c)
			}
			f := m.fail[t]
			if m.outStart[f] < m.outStart[f+1] {
				m.dict[t] = f
			} else {
				m.dict[t] = m.dict[f]
			}
		}
	}

	// Dense rows for shallow states.
	m.dense = make([]uint32, int(m.nDense)*m.classes)
	for s := uint32(0); s < m.nDense; s++ {
		for c := 0; c < m.classes; c++ {
			m.dense[int(s)*m.classes+c] = m.gotoSparse(s, byte(c))
		}
	}
	return m, nil
}

// buildClasses gives each byte that occurs in a literal (ASCII letters
// folded) its own class; all other bytes share class 0.
func (m *Matcher) buildClasses(lits []string) {
	var used [256]bool
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			used[lowerByte(l[i])] = true
		}
	}
	m.classes = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			m.class[b] = byte(m.classes)
			m.classes++
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}
}

func lowerByte(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// edge returns the sparse transition of s on class c, or false.
func (m *Matcher) edge(s uint32, c byte) (uint32, bool) {
	lo, hi := m.edgeStart[s], m.edgeStart[s+1]
	for lo < hi {
		mid := (lo + hi) / 2
		switch mc := m.edgeClass[mid]; {
		case mc == c:
			return m.edgeNext[mid], true
		case mc < c:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// gotoSparse is the automaton's transition using sparse edges and failure
// links only (used while building).
func (m *Matcher) gotoSparse(s uint32, c byte) uint32 {
	for {
		if t, ok := m.edge(s, c); ok {
			return t
		}
		if s == 0 {
			return 0
		}
		s = m.fail[s]
	}
}

// Len is the number of literals.
func (m *Matcher) Len() int { return m.n }

// Find sets in hits (a bitset: bit i of hits[i/64]; len(hits) >=
// (m.Len()+63)/64) the bit of every literal occurring in s. It does not
// clear hits and does not allocate. It panics if hits is too short. Time is
// linear in len(s) plus the number of (literal, end position) occurrences.
func (m *Matcher) Find(s string, hits []uint64) {
	if len(hits) < (m.n+63)/64 {
		panic("rxfilter: Find: hits too short")
	}
	st := uint32(0)
	for i := 0; i < len(s); i++ {
		c := m.class[s[i]]
		for st >= m.nDense {
			if t, ok := m.edge(st, c); ok {
				st = t
				goto moved
			}
			st = m.fail[st]
		}
		st = m.dense[int(st)*m.classes+int(c)]
	moved:
		for o := st; o != 0; o = m.dict[o] {
			for _, id := range m.ids[m.outStart[o]:m.outStart[o+1]] {
				hits[id>>6] |= 1 << (id & 63)
			}
		}
	}
}

// SizeBytes is an estimate of the Matcher's memory use.
func (m *Matcher) SizeBytes() int {
	return 4*(len(m.dense)+len(m.edgeStart)+len(m.edgeNext)+len(m.fail)+
		len(m.outStart)+len(m.ids)+len(m.dict)) + len(m.edgeClass) + 256
}
