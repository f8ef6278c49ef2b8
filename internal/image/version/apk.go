package version

import (
	"fmt"
	"strings"
)

// apk token kinds, in the order apk-tools ranks them: when two versions
// agree up to where one has a token of a later kind than the other, the
// one with the earlier kind is the greater (1.2.3 > 1.2 > 1.2_rc1 is the
// exception: a pre-release suffix is less than nothing).
const (
	apkInitial  = iota // the first number
	apkDigit           // .N
	apkLetter          // a single lower-case letter after the numbers
	apkSuffix          // _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg, _p
	apkSuffixNo        // the number after a suffix
	apkHash            // ~commit hash
	apkRevision        // -rN
	apkEnd
)

// apkSuffixes ranks the suffixes; "" (no suffix) sits between the
// pre-releases and the post-releases.
var apkSuffixes = map[string]int{"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}

const apkNoSuffix = 4

// apkToken is one token of an apk version: its kind, its text (digits,
// letter, suffix name or hash) and a suffix's rank.
type apkToken struct {
	kind   int
	text   string
	suffix int
}

// parseAPK splits s into apk-tools' tokens (the grammar of
// apk_version_validate: digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}).
func parseAPK(s string) ([]apkToken, error) {
	bad := func(why string) ([]apkToken, error) {
		return nil, fmt.Errorf("alpine version %q: %s (want 1.2.3[a][_suffixN][~hash][-rN])", s, why)
	}
	digits := func(i int) int {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return j
	}
	j := digits(0)
	if j == 0 {
		return bad("does not start with a number")
	}
	toks := []apkToken{{kind: apkInitial, text: s[:j]}}
	for i := j; i < len(s); {
		last := toks[len(toks)-1].kind
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			if last > apkDigit {
				return bad(fmt.Sprintf("letter %q after the suffixes", c))
			}
			toks = append(toks, apkToken{kind: apkLetter, text: s[i : i+1]})
			i++
		case c == '.' || c >= '0' && c <= '9':
			kind := apkDigit
			switch {
			case c == '.' && last <= apkDigit:
				i++
			case c != '.' && last == apkSuffix:
				kind = apkSuffixNo
			default:
				return bad(fmt.Sprintf("number at offset %d out of place", i))
			}
			j := digits(i)
			if j == i {
				return bad("a dot without a number")
			}
			toks = append(toks, apkToken{kind: kind, text: s[i:j]})
			i = j
		case c == '_':
			if last > apkSuffixNo {
				return bad("suffix after the hash or release")
			}
			j := i + 1
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			rank, ok := apkSuffixes[s[i+1:j]]
			if !ok {
				return bad(fmt.Sprintf("unknown suffix _%s", s[i+1:j]))
			}
			toks = append(toks, apkToken{kind: apkSuffix, text: s[i+1 : j], suffix: rank})
			i = j
		case c == '~':
			if last >= apkHash {
				return bad("a second hash or a hash after the release")
			}
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'f') {
				j++
			}
			if j == i+1 {
				return bad("~ without a hash")
			}
			toks = append(toks, apkToken{kind: apkHash, text: s[i+1 : j]})
			i = j
		case c == '-':
			if last >= apkRevision || !strings.HasPrefix(s[i:], "-r") {
				return bad("- not followed by rN, or a second release")
			}
			j := digits(i + 2)
			if j == i+2 {
				return bad("-r without a number")
			}
			toks = append(toks, apkToken{kind: apkRevision, text: s[i+2 : j]})
			i = j
		default:
			return bad(fmt.Sprintf("character %q", c))
		}
	}
	return toks, nil
}

// compareAPK orders two apk versions as apk-tools' apk_version_compare
// does: token by token while both have a token of the same kind; a dotted
// number with a leading zero (on either side) compares as a string
// ("1.01" < "1.1", "1.001" < "1.01"), other numbers as numbers of any
// length; letters and hashes as text, suffixes by rank. When one version
// runs out or continues with another kind of token, a pre-release suffix
// is the lesser, else the version whose next token kind comes first is the
// greater (so 1.0 > 1 and 1.0-r1 > 1.0).
func compareAPK(a, b []apkToken) int {
	i := 0
	for ; i < len(a) && i < len(b) && a[i].kind == b[i].kind; i++ {
		if r := a[i].cmp(b[i]); r != 0 {
			return r
		}
	}
	ka, kb := apkEnd, apkEnd
	var ta, tb apkToken
	if i < len(a) {
		ta, ka = a[i], a[i].kind
	}
	if i < len(b) {
		tb, kb = b[i], b[i].kind
	}
	switch {
	case ka == kb:
		return 0
	case ka == apkSuffix && ta.suffix < apkNoSuffix:
		return -1
	case kb == apkSuffix && tb.suffix < apkNoSuffix:
		return 1
	case ka > kb:
		return -1
	}
	return 1
}

func (t apkToken) cmp(u apkToken) int {
	switch t.kind {
	case apkDigit:
		if t.text[0] == '0' || u.text[0] == '0' {
			return strings.Compare(t.text, u.text)
		}
		return compareNumbers(t.text, u.text)
	case apkInitial, apkSuffixNo, apkRevision:
		return compareNumbers(t.text, u.text)
	case apkSuffix:
		return sign(t.suffix - u.suffix)
	}
	return strings.Compare(t.text, u.text) // letters, hashes
}

// compareNumbers compares decimal digit strings as numbers of any size.
func compareNumbers(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
