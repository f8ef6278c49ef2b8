package transform

import (
	"strings"
	"unicode/utf8"
)

// jsDecode decodes JavaScript escapes: \u{H..H} (1-6 digits) and \uHHHH to the low byte of
// the code point (full-width ASCII U+FF01-U+FF5E shifted to ASCII), \xHH, one to three octal
// digits (at most \377), the C escapes \a \b \f \n \r \t \v, and \C as C for any other byte. A
// backslash at the end is kept. changed reports a decoded escape.
func jsDecode(s string) (string, bool, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	changed := false
	for i < len(s) {
		if s[i] != '\\' || i+1 >= len(s) {
			out = append(out, s[i])
			i++
			continue
		}
		changed = true
		next := s[i+1]
		if n := braceEscapeDigits(s, i); n > 0 {
			var code uint32
			for _, d := range []byte(s[i+3 : i+3+n]) {
				code = code<<4 | uint32(hexValue[d])
			}
			b := byte(code)
			if code >= 0xff01 && code <= 0xff5e {
				b += 0x20
			}
			out = append(out, b)
			i += n + 4
			continue
		}
		switch {
		case next == 'u' && i+5 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]):
			b := hexByte(s[i+4], s[i+5])
			if b > 0 && b < 0x5f && (s[i+2]|0x20) == 'f' && (s[i+3]|0x20) == 'f' {
				b += 0x20
			}
			out = append(out, b)
			i += 6
		case next == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]):
			out = append(out, hexByte(s[i+2], s[i+3]))
			i += 4
		case isOctal(next):
			n := 1
			for n < 3 && i+1+n < len(s) && isOctal(s[i+1+n]) {
				n++
			}
			if n == 3 && next > '3' {
				n = 2
			}
			var v byte
			for _, d := range []byte(s[i+1 : i+1+n]) {
				v = v<<3 | (d - '0')
			}
			out = append(out, v)
			i += 1 + n
		default:
			out = append(out, cEscape(next))
			i += 2
		}
	}
	return ownedString(out), changed, nil
}

// braceEscapeDigits returns the number of hexadecimal digits of a \u{H..H} escape (1-6,
// closed by '}') at s[i], or 0 if there is none.
func braceEscapeDigits(s string, i int) int {
	if i+2 >= len(s) || s[i+1] != 'u' || s[i+2] != '{' {
		return 0
	}
	start := i + 3
	n := 0
	for n < 6 && start+n < len(s) && isHex(s[start+n]) {
		n++
	}
	if n == 0 || start+n >= len(s) || s[start+n] != '}' {
		return 0
	}
	return n
}

// cEscape is the byte the C escape \b stands for, or b itself.
func cEscape(b byte) byte {
	switch b {
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return b
}

// escapeSeqDecode decodes ANSI C escapes: \a \b \f \n \r \t \v \\ \? \' \", \xHH or \XHH, one to
// three octal digits (the value's low byte), and \C as C for any other byte. A backslash at the
// end is kept. changed reports a decoded escape.
func escapeSeqDecode(s string) (string, bool, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	changed := false
	for i < len(s) {
		if s[i] != '\\' || i+1 >= len(s) {
			out = append(out, s[i])
			i++
			continue
		}
		changed = true
		next := s[i+1]
		switch {
		case (next == 'x' || next == 'X') && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]):
			out = append(out, hexByte(s[i+2], s[i+3]))
			i += 4
		case isOctal(next):
			n := 1
			for n < 3 && i+1+n < len(s) && isOctal(s[i+1+n]) {
				n++
			}
			var v uint
			for _, d := range []byte(s[i+1 : i+1+n]) {
				v = v<<3 | uint(d-'0')
			}
			out = append(out, byte(v))
			i += 1 + n
		default:
			out = append(out, cEscape(next))
			i += 2
		}
	}
	return ownedString(out), changed, nil
}

// cssDecode decodes CSS escapes: a backslash and one to six hexadecimal digits become the code
// point in UTF-8 (zero, surrogates and values past U+10FFFF become U+FFFD, full-width ASCII
// becomes ASCII) and swallow one following whitespace byte; a backslash before a newline
// vanishes with it; a backslash before any other byte is dropped; a backslash at the end is
// dropped. Like Coraza it reports a change whenever the input holds a backslash.
func cssDecode(s string) (string, bool, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	for i < len(s) {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		i++ // the backslash itself never survives
		if i >= len(s) {
			break
		}
		n := 0
		for n < 6 && i+n < len(s) && isHex(s[i+n]) {
			n++
		}
		switch {
		case n > 0:
			var code rune
			for _, d := range []byte(s[i : i+n]) {
				code = code<<4 | rune(hexValue[d])
			}
			switch {
			case code == 0:
				code = utf8.RuneError
			case code >= 0xff01 && code <= 0xff5e:
				code -= 0xfee0
			}
			out = utf8.AppendRune(out, code)
			i += n
			if i < len(s) && isCSpace(s[i]) {
				i++
			}
		case s[i] == '\n':
			i++
		default:
			out = append(out, s[i])
			i++
		}
	}
	return ownedString(out), true, nil
}
