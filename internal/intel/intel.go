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
	ips     map[netip.Addr]*Indicator
	nets    map[int]map[netip.Prefix]*Indicator // by prefix length
	lengths []int                               // prefix lengths present, longest first
	domains map[string]*Indicator
	urls    map[string]*Indicator
	n       int
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{ips: map[netip.Addr]*Indicator{}, nets: map[int]map[netip.Prefix]*Indicator{},
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
		m := s.nets[pr.Bits()]
		if m == nil {
			m = map[netip.Prefix]*Indicator{}
			s.nets[pr.Bits()] = m
			s.lengths = append(s.lengths, pr.Bits())
			sortDesc(s.lengths)
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
	for _, bits := range s.lengths {
		if bits > a.BitLen() {
			continue
		}
		pr, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if ind := s.nets[bits][pr]; ind != nil {
			return ind
		}
	}
	return nil
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
