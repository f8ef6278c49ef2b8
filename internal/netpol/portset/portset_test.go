package portset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "tcp/80", want: []string{"TCP/80"}},
		{in: "TCP/8000-8080", want: []string{"TCP/8000-8080"}},
		{in: "udp/53", want: []string{"UDP/53"}},
		{in: "sctp", want: []string{"SCTP/1-65535"}},
		{in: "443", want: []string{"TCP/443"}},
		{in: "tcp/0", wantErr: true},
		{in: "tcp/65536", wantErr: true},
		{in: "tcp/90-80", wantErr: true},
		{in: "icmp/1", wantErr: true},
		{in: "tcp/http", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !slices.Equal(got.Strings(), tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got.Strings(), tt.want)
			}
		})
	}
}

func TestStringAndAll(t *testing.T) {
	if got := All().String(); got != "all" {
		t.Errorf("All().String() = %q, want all", got)
	}
	if got := Empty().String(); got != "none" {
		t.Errorf("Empty().String() = %q, want none", got)
	}
	s := AllOf(TCP).Union(AllOf(UDP)).Union(AllOf(SCTP))
	if !s.IsAll() {
		t.Errorf("union of every protocol is not IsAll: %v", s.Strings())
	}
	merged := Single(TCP, 80).Union(Range(TCP, 81, 90)).Union(Single(UDP, 53)).Union(Single(TCP, 79))
	if got, want := merged.Strings(), []string{"TCP/79-90", "UDP/53"}; !slices.Equal(got, want) {
		t.Errorf("merged = %v, want %v", got, want)
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name   string
		ranges []string
		want   string
	}{
		{"none", nil, "none"},
		{"empty list", []string{}, "none"},
		{"all", All().Strings(), "all"},
		{"one protocol whole", AllOf(UDP).Strings(), "UDP/1-65535"},
		{"all but one port", All().Subtract(Single(SCTP, 9)).Strings(), "TCP/1-65535,UDP/1-65535,SCTP/1-8,SCTP/10-65535"},
		{"some", []string{"TCP/80", "UDP/53"}, "TCP/80,UDP/53"},
		{"already words", []string{"all"}, "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.ranges); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.ranges, got, tt.want)
			}
		})
	}
	for _, s := range []Set{All(), Empty(), Single(TCP, 80), AllOf(TCP).Union(AllOf(UDP))} {
		if got, want := s.String(), Text(s.Strings()); got != want {
			t.Errorf("%v: String() = %q, Text(Strings()) = %q", s.Strings(), got, want)
		}
	}
}

// TestRandomAgainstBitmaps checks every operation against a brute-force
// bitmap over a small port universe.
func TestRandomAgainstBitmaps(t *testing.T) {
	const top = 40 // ports 1..top, plus the far end of the range
	rng := rand.New(rand.NewPCG(1, 2))
	randSet := func() Set {
		var s Set
		for range rng.IntN(4) {
			p := Protocol(rng.IntN(3))
			lo := int32(rng.IntN(top) + 1)
			hi := lo + int32(rng.IntN(8))
			if rng.IntN(10) == 0 {
				hi = MaxPort
			}
			s = s.Union(Range(p, lo, hi))
		}
		return s
	}
	probe := func(s Set) []bool {
		var out []bool
		for _, p := range Protocols() {
			for port := int32(1); port <= top+10; port++ {
				out = append(out, s.Contains(p, port))
			}
			out = append(out, s.Contains(p, MaxPort-1), s.Contains(p, MaxPort))
		}
		return out
	}
	zip := func(a, b []bool, f func(x, y bool) bool) []bool {
		out := make([]bool, len(a))
		for i := range a {
			out[i] = f(a[i], b[i])
		}
		return out
	}
	for i := range 2000 {
		a, b := randSet(), randSet()
		pa, pb := probe(a), probe(b)
		if got, want := probe(a.Union(b)), zip(pa, pb, func(x, y bool) bool { return x || y }); !slices.Equal(got, want) {
			t.Fatalf("case %d: union of %v and %v wrong", i, a, b)
		}
		if got, want := probe(a.Intersect(b)), zip(pa, pb, func(x, y bool) bool { return x && y }); !slices.Equal(got, want) {
			t.Fatalf("case %d: intersection of %v and %v wrong", i, a, b)
		}
		if got, want := probe(a.Subtract(b)), zip(pa, pb, func(x, y bool) bool { return x && !y }); !slices.Equal(got, want) {
			t.Fatalf("case %d: %v minus %v wrong", i, a, b)
		}
		if a.Union(b).Equal(b.Union(a)) != true || (a.Key() == b.Key()) != a.Equal(b) {
			t.Fatalf("case %d: Equal/Key disagree for %v and %v", i, a, b)
		}
		if a.SubsetOf(a.Union(b)) != true {
			t.Fatalf("case %d: %v not a subset of its union with %v", i, a, b)
		}
	}
}
