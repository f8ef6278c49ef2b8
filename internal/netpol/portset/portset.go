package portset

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Protocol is a transport protocol a NetworkPolicy can name.
type Protocol uint8

// The protocols, in the order they are printed.
const (
	TCP Protocol = iota
	UDP
	SCTP
	numProtocols
)

// MinPort and MaxPort bound the port numbers a set can hold.
const (
	MinPort = 1
	MaxPort = 65535
)

var protocolNames = [numProtocols]string{"TCP", "UDP", "SCTP"}

// Protocols returns TCP, UDP and SCTP.
func Protocols() []Protocol { return []Protocol{TCP, UDP, SCTP} }

// String returns TCP, UDP or SCTP.
func (p Protocol) String() string {
	if p < numProtocols {
		return protocolNames[p]
	}
	return fmt.Sprintf("protocol(%d)", int(p))
}

// ParseProtocol parses a protocol name, case-insensitively. The empty
// string is TCP, the Kubernetes default.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return TCP, nil
	}
	for i, n := range protocolNames {
		if strings.EqualFold(s, n) {
			return Protocol(i), nil
		}
	}
	return 0, fmt.Errorf("unknown protocol %q (want TCP, UDP or SCTP)", s)
}

// Interval is the inclusive port range Lo..Hi.
type Interval struct{ Lo, Hi int32 }

// Set is a set of (protocol, port) pairs. The zero value is the empty set.
type Set struct {
	iv [numProtocols][]Interval
}

// Empty returns the empty set.
func Empty() Set { return Set{} }

// All returns every port of every protocol.
func All() Set {
	var s Set
	for p := range s.iv {
		s.iv[p] = []Interval{{MinPort, MaxPort}}
	}
	return s
}

// AllOf returns every port of one protocol.
func AllOf(p Protocol) Set { return Range(p, MinPort, MaxPort) }

// Range returns the ports lo..hi of one protocol, clipped to 1..65535; the
// set is empty when lo > hi.
func Range(p Protocol, lo, hi int32) Set {
	var s Set
	lo, hi = max(lo, MinPort), min(hi, MaxPort)
	if lo <= hi && p < numProtocols {
		s.iv[p] = []Interval{{lo, hi}}
	}
	return s
}

// Single returns one port of one protocol.
func Single(p Protocol, port int32) Set { return Range(p, port, port) }

// Intervals returns the intervals of one protocol, sorted and disjoint. The
// caller must not modify the result.
func (s Set) Intervals(p Protocol) []Interval { return s.iv[p] }

// IsEmpty reports whether the set holds no port.
func (s Set) IsEmpty() bool {
	for _, iv := range s.iv {
		if len(iv) > 0 {
			return false
		}
	}
	return true
}

// IsAll reports whether the set holds every port of every protocol.
func (s Set) IsAll() bool {
	for _, iv := range s.iv {
		if len(iv) != 1 || iv[0].Lo != MinPort || iv[0].Hi != MaxPort {
			return false
		}
	}
	return true
}

// Contains reports whether the set holds the port of the protocol, in
// time logarithmic in the number of intervals.
func (s Set) Contains(p Protocol, port int32) bool {
	if p >= numProtocols {
		return false
	}
	ivs := s.iv[p]
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].Hi >= port })
	return i < len(ivs) && ivs[i].Lo <= port
}

// Equal reports whether both sets hold the same ports.
func (s Set) Equal(o Set) bool {
	for p := range s.iv {
		a, b := s.iv[p], o.iv[p]
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

// SubsetOf reports whether every port of s is in o.
func (s Set) SubsetOf(o Set) bool { return s.Subtract(o).IsEmpty() }

// Union returns the ports in either set.
func (s Set) Union(o Set) Set {
	var r Set
	for p := range s.iv {
		r.iv[p] = union(s.iv[p], o.iv[p])
	}
	return r
}

// Intersect returns the ports in both sets.
func (s Set) Intersect(o Set) Set {
	var r Set
	for p := range s.iv {
		r.iv[p] = intersect(s.iv[p], o.iv[p])
	}
	return r
}

// Subtract returns the ports of s that are not in o.
func (s Set) Subtract(o Set) Set {
	var r Set
	for p := range s.iv {
		r.iv[p] = intersect(s.iv[p], complement(o.iv[p]))
	}
	return r
}

func union(a, b []Interval) []Interval {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]Interval, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next Interval
		if j >= len(b) || (i < len(a) && a[i].Lo <= b[j].Lo) {
			next = a[i]
			i++
		} else {
			next = b[j]
			j++
		}
		if n := len(out); n > 0 && next.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, next.Hi)
			continue
		}
		out = append(out, next)
	}
	return out
}

func intersect(a, b []Interval) []Interval {
	var out []Interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].Lo, b[j].Lo), min(a[i].Hi, b[j].Hi)
		if lo <= hi {
			out = append(out, Interval{lo, hi})
		}
		if a[i].Hi < b[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func complement(a []Interval) []Interval {
	var out []Interval
	next := int32(MinPort)
	for _, iv := range a {
		if iv.Lo > next {
			out = append(out, Interval{next, iv.Lo - 1})
		}
		next = iv.Hi + 1
	}
	if next <= MaxPort {
		out = append(out, Interval{next, MaxPort})
	}
	return out
}

// Strings returns the set as sorted range texts such as "TCP/80",
// "TCP/8000-8080" and "UDP/53", TCP first, then UDP, then SCTP; a protocol
// whose every port is in the set is written as "UDP/1-65535".
func (s Set) Strings() []string {
	var out []string
	for p, ivs := range s.iv {
		for _, iv := range ivs {
			out = append(out, Protocol(p).String()+"/"+iv.text())
		}
	}
	return out
}

// String returns "all" for the full set, "none" for the empty set and the
// comma-separated Strings otherwise: Text(s.Strings()).
func (s Set) String() string { return Text(s.Strings()) }

// Text returns how a set given as its range texts (as Strings returns them)
// reads for people: "all" when they are every port of every protocol,
// "none" when there are none, and the texts joined by commas otherwise.
// Every netpol output that prints ports in words goes through Text.
func Text(ranges []string) string {
	switch {
	case len(ranges) == 0:
		return "none"
	case isAllText(ranges):
		return "all"
	}
	return strings.Join(ranges, ",")
}

// isAllText reports whether ranges are the Strings of All: every protocol
// in order, each with its full range.
func isAllText(ranges []string) bool {
	const full = "/1-65535" // the text of Interval{MinPort, MaxPort}
	if len(ranges) != int(numProtocols) {
		return false
	}
	for p, r := range ranges {
		if rest, ok := strings.CutPrefix(r, protocolNames[p]); !ok || rest != full {
			return false
		}
	}
	return true
}

// Key returns a compact string that is equal for equal sets, for use as a
// map key.
func (s Set) Key() string {
	var b strings.Builder
	for p, ivs := range s.iv {
		if p > 0 {
			b.WriteByte('|')
		}
		for _, iv := range ivs {
			b.WriteString(strconv.Itoa(int(iv.Lo)))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(iv.Hi)))
			b.WriteByte(',')
		}
	}
	return b.String()
}

func (iv Interval) text() string {
	if iv.Lo == iv.Hi {
		return strconv.Itoa(int(iv.Lo))
	}
	return strconv.Itoa(int(iv.Lo)) + "-" + strconv.Itoa(int(iv.Hi))
}

// Parse reads one port range text: "tcp/80", "TCP/8000-8080", "udp" (every
// UDP port) or "80" (TCP). Protocol names are case-insensitive.
func Parse(text string) (Set, error) {
	proto, ports, ok := strings.Cut(strings.TrimSpace(text), "/")
	if !ok {
		if p, err := ParseProtocol(proto); err == nil {
			return AllOf(p), nil
		}
		proto, ports = "TCP", proto
	}
	p, err := ParseProtocol(proto)
	if err != nil {
		return Set{}, fmt.Errorf("parse port %q: %w", text, err)
	}
	loText, hiText, isRange := strings.Cut(ports, "-")
	lo, err := parsePort(loText)
	if err != nil {
		return Set{}, fmt.Errorf("parse port %q: %w", text, err)
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(hiText); err != nil {
			return Set{}, fmt.Errorf("parse port %q: %w", text, err)
		}
		if hi < lo {
			return Set{}, fmt.Errorf("parse port %q: range end %d is below its start %d", text, hi, lo)
		}
	}
	return Range(p, lo, hi), nil
}

func parsePort(s string) (int32, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < MinPort || n > MaxPort {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return int32(n), nil
}
