package apilearn

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// valueKind is what a parameter value or a JSON string looks like.
type valueKind uint8

const (
	kindInteger valueKind = iota
	kindNumber
	kindBoolean
	kindUUID
	kindDate
	kindDateTime
	kindString
	numKinds
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// classify says what a text value looks like, the most specific kind
// first.
func classify(s string) valueKind {
	if s == "" {
		return kindString
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return kindInteger
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXnN") {
		return kindNumber
	}
	if s == "true" || s == "false" {
		return kindBoolean
	}
	if uuidPattern.MatchString(s) {
		return kindUUID
	}
	if len(s) == 10 {
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return kindDate
		}
	}
	if len(s) >= 20 {
		if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return kindDateTime
		}
	}
	return kindString
}

// looksLikeID reports whether a path segment is an identifier rather than
// a name of the API: a number, a UUID, a long hexadecimal string or a long
// token mixing digits and letters.
func looksLikeID(seg string) bool {
	switch classify(seg) {
	case kindInteger, kindUUID, kindDate, kindDateTime:
		return true
	}
	if len(seg) < 8 {
		return false
	}
	var digits, letters, other int
	hex := true
	for _, c := range seg {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
			hex = false
		case c == '-' || c == '_':
			other++
			hex = false
		default:
			return false
		}
	}
	if hex && digits > 0 {
		return true
	}
	// Tokens (base64url, ULIDs, slugs with a numeric suffix are not
	// tokens: they have few digits).
	return len(seg) >= 16 && digits >= 3 && letters >= 3
}

// maxDistinct is how many distinct values of one parameter are kept to
// infer an enumeration.
const maxDistinct = 8

// valueStats summarises the values seen in one place.
type valueStats struct {
	count    int
	kinds    [numKinds]int
	distinct map[string]int // nil once more than maxDistinct values were seen
	overflow bool
	maxLen   int
}

func (v *valueStats) add(s string) {
	v.count++
	v.kinds[classify(s)]++
	v.maxLen = max(v.maxLen, len(s))
	if v.overflow {
		return
	}
	if v.distinct == nil {
		v.distinct = map[string]int{}
	}
	v.distinct[s]++
	if len(v.distinct) > maxDistinct {
		v.distinct, v.overflow = nil, true
	}
}

func (v *valueStats) merge(o *valueStats) {
	v.count += o.count
	for i := range v.kinds {
		v.kinds[i] += o.kinds[i]
	}
	v.maxLen = max(v.maxLen, o.maxLen)
	if v.overflow || o.overflow {
		v.distinct, v.overflow = nil, true
		return
	}
	for s, n := range o.distinct {
		if v.distinct == nil {
			v.distinct = map[string]int{}
		}
		v.distinct[s] += n
	}
	if len(v.distinct) > maxDistinct {
		v.distinct, v.overflow = nil, true
	}
}

// only reports whether every value seen is of kind k, or of kinds k
// generalises (an integer is a number).
func (v *valueStats) only(k valueKind) bool {
	n := v.kinds[k]
	if k == kindNumber {
		n += v.kinds[kindInteger]
	}
	return v.count > 0 && n == v.count
}
