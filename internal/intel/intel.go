// Package intel is Kordon's threat intelligence: indicators of compromise
// (IP addresses, CIDR ranges, domains, URLs) loaded from plain lists, STIX
// 2.1 bundles and MISP JSON into a Set that answers "is this address or
// name known bad, by which feed, how bad" in constant time per lookup, and
// an Enricher that checks ingested events against it: matching events get
// the match in their attributes, and each match becomes an Event of its
// own (engine intel, check KOR-INTEL-001) with the feed's severity.
// Formats and the matching rules are documented in docs/server.md.
package intel

import (
	"net/netip"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// RuleID is the catalogue check of a threat-intelligence match.
const RuleID = "KOR-INTEL-001"

// IDs returns the checks this engine reports (for the catalogue test).
func IDs() []string { return []string{RuleID} }

// Indicator types.
const (
	TypeIP     = "ip"
	TypeCIDR   = "cidr"
	TypeDomain = "domain"
	TypeURL    = "url"
)

// Indicator is one known-bad value.
type Indicator struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Feed names the feed it came from; Severity is the feed's, or the
	// indicator's own where the format carries one (MISP threat level).
	Feed        string           `json:"feed"`
	Severity    finding.Severity `json:"severity"`
	Description string           `json:"description,omitempty"`
}

// Set holds indicators for lookup. Build it with Add, then only read it;
// reads are safe for concurrent use, Add is not.
type Set struct {
	ips      map[netip.Addr]*Indicator
	nets4    map[int]map[uint32]*Indicator // IPv4 ranges by prefix length, keyed by the masked address
	lengths4 []int                         // IPv4 prefix lengths present, longest first
	nets6    map[int]map[netip.Prefix]*Indicator
	lengths6 []int
	domains  map[string]*Indicator
	urls     map[string]*Indicator
	n        int
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{ips: map[netip.Addr]*Indicator{}, nets4: map[int]map[uint32]*Indicator{}, nets6: map[int]map[netip.Prefix]*Indicator{},
		domains: map[string]*Indicator{}, urls: map[string]*Indicator{}}
}

// Len returns the number of indicators.
func (s *Set) Len() int { return s.n }

// Add adds an indicator; a value already present keeps the more severe.
func (s *Set) Add(ind Indicator) {
	keep := func(old *Indicator) bool { return old != nil && old.Severity >= ind.Severity }
	p := &ind
	switch ind.Type {
	case TypeIP:
		a, err := netip.ParseAddr(ind.Value)
		if err != nil {
			return
		}
		a = a.Unmap()
		if old := s.ips[a]; keep(old) {
			return
		} else if old == nil {
			s.n++
		}
		s.ips[a] = p
	case TypeCIDR:
		pr, err := netip.ParsePrefix(ind.Value)
		if err != nil {
			return
		}
		pr = pr.Masked()
		if pr.Addr().Is4() && pr.Bits() == 32 || pr.Addr().Is6() && pr.Bits() == 128 {
			ind.Type, ind.Value = TypeIP, pr.Addr().String()
			s.Add(ind)
			return
		}
		if pr.Addr().Is4() {
			m := s.nets4[pr.Bits()]
			if m == nil {
				m = map[uint32]*Indicator{}
				s.nets4[pr.Bits()] = m
				s.lengths4 = append(s.lengths4, pr.Bits())
				sortDesc(s.lengths4)
			}
			k := v4(pr.Addr())
			if old := m[k]; keep(old) {
				return
			} else if old == nil {
				s.n++
			}
			m[k] = p
			return
		}
		m := s.nets6[pr.Bits()]
		if m == nil {
			m = map[netip.Prefix]*Indicator{}
			s.nets6[pr.Bits()] = m
			s.lengths6 = append(s.lengths6, pr.Bits())
			sortDesc(s.lengths6)
		}
		if old := m[pr]; keep(old) {
			return
		} else if old == nil {
			s.n++
		}
		m[pr] = p
	case TypeDomain:
		d := normDomain(ind.Value)
		if old := s.domains[d]; keep(old) {
			return
		} else if old == nil {
			s.n++
		}
		s.domains[d] = p
	case TypeURL:
		if old := s.urls[ind.Value]; keep(old) {
			return
		} else if old == nil {
			s.n++
		}
		s.urls[ind.Value] = p
	}
}

func sortDesc(xs []int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] > xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// MatchIP returns the indicator an address matches: the address itself,
// else the longest CIDR range holding it.
func (s *Set) MatchIP(a netip.Addr) *Indicator {
	a = a.Unmap()
	if ind := s.ips[a]; ind != nil {
		return ind
	}
	if a.Is4() {
		x := v4(a)
		for _, bits := range s.lengths4 {
			if ind := s.nets4[bits][x&^(1<<(32-bits)-1)]; ind != nil {
				return ind
			}
		}
		return nil
	}
	for _, bits := range s.lengths6 {
		pr, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if ind := s.nets6[bits][pr]; ind != nil {
			return ind
		}
	}
	return nil
}

// v4 returns an IPv4 address as a number.
func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// MatchDomain returns the indicator a name matches: the name itself or
// one of its parent domains (an indicator for evil.example covers
// a.evil.example).
func (s *Set) MatchDomain(name string) *Indicator {
	d := normDomain(name)
	for d != "" {
		if ind := s.domains[d]; ind != nil {
			return ind
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = rest
	}
	return nil
}

// MatchURL returns the indicator of exactly this URL.
func (s *Set) MatchURL(u string) *Indicator { return s.urls[u] }
