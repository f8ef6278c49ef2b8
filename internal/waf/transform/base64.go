package transform

import "unicode"

// base64Value maps a byte to its value in the standard base64 alphabet, or -1.
var base64Value = func() (t [256]int8) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// base64Decode decodes standard base64 leniently, as Coraza does: CR and LF are skipped, '=' or
// a space ends the input, any other byte outside the alphabet ends it too, and a final group of
// two or three characters yields one or two bytes. It always reports a change.
func base64Decode(s string) (string, bool, error) { return decodeBase64(s, false), true, nil }

// base64DecodeExt is base64Decode that also skips white space (unicode.IsSpace of the byte),
// '.' and any other byte outside the alphabet (so only '=' ends its input), and accepts the
// base64url characters '-' and '_'.
func base64DecodeExt(s string) (string, bool, error) { return decodeBase64(s, true), true, nil }

func decodeBase64(s string, ext bool) string {
	if s == "" {
		return s
	}
	out := make([]byte, 0, len(s)/4*3+2)
	var acc uint32
	n := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if ext && (unicode.IsSpace(rune(b)) || b == '.') {
			continue
		}
		if b == '\r' || b == '\n' {
			continue
		}
		if b == '=' || b == ' ' {
			break
		}
		if ext {
			switch b {
			case '-':
				b = '+'
			case '_':
				b = '/'
			}
		}
		v := base64Value[b]
		if v < 0 {
			if ext {
				continue
			}
			break
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return ownedString(out)
}
