package emit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Name returns name when it is a valid object name — a DNS-1123
// subdomain: at most 253 characters, lower-case letters, digits, '-' and
// '.', each dot-separated part starting and ending with a letter or digit
// — and otherwise a valid name derived from it: lower-cased, other
// characters replaced by '-', cut to fit, followed by '-' and 8 hex digits
// of the SHA-256 of name, so that different names stay different.
func Name(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	return derive(name, validation.DNS1123SubdomainMaxLength)
}

// LabelValue returns s when it is a valid label value (at most 63
// characters: letters, digits, '-', '_' and '.', starting and ending with
// a letter or digit, or empty), and otherwise a valid value derived from it
// as Name derives names.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	return derive(s, validation.LabelValueMaxLength)
}

// derive makes a DNS-1123 subdomain of at most max characters from s,
// ending in a hash of s.
func derive(s string, max int) string {
	sum := sha256.Sum256([]byte(s))
	hash := hex.EncodeToString(sum[:4])
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	base := b.String()
	base = base[:min(len(base), max-len(hash)-1)]
	var parts []string
	for _, p := range strings.Split(base, ".") {
		if p = strings.Trim(p, "-"); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return hash
	}
	return strings.Join(parts, ".") + "-" + hash
}

// nameProblem says why name is not a valid object name.
func nameProblem(name string) string {
	if len(name) > validation.DNS1123SubdomainMaxLength {
		return fmt.Sprintf("names are at most %d characters, it has %d", validation.DNS1123SubdomainMaxLength, len(name))
	}
	if name == "" {
		return "it has no name"
	}
	return fmt.Sprintf("%q is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')", name)
}
