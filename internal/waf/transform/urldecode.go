package transform

import "strings"

// urlDecodeUni decodes %HH, IIS-style %uHHHH (folded to one byte through the best-fit
// table of code page 20127, else its low byte, full-width ASCII shifted back to ASCII) and '+'
// as a space. An invalid or truncated escape is kept as written. changed reports a decode.
func urlDecodeUni(s string) (string, bool, error) {
	i := strings.IndexAny(s, "%+")
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	changed := false
	for i < len(s) {
		b := s[i]
		switch {
		case b == '+':
			out = append(out, ' ')
			changed = true
			i++
		case b != '%':
			out = append(out, b)
			i++
		case i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U'):
			if i+5 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]) {
				out = append(out, uniByte(s[i+2], s[i+3], s[i+4], s[i+5]))
				changed = true
				i += 6
			} else {
				out = append(out, s[i], s[i+1])
				i += 2
			}
		case i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, hexByte(s[i+1], s[i+2]))
			changed = true
			i += 3
		default:
			out = append(out, b)
			i++
		}
	}
	return ownedString(out), changed, nil
}

// uniByte is the byte a %uHHHH escape with the given (checked) hexadecimal digits decodes to.
func uniByte(h1, h2, h3, h4 byte) byte {
	hi := hexByte(h1, h2)
	lo := hexByte(h3, h4)
	if b, ok := bestFit[uint16(hi)<<8|uint16(lo)]; ok {
		return b
	}
	if hi == 0xff && lo > 0 && lo < 0x5f {
		return lo + 0x20
	}
	return lo
}

// urlDecode decodes %HH and '+' as a space; an invalid or truncated escape is kept as written.
// Like Coraza it reports a change whenever the input holds a '%' or a '+'.
func urlDecode(s string) (string, bool, error) {
	i := strings.IndexAny(s, "%+")
	if i < 0 {
		return s, false, nil
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	for i < len(s) {
		b := s[i]
		switch {
		case b == '+':
			out = append(out, ' ')
			i++
		case b == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, hexByte(s[i+1], s[i+2]))
			i += 3
		default:
			out = append(out, b)
			i++
		}
	}
	return ownedString(out), true, nil
}
