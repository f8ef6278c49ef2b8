package waf

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxShown is how many bytes of a matched value an event shows.
const maxShown = 64

// sensitive are parts of argument, header and cookie names whose values
// are never shown.
var sensitive = []string{"pass", "pwd", "secret", "token", "auth", "cookie", "session", "key", "credential", "otp", "pin", "card", "cvv", "ssn"}

// Redact returns what an event may show of a matched value: nothing but
// its length when the variable's name looks like a credential (password,
// token, cookie, authorization, ...), else at most 64 bytes of it with
// control characters and invalid UTF-8 escaped, and the length of what
// was cut.
func Redact(name, value string) string {
	lname := strings.ToLower(name)
	for _, s := range sensitive {
		if strings.Contains(lname, s) {
			return "[redacted " + strconv.Itoa(len(value)) + " bytes]"
		}
	}
	shown := value
	if len(shown) > maxShown {
		shown = shown[:maxShown]
		for len(shown) > 0 && !utf8.ValidString(shown) && len(value)-len(shown) < utf8.UTFMax {
			shown = shown[:len(shown)-1]
		}
	}
	q := strconv.Quote(shown)
	q = q[1 : len(q)-1]
	if len(shown) < len(value) {
		q += "…[+" + strconv.Itoa(len(value)-len(shown)) + " bytes]"
	}
	return q
}
