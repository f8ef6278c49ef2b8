package rxfilter

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
)

// naiveFind is the reference: bit i is set when Lower(s) contains Lower(lits[i]).
func naiveFind(lits []string, s string) []uint64 {
	hits := make([]uint64, (len(lits)+63)/64)
	low := Lower(s)
	for i, l := range lits {
		if strings.Contains(low, Lower(l)) {
			hits[i/64] |= 1 << (i % 64)
		}
	}
	return hits
}

func compareFind(t *testing.T, m *Matcher, lits []string, s string) {
	t.Helper()
	got := make([]uint64, (m.Len()+63)/64)
	m.Find(s, got)
	want := naiveFind(lits, s)
	for i := range lits {
		g, w := got[i/64]&(1<<(i%64)) != 0, want[i/64]&(1<<(i%64)) != 0
		if g != w {
			t.Errorf("Find(%q): literal %d %q found = %v, want %v", s, i, lits[i], g, w)
		}
	}
}

func TestMatcherTable(t *testing.T) {
	lits := []string{"he", "she", "his", "hers", "SHE", "e", "\u212a", "\xff\x00", "a\xc3", "hers", "ushers"}
	m, err := NewMatcher(lits)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != len(lits) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(lits))
	}
	for _, s := range []string{"", "ushers", "USHERS", "hishe", "x\u212ay", "K", "\xff\x00", "\xff", "A\xc3\x89", "a\xe3", "sHe"} {
		compareFind(t, m, lits, s)
	}
	// Find does not clear hits.
	hits := []uint64{1 << 63}
	m.Find("", hits)
	if hits[0] != 1<<63 {
		t.Errorf("Find cleared hits: %x", hits[0])
	}
}

func TestNewMatcherErrors(t *testing.T) {
	if _, err := NewMatcher([]string{"a", ""}); !errors.Is(err, ErrEmptyLiteral) {
		t.Errorf("NewMatcher with an empty literal: err = %v, want ErrEmptyLiteral", err)
	}
	m, err := NewMatcher(nil)
	if err != nil || m.Len() != 0 {
		t.Fatalf("NewMatcher(nil) = %v, %v", m, err)
	}
	m.Find("anything", nil)
}

func TestMatcherRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	alphabet := []byte("abAB\x00\xff\xc3 ")
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		return string(b)
	}
	for round := 0; round < 300; round++ {
		lits := make([]string, 1+r.Intn(100))
		for i := range lits {
			lits[i] = word(1 + r.Intn(5))
		}
		m, err := NewMatcher(lits)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 20; j++ {
			compareFind(t, m, lits, word(r.Intn(40)))
		}
	}
}

// TestMatcherCRS builds one Matcher of every CRS rx literal and .data
// phrase and compares it with the naive search on regression payloads.
func TestMatcherCRS(t *testing.T) {
	rules, phrases, payloads := loadCRS(t)
	lits := crsLiterals(rules, phrases)
	m, err := NewMatcher(lits)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d literals, %d states, about %d KiB", m.Len(), len(m.fail), m.SizeBytes()/1024)
	if m.SizeBytes() > 8<<20 {
		t.Errorf("Matcher of %d literals takes %d bytes", m.Len(), m.SizeBytes())
	}
	step := 7 * len(payloads) / sample(len(payloads))
	for i := 0; i < len(payloads); i += step {
		compareFind(t, m, lits, payloads[i])
	}
	for _, v := range benignValues {
		compareFind(t, m, lits, v)
	}
	hits := make([]uint64, (m.Len()+63)/64)
	if a := testing.AllocsPerRun(20, func() { m.Find(benignValues[10], hits) }); a != 0 {
		t.Errorf("Find allocates %v times", a)
	}
}

// crsLiterals is every literal of the CRS rx operators and every .data phrase.
func crsLiterals(rules []crsRule, phrases []string) []string {
	var lits []string
	for _, rule := range rules {
		l, ok, err := Required(rule.Pattern)
		if err == nil && ok {
			lits = append(lits, l...)
		}
	}
	return append(lits, phrases...)
}

func FuzzMatcher(f *testing.F) {
	f.Add("he|she|his|hers", "ushers")
	f.Add("select|union|\u212a|sleep(", "1 UNION SELECT sleep(5)")
	f.Add("\xff|a\x00b|AB", "xx\xffa\x00bab")
	f.Add("aa|aaa|a", "aaaa")
	f.Fuzz(func(t *testing.T, litList, s string) {
		var lits []string
		for _, l := range strings.Split(litList, "|") {
			if l != "" {
				lits = append(lits, l)
			}
		}
		if len(lits) > 200 {
			lits = lits[:200]
		}
		m, err := NewMatcher(lits)
		if err != nil {
			t.Fatal(err)
		}
		compareFind(t, m, lits, s)
	})
}

func TestNewMatcherLimits(t *testing.T) {
	if _, err := NewMatcher([]string{strings.Repeat("a", maxMatcherBytes), "b"}); err == nil {
		t.Error("NewMatcher accepted more than the literal bytes limit")
	}
	// A long literal and all its prefixes: deep failure chains.
	long := strings.Repeat("ab", 2000)
	var lits []string
	for n := 1; n <= len(long); n += 37 {
		lits = append(lits, long[:n])
	}
	m, err := NewMatcher(lits)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{long, "AB" + long[:999], strings.Repeat("a", 100), long[1:]} {
		compareFind(t, m, lits, s)
	}
}
