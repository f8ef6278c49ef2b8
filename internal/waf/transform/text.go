package transform

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// none is the identity transformation; it never reports a change.
func none(s string) (string, bool, error) { return s, false, nil }

// lowercase lowers the case of every Unicode letter as Go's strings.ToLower does (which, for
// input that is not valid UTF-8 and holds a non-ASCII byte, also turns each invalid byte into
// U+FFFD). changed reports a difference between output and input.
func lowercase(s string) (string, bool, error) {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || (b >= 'A' && b <= 'Z') {
			out := strings.ToLower(s)
			return out, out != s, nil
		}
	}
	return s, false, nil
}

// removeNulls removes every NUL byte.
func removeNulls(s string) (string, bool, error) {
	if strings.IndexByte(s, 0) < 0 {
		return s, false, nil
	}
	return strings.ReplaceAll(s, "\x00", ""), true, nil
}

// replaceNulls replaces every NUL byte with a space.
func replaceNulls(s string) (string, bool, error) {
	if strings.IndexByte(s, 0) < 0 {
		return s, false, nil
	}
	return strings.ReplaceAll(s, "\x00", " "), true, nil
}

// length is the decimal length of s in bytes; it always reports a change.
func length(s string) (string, bool, error) { return strconv.Itoa(len(s)), true, nil }

// trim removes leading and trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
func trim(s string) (string, bool, error) {
	out := strings.Trim(s, " \t\n\r\f\v")
	return out, len(out) != len(s), nil
}

// hexDecode decodes s as pairs of hexadecimal digits; for input of odd length or with a
// non-hexadecimal byte it returns "" and an error, as Coraza does. It always reports a change
// when it succeeds.
func hexDecode(s string) (string, bool, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false, fmt.Errorf("hexDecode: %w", err)
	}
	return string(b), true, nil
}

// htmlEntityDecode decodes HTML character references as an HTML5 parser does outside an
// attribute (named references with or without the semicolon where HTML5 allows that, decimal and
// hexadecimal numeric references). It uses golang.org/x/net/html, the decoder Coraza uses, so
// the entity table is the same one. changed reports a change of length, as in Coraza; decoding
// always shortens its input, so it reports every decode.
func htmlEntityDecode(s string) (string, bool, error) {
	if strings.IndexByte(s, '&') < 0 {
		return s, false, nil
	}
	out := html.UnescapeString(s)
	return out, len(out) != len(s), nil
}

// utf8toUnicode writes every non-ASCII character as %u and its code point in lowercase
// hexadecimal, at least four digits; an invalid UTF-8 byte counts as U+FFFD. Output is at most
// six times as long as its input (an invalid byte becomes "%ufffd").
func utf8toUnicode(s string) (string, bool, error) {
	first := -1
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			first = i
			break
		}
	}
	if first < 0 {
		return s, false, nil
	}
	out := make([]byte, first, len(s)+len(s)/2)
	copy(out, s[:first])
	for _, r := range s[first:] {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		out = append(out, '%', 'u')
		if r < 0x1000 {
			out = append(out, '0')
			if r < 0x100 {
				out = append(out, '0')
			}
		}
		out = strconv.AppendUint(out, uint64(r), 16)
	}
	return ownedString(out), true, nil
}

// cmdLine normalizes a command line as ModSecurity's cmdLine does: it deletes \ " ' ^, turns
// each run of space, tab, CR, LF, ',' and ';' into one space, deletes a space before '/' or '(',
// and lowers ASCII letters. changed reports that the output differs from the input.
func cmdLine(s string) (string, bool, error) {
	i, inSpace := cmdLineUnchanged(s)
	if i == len(s) {
		return s, false, nil
	}
	// s[:i] comes out as it is; the loop goes on in the state the scan left.
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	changed := false
	for ; i < len(s); i++ {
		b := s[i]
		switch b {
		case '"', '\'', '\\', '^':
			changed = true
		case ' ', ',', ';', '\t', '\r', '\n':
			if inSpace || b != ' ' {
				changed = true
			}
			if !inSpace {
				out = append(out, ' ')
				inSpace = true
			}
		case '/', '(':
			if inSpace {
				out = out[:len(out)-1]
				changed = true
			}
			inSpace = false
			out = append(out, b)
		default:
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
				changed = true
			}
			inSpace = false
			out = append(out, b)
		}
	}
	return ownedString(out), changed, nil
}

// cmdLineUnchanged returns the length of the longest prefix of s that cmdLine copies unchanged,
// and whether that prefix ends in a space.
func cmdLineUnchanged(s string) (n int, inSpace bool) {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == ' ':
			if inSpace {
				return i, true
			}
			inSpace = true
		case b == '/' || b == '(':
			if inSpace {
				return i, true
			}
		case cmdLineSpecial(b):
			return i, inSpace
		default:
			inSpace = false
		}
	}
	return len(s), inSpace
}

func cmdLineSpecial(b byte) bool {
	switch b {
	case '"', '\'', '\\', '^', ' ', ',', ';', '\t', '\r', '\n', '/', '(':
		return true
	}
	return b >= 'A' && b <= 'Z'
}

// removeWhitespace removes every Unicode white space character (unicode.IsSpace). Like
// Coraza's, whenever its output differs from its input it has also replaced each invalid UTF-8
// byte with U+FFFD; changed reports only that a space was removed.
func removeWhitespace(s string) (string, bool, error) {
	i := 0
	for i < len(s) {
		b := s[i]
		if b >= utf8.RuneSelf || asciiSpace(b) {
			break
		}
		i++
	}
	if i == len(s) {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	changed := false
	for _, r := range s[i:] {
		if unicode.IsSpace(r) {
			changed = true
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	if !changed && len(out) == len(s) {
		// No space and no invalid byte: the input itself, as Coraza returns it.
		return s, false, nil
	}
	return ownedString(out), changed, nil
}

func asciiSpace(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// compressWhitespace turns each run of white space (the C white space bytes, U+0085, U+00A0,
// and a lone 0xA0 byte) into one space. changed reports that the output differs from the input.
func compressWhitespace(s string) (string, bool, error) {
	// Find the first rune that does not come out as it is: a white space other than ' ', or
	// one that follows another white space.
	start, inSpace := -1, false
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if latinSpace(r) || s[i] == 0xa0 {
			if inSpace || r != ' ' {
				start = i
				break
			}
			inSpace = true
		} else {
			inSpace = false
		}
		i += n
	}
	if start < 0 {
		return s, false, nil
	}
	out := make([]byte, start, len(s))
	copy(out, s[:start])
	changed := false
	for i := start; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if latinSpace(r) || s[i] == 0xa0 {
			if inSpace || r != ' ' {
				changed = true
			}
			if !inSpace {
				out = append(out, ' ')
				inSpace = true
			}
		} else {
			inSpace = false
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return ownedString(out), changed, nil
}

func latinSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xa0:
		return true
	}
	return false
}
