package iprange

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Range is the inclusive address range From..To of one address family.
type Range struct {
	From, To netip.Addr
}

// Last returns the last address of a prefix.
func Last(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			if i*8+bit >= bits {
				b[i] |= 0x80 >> bit
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FromPrefix returns the range a prefix covers.
func FromPrefix(p netip.Prefix) Range { return Range{From: p.Masked().Addr(), To: Last(p)} }

// Contains reports whether the address is in the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.From.BitLen() && r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

// Within reports whether the whole range lies inside the prefix.
func (r Range) Within(p netip.Prefix) bool {
	return p.Contains(r.From) && p.Contains(r.To)
}

// Compare orders ranges by family, then start address.
func (r Range) Compare(o Range) int {
	if c := cmp.Compare(r.From.BitLen(), o.From.BitLen()); c != 0 {
		return c
	}
	return r.From.Compare(o.From)
}

// Prefix returns the range as one prefix when it is exactly one.
func (r Range) Prefix() (netip.Prefix, bool) {
	for bits := 0; bits <= r.From.BitLen(); bits++ {
		p, err := r.From.Prefix(bits)
		if err != nil {
			continue
		}
		if p.Addr() == r.From && Last(p) == r.To {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// String returns the range as a CIDR ("10.0.0.0/8") when it is one, and as
// "first-last" ("0.0.0.0-9.255.255.255") otherwise.
func (r Range) String() string {
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return fmt.Sprintf("%s-%s", r.From, r.To)
}

// Cut returns the disjoint ranges that the prefixes cut the address space
// into, sorted: IPv4 (0.0.0.0/0) always, IPv6 (::/0) only when a prefix is
// IPv6. Every range is either wholly inside or wholly outside each prefix.
func Cut(prefixes []netip.Prefix) []Range {
	var starts4, starts6 []netip.Addr
	starts4 = append(starts4, netip.IPv4Unspecified())
	v6 := false
	for _, p := range prefixes {
		p = p.Masked()
		first, last := p.Addr(), Last(p)
		if first.Is4() {
			starts4 = append(starts4, first)
			if n := last.Next(); n.IsValid() {
				starts4 = append(starts4, n)
			}
			continue
		}
		if !v6 {
			v6 = true
			starts6 = append(starts6, netip.IPv6Unspecified())
		}
		starts6 = append(starts6, first)
		if n := last.Next(); n.IsValid() {
			starts6 = append(starts6, n)
		}
	}
	out := ranges(starts4, netip.MustParseAddr("255.255.255.255"))
	if v6 {
		out = append(out, ranges(starts6, netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))...)
	}
	return out
}

func ranges(starts []netip.Addr, top netip.Addr) []Range {
	slices.SortFunc(starts, netip.Addr.Compare)
	starts = slices.Compact(starts)
	out := make([]Range, 0, len(starts))
	for i, s := range starts {
		end := top
		if i+1 < len(starts) {
			end = starts[i+1].Prev()
		}
		out = append(out, Range{From: s, To: end})
	}
	return out
}

// Index returns the position of the range holding the address in sorted,
// disjoint ranges such as Cut returns, and false when none holds it.
func Index(rs []Range, a netip.Addr) (int, bool) {
	a = a.Unmap()
	i, _ := slices.BinarySearchFunc(rs, a, func(r Range, a netip.Addr) int {
		if c := cmp.Compare(r.From.BitLen(), a.BitLen()); c != 0 {
			return c
		}
		if r.To.Compare(a) < 0 {
			return -1
		}
		if r.From.Compare(a) > 0 {
			return 1
		}
		return 0
	})
	if i < len(rs) && rs[i].Contains(a) {
		return i, true
	}
	return 0, false
}

// Covered returns the positions of the ranges in rs (sorted and disjoint,
// as Cut returns) that lie inside the prefix. rs must have been cut by a
// set of prefixes that includes p.
func Covered(rs []Range, p netip.Prefix) []int {
	p = p.Masked()
	start, ok := Index(rs, p.Addr())
	if !ok {
		return nil
	}
	var out []int
	for i := start; i < len(rs) && rs[i].Within(p); i++ {
		out = append(out, i)
	}
	return out
}
