package rxfilter

import (
	"math/rand"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// generator produces random strings that a parsed regular expression may
// match: folded literals take any rune of their unicode.SimpleFold orbit,
// classes random runes (invalid bytes for U+FFFD), any-char random runes
// and bytes. Callers confirm a match with the regexp package.
type generator struct {
	r *rand.Rand
	b []byte
}

func (g *generator) gen(re *syntax.Regexp) string {
	g.b = g.b[:0]
	if g.r.Intn(3) == 0 {
		g.noise()
	}
	if !g.walk(re, 0) {
		return ""
	}
	if g.r.Intn(3) == 0 {
		g.noise()
	}
	return string(g.b)
}

func (g *generator) noise() {
	for n := g.r.Intn(6); n > 0; n-- {
		switch g.r.Intn(4) {
		case 0:
			g.b = append(g.b, byte(g.r.Intn(256)))
		case 1:
			g.b = append(g.b, " \n\t"[g.r.Intn(3)])
		default:
			g.b = append(g.b, byte('a'+g.r.Intn(26)))
		}
	}
}

func (g *generator) walk(re *syntax.Regexp, depth int) bool {
	if depth > 200 || len(g.b) > 4096 {
		return false
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpBeginLine, syntax.OpEndLine:
		if g.r.Intn(4) == 0 {
			g.b = append(g.b, '\n')
		}
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				orbit := []rune{r}
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					orbit = append(orbit, f)
				}
				r = orbit[g.r.Intn(len(orbit))]
			}
			g.rune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		i := 2 * g.r.Intn(len(re.Rune)/2)
		lo, hi := re.Rune[i], re.Rune[i+1]
		r := lo + rune(g.r.Int63n(int64(hi-lo)+1))
		if g.r.Intn(4) == 0 {
			r = []rune{lo, hi}[g.r.Intn(2)]
		}
		g.rune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		r := g.anyRune()
		if r == '\n' && re.Op == syntax.OpAnyCharNotNL {
			r = 'x'
		}
		g.rune(r)
	case syntax.OpCapture:
		return g.walk(re.Sub[0], depth+1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 3
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 || hi > lo+3 {
				hi = lo + 3
			}
		}
		for n := lo + g.r.Intn(hi-lo+1); n > 0; n-- {
			if !g.walk(re.Sub[0], depth+1) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !g.walk(s, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return g.walk(re.Sub[g.r.Intn(len(re.Sub))], depth+1)
	}
	return true
}

// rune appends r's UTF-8 form; U+FFFD, which invalid bytes match, becomes
// an invalid byte half of the time.
func (g *generator) rune(r rune) {
	if r == utf8.RuneError && g.r.Intn(2) == 0 {
		g.b = append(g.b, []byte{0x80, 0xff, 0xc3, 0xe2, 0xf0}[g.r.Intn(5)])
		return
	}
	g.b = utf8.AppendRune(g.b, r)
}

func (g *generator) anyRune() rune {
	switch g.r.Intn(6) {
	case 0:
		return rune(g.r.Intn(0x110000))
	case 1:
		return []rune{'\u212a', '\u017f', utf8.RuneError, '\n', 0}[g.r.Intn(5)]
	default:
		return rune(0x20 + g.r.Intn(0x5f))
	}
}

// caseVariants returns s with its ASCII letters' case flipped at random
// and with k and s replaced by their non-ASCII fold partners at random.
func caseVariant(r *rand.Rand, s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case (c == 'k' || c == 'K') && r.Intn(4) == 0:
			b.WriteString("\u212a")
		case (c == 's' || c == 'S') && r.Intn(4) == 0:
			b.WriteString("\u017f")
		case 'a' <= c && c <= 'z' && r.Intn(2) == 0:
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z' && r.Intn(2) == 0:
			b.WriteByte(c - 'A' + 'a')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
