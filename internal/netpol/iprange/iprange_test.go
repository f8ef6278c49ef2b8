package iprange

import (
	"net/netip"
	"testing"
)

func TestCut(t *testing.T) {
	tests := []struct {
		name     string
		prefixes []string
		want     []string
	}{
		{name: "nothing", want: []string{"0.0.0.0/0"}},
		{name: "all", prefixes: []string{"0.0.0.0/0"}, want: []string{"0.0.0.0/0"}},
		{name: "one block", prefixes: []string{"10.0.0.0/8"}, want: []string{"0.0.0.0-9.255.255.255", "10.0.0.0/8", "11.0.0.0-255.255.255.255"}},
		{name: "except", prefixes: []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16"},
			want: []string{"0.0.0.0-9.255.255.255", "10.0.0.0/16", "10.1.0.0/16", "10.2.0.0-10.255.255.255", "11.0.0.0-255.255.255.255"}},
		{name: "host", prefixes: []string{"192.168.1.7/32"},
			want: []string{"0.0.0.0-192.168.1.6", "192.168.1.7/32", "192.168.1.8-255.255.255.255"}},
		{name: "ipv6", prefixes: []string{"fd00::/8"},
			want: []string{"0.0.0.0/0", "::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::/8", "fe00::/7"}},
		{name: "top", prefixes: []string{"255.255.255.255/32"}, want: []string{"0.0.0.0-255.255.255.254", "255.255.255.255/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []netip.Prefix
			for _, s := range tt.prefixes {
				ps = append(ps, netip.MustParsePrefix(s))
			}
			got := Cut(ps)
			var texts []string
			for _, r := range got {
				texts = append(texts, r.String())
			}
			if len(texts) != len(tt.want) {
				t.Fatalf("Cut(%v) = %v, want %v", tt.prefixes, texts, tt.want)
			}
			for i := range texts {
				if texts[i] != tt.want[i] {
					t.Errorf("Cut(%v)[%d] = %s, want %s", tt.prefixes, i, texts[i], tt.want[i])
				}
			}
			for _, p := range ps {
				for _, i := range Covered(got, p) {
					if !got[i].Within(p) {
						t.Errorf("range %v reported inside %v", got[i], p)
					}
				}
				if n := len(Covered(got, p)); n == 0 {
					t.Errorf("no range inside %v", p)
				}
			}
		})
	}
}

func TestIndex(t *testing.T) {
	rs := Cut([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
	for _, tt := range []struct {
		addr string
		want string
	}{
		{"10.1.2.3", "10.0.0.0/8"},
		{"9.255.255.255", "0.0.0.0-9.255.255.255"},
		{"8.8.8.8", "0.0.0.0-9.255.255.255"},
		{"11.0.0.0", "11.0.0.0-255.255.255.255"},
		{"2001:db8::1", "2001:db8::/32"},
		{"::ffff:10.0.0.1", "10.0.0.0/8"},
	} {
		i, ok := Index(rs, netip.MustParseAddr(tt.addr))
		if !ok || rs[i].String() != tt.want {
			t.Errorf("Index(%s) = %v (ok %v), want %s", tt.addr, rs[i], ok, tt.want)
		}
	}
}
