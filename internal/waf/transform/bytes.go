package transform

import "unsafe"

// hexValue maps a byte to its value as a hexadecimal digit, or -1 for a byte that is not one.
var hexValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < 10; i++ {
		t['0'+i] = int8(i)
	}
	for i := 0; i < 6; i++ {
		t['a'+i] = int8(10 + i)
		t['A'+i] = int8(10 + i)
	}
	return t
}()

func isHex(b byte) bool { return hexValue[b] >= 0 }

// hexByte decodes two hexadecimal digits the caller has already checked.
func hexByte(hi, lo byte) byte { return byte(hexValue[hi])<<4 | byte(hexValue[lo]) }

func isOctal(b byte) bool { return b >= '0' && b <= '7' }

// isCSpace reports whether b is a space for C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// ownedString returns b as a string without copying it. The caller hands b over: nothing may
// write to b afterwards.
func ownedString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
