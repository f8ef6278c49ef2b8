package transform

import (
	"crypto/fips140"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// errFIPS is returned by md5 and sha1 in FIPS 140-3 mode, where Coraza refuses them too (and
// the rule engine then keeps the value as it was).
var errFIPS = errors.New("hash not available in FIPS 140-3 mode")

// md5Sum is the raw 16-byte MD5 digest of s; it always reports a change.
func md5Sum(s string) (string, bool, error) {
	if fips140.Enabled() {
		return s, false, fmt.Errorf("md5: %w", errFIPS)
	}
	d := md5.Sum([]byte(s))
	return string(d[:]), true, nil
}

// sha1Sum is the raw 20-byte SHA-1 digest of s; it always reports a change.
func sha1Sum(s string) (string, bool, error) {
	if fips140.Enabled() {
		return s, false, fmt.Errorf("sha1: %w", errFIPS)
	}
	d := sha1.Sum([]byte(s))
	return string(d[:]), true, nil
}

// hexEncode writes each byte as two lowercase hexadecimal digits; it always reports a change.
func hexEncode(s string) (string, bool, error) { return hex.EncodeToString([]byte(s)), true, nil }

// base64Encode is standard padded base64; it always reports a change.
func base64Encode(s string) (string, bool, error) {
	return base64.StdEncoding.EncodeToString([]byte(s)), true, nil
}

// uppercase raises the case of every Unicode letter as Go's strings.ToUpper does. changed
// reports a difference between output and input.
func uppercase(s string) (string, bool, error) {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= 0x80 || (b >= 'a' && b <= 'z') {
			out := strings.ToUpper(s)
			return out, out != s, nil
		}
	}
	return s, false, nil
}

// trimLeft removes leading ASCII whitespace (space, \t, \n, \r, \f, \v).
func trimLeft(s string) (string, bool, error) {
	out := strings.TrimLeft(s, " \t\n\r\f\v")
	return out, len(out) != len(s), nil
}

// trimRight removes trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
func trimRight(s string) (string, bool, error) {
	out := strings.TrimRight(s, " \t\n\r\f\v")
	return out, len(out) != len(s), nil
}

// urlEncode writes a space as '+', keeps ASCII letters, digits and '*', and writes every other
// byte as %hh (lowercase). changed reports that a byte was encoded.
func urlEncode(s string) (string, bool, error) {
	const digits = "0123456789abcdef"
	var out []byte
	for i := 0; i < len(s); i++ {
		b := s[i]
		keep := b == '*' || (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')
		if keep && out == nil {
			continue
		}
		if out == nil {
			out = make([]byte, i, len(s)*3)
			copy(out, s[:i])
		}
		switch {
		case keep:
			out = append(out, b)
		case b == ' ':
			out = append(out, '+')
		default:
			out = append(out, '%', digits[b>>4], digits[b&0xf])
		}
	}
	if out == nil {
		return s, false, nil
	}
	return ownedString(out), true, nil
}
