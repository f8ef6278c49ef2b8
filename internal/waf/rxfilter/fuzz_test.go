package rxfilter

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// Pieces of the small pattern grammar FuzzRequired draws from.
var (
	fuzzAtoms = []string{
		"a", "b", "k", "s", "K", "S", "ab", "sel", "\u212a", "\u017f", "\u00e5", "\u00df",
		"x", "1", " ", "'", "\\(", "\\.", "\\n", "\ufffd", "\\x{212a}", "\\x41",
		"[a-c]", "[^a]", "[ks]", "[[:alpha:]]", "\\pL", "\\d", "\\w", "\\W", "\\s", ".",
		"[^\\x00-\\x7f]", "[\\x{fffd}]", "[j-l]", "[r-t]", "\\Q.*\\E",
	}
	fuzzEmpty = []string{"^", "$", "\\b", "\\B", "\\A", "\\z", "(?:)"}
	fuzzQuant = []string{"*", "+", "?", "{0}", "{1}", "{2}", "{0,2}", "{1,3}", "{2,}", "*?", "+?"}
	fuzzFlags = []string{"(?i)", "(?s)", "(?m)", "(?U)", "(?-i)", "(?i:", "(?-s:"}
)

// fuzzPattern turns bytes into a pattern of the grammar.
func fuzzPattern(prog []byte) string {
	var b strings.Builder
	open := 0
	for i := 0; i < len(prog) && b.Len() < 200; i++ {
		c := int(prog[i])
		switch c % 8 {
		case 0, 1, 2:
			b.WriteString(fuzzAtoms[c/8%len(fuzzAtoms)])
		case 3:
			b.WriteString(fuzzQuant[c/8%len(fuzzQuant)])
		case 4:
			b.WriteString(fuzzEmpty[c/8%len(fuzzEmpty)])
		case 5:
			f := fuzzFlags[c/8%len(fuzzFlags)]
			b.WriteString(f)
			if strings.HasSuffix(f, ":") {
				open++
			}
		case 6:
			if c&8 == 0 {
				b.WriteString("(")
			} else {
				b.WriteString("(?:")
			}
			open++
		case 7:
			if c&8 == 0 && open > 0 {
				b.WriteString(")")
				open--
			} else {
				b.WriteString("|")
			}
		}
	}
	b.WriteString(strings.Repeat(")", open))
	return b.String()
}

func FuzzRequired(f *testing.F) {
	f.Add([]byte{0, 8, 16, 3, 7, 24}, "ab")
	f.Add([]byte{5, 16, 2, 24, 8, 3}, "\u212a")
	f.Add([]byte{13, 64, 72, 11, 15, 80, 4, 12}, "x\nSEL")
	f.Add([]byte{6, 0, 15, 8, 7, 19, 2}, "")
	f.Add([]byte("union select"), "UNION\u017fELECT")
	f.Fuzz(func(t *testing.T, prog []byte, input string) {
		pattern := fuzzPattern(prog)
		re, err := regexp.Compile(pattern)
		lits, ok, rerr := Required(pattern)
		if (err != nil) != (rerr != nil) {
			t.Fatalf("Required(%q) err = %v, regexp.Compile err = %v", pattern, rerr, err)
		}
		if err != nil || !ok {
			return
		}
		checkLits(t, pattern, lits)
		if re.MatchString(input) && !containsAny(input, lits) {
			t.Fatalf("UNSOUND: %q matches %q but contains none of %q", pattern, input, lits)
		}
		var seed int64
		for _, c := range prog {
			seed = seed*31 + int64(c)
		}
		soundOn(t, rand.New(rand.NewSource(seed)), pattern, lits, 30, nil)
	})
}
