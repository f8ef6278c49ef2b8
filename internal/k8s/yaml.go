package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// yamlError is a problem with one YAML document: a syntax error, a
// duplicate key, a value that has no JSON form. Its message is for the user
// and names file lines, not document lines.
type yamlError struct {
	line int // file line of the problem; 0 when unknown
	msg  string
}

func (e *yamlError) Error() string { return e.msg }

// decodeYAML decodes one YAML document into JSON-compatible values exactly
// as the API server reads a YAML body under strict field validation:
// sigs.k8s.io/yaml's YAML-to-JSON conversion (YAMLToJSONStrict, so
// duplicate keys are errors), then apimachinery's JSON decoding
// (sigs.k8s.io/json: whole numbers stay int64, and its strict check
// rejects duplicate fields), without the JSON round trip. So YAML 1.1
// scalars (yes/no/on/off are booleans, 0400 is octal), non-string map keys
// become strings, each byte of a string that is not UTF-8 (only !!binary
// makes those) becomes U+FFFD as encoding/json writes it, and objects and
// lists nest at most 10,000 deep. Map entries whose value is null are
// dropped, as in Normalize.
//
// One case is stricter than the reference, which is not deterministic
// there: keys that become the same JSON string (1 and 1.0, 8 and 08, true
// and "true") are an error unless their values are equal, because
// sigs.k8s.io/yaml keeps one of them at random (it ranges over a Go map).
//
// firstLine is the file line of text's first line: errors are *yamlError
// naming file lines. yaml_test.go checks the equivalence with the reference.
func decodeYAML(text []byte, firstLine int) (any, error) {
	var raw any
	if err := yamlv2.UnmarshalStrict(text, &raw); err != nil {
		return nil, parseError(text, firstLine, err)
	}
	// Only a !!binary scalar gives text that is not UTF-8 (yaml.v2 checks
	// its input), and a tag starts with "!".
	c := converter{checkUTF8: bytes.IndexByte(text, '!') >= 0}
	v, err := c.value(raw, 0)
	if err != nil {
		// Rare: find the first problem in document order, with its line.
		return nil, conversionError(text, firstLine, raw, err)
	}
	return v, nil
}

// maxJSONDepth is how deep the API server's JSON decoder (sigs.k8s.io/json,
// like encoding/json) lets objects and arrays nest. Aliases let a YAML
// document nest deeper than yaml.v2's own limit.
const maxJSONDepth = 10000

var errTooDeep = fmt.Errorf("objects and lists nest more than %d levels deep, which the API server's JSON decoder refuses", maxJSONDepth)

// converter turns what yaml.v2 decodes into the values the JSON round trip
// gives. Its errors name no line; conversionError places them.
type converter struct {
	// checkUTF8 is false when no string can hold bytes that are not UTF-8.
	checkUTF8 bool
}

// fromYAML converts v as converter does, checking every string.
func fromYAML(v any, depth int) (any, error) {
	return converter{checkUTF8: true}.value(v, depth)
}

// value converts v; depth is the number of maps and lists v is in.
func (c converter) value(v any, depth int) (any, error) {
	switch t := v.(type) {
	case string:
		if c.checkUTF8 && !utf8.ValidString(t) {
			return jsonString(t), nil
		}
		return v, nil
	case map[any]any:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		return c.mapping(t, depth+1)
	case []any:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		out := make([]any, len(t))
		for i, e := range t {
			val, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	case nil, bool:
		return v, nil
	case int:
		return int64(t), nil
	case int64:
		return t, nil
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t), nil
		}
		return float64(t), nil
	case float64:
		return jsonFloat(t)
	case time.Time:
		// encoding/json writes a time as RFC 3339 text.
		b, err := t.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return s, nil
	default:
		// Anything else takes the JSON round trip, so that it decodes as
		// it would have through JSON.
		data, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		return decodeJSON(data)
	}
}

// mapping converts a map; entries whose value is null are left out.
func (c converter) mapping(t map[any]any, depth int) (any, error) {
	m := make(map[string]any, len(t))
	var nullKeys [8]string // keys of null entries, to check for collisions
	nulls := 0
	for k, e := range t {
		key, err := yamlKey(k)
		if err != nil {
			return nil, mapError(t, depth)
		}
		if c.checkUTF8 {
			key = jsonString(key)
		}
		if e == nil {
			if nulls < len(nullKeys) {
				nullKeys[nulls] = key
			}
			nulls++
			continue
		}
		val, err := c.value(e, depth)
		if err != nil {
			return nil, mapError(t, depth)
		}
		m[key] = val
	}
	if len(m)+nulls < len(t) || nulls > 0 && nullsCollide(m, nullKeys[:min(nulls, len(nullKeys))], nulls) {
		// Two keys became the same JSON string.
		return fromCollidingYAMLMap(t, depth)
	}
	return m, nil
}

// nullsCollide reports whether a key of a null entry is also the key of
// another entry (or when there are too many to tell).
func nullsCollide(m map[string]any, keys []string, n int) bool {
	if n > len(keys) {
		return true
	}
	for i, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
		for _, prev := range keys[:i] {
			if prev == k {
				return true
			}
		}
	}
	return false
}

// fromCollidingYAMLMap converts a map in which some keys become the same
// JSON string. sigs.k8s.io/yaml converts the keys of a Go map, so the last
// one it writes, at random, wins: that is deterministic only when the
// values are equal. Strings that differ only in bytes that are not UTF-8
// become the same JSON string later, when encoding/json writes them: the
// JSON then holds a duplicate field, which strict decoding rejects.
func fromCollidingYAMLMap(t map[any]any, depth int) (any, error) {
	type converted struct {
		raw string // the string sigs.k8s.io/yaml makes of the key
		val any
	}
	byJSON := make(map[string]converted, len(t))
	for k, e := range t {
		raw, err := yamlKey(k)
		if err != nil {
			return nil, mapError(t, depth)
		}
		val, err := fromYAML(e, depth)
		if err != nil {
			return nil, mapError(t, depth)
		}
		key := jsonString(raw)
		prev, dup := byJSON[key]
		if dup && (prev.raw != raw || !reflect.DeepEqual(prev.val, val)) {
			return nil, mapError(t, depth)
		}
		byJSON[key] = converted{raw, val}
	}
	m := make(map[string]any, len(byJSON))
	for k, c := range byJSON {
		if c.val != nil {
			m[k] = c.val
		}
	}
	return m, nil
}

// mapError returns a problem of a map fromYAML cannot convert, the same
// whatever the map's order: of all its problems, the one whose message
// sorts first. (conversionError then looks for the first problem in the
// document, with its line.)
func mapError(t map[any]any, depth int) error {
	var first error
	note := func(err error) {
		if first == nil || err.Error() < first.Error() {
			first = err
		}
	}
	type converted struct {
		key any
		raw string
		val any
	}
	byJSON := make(map[string][]converted, len(t))
	for k, e := range t {
		raw, err := yamlKey(k)
		if err != nil {
			note(err)
			continue
		}
		val, err := fromYAML(e, depth)
		if err != nil {
			note(err)
			continue
		}
		key := jsonString(raw)
		byJSON[key] = append(byJSON[key], converted{k, raw, val})
	}
	for key, cs := range byJSON {
		for i, a := range cs {
			for _, b := range cs[i+1:] {
				x, y := a, b
				if yamlText(y.key) < yamlText(x.key) {
					x, y = y, x
				}
				switch {
				case x.raw != y.raw:
					note(&duplicateFieldError{key: key, raws: [2]string{x.raw, y.raw}})
				case !reflect.DeepEqual(x.val, y.val):
					note(&ambiguousKeyError{key: key, keys: [2]any{x.key, y.key}})
				}
			}
		}
	}
	return first
}

// ambiguousKeyError: two YAML keys become the same JSON string with
// different values, and the reference keeps one of them at random.
type ambiguousKeyError struct {
	key  string
	keys [2]any
}

func (e *ambiguousKeyError) Error() string {
	return fmt.Sprintf("key %s and key %s are the same JSON key %q, with different values, and Kubernetes would keep either one",
		yamlText(e.keys[0]), yamlText(e.keys[1]), e.key)
}

// duplicateFieldError: two YAML string keys differ only in bytes that are
// not UTF-8 and so become the same JSON string.
type duplicateFieldError struct {
	key  string
	raws [2]string
}

func (e *duplicateFieldError) Error() string {
	return fmt.Sprintf("duplicate field %+q: key %+q and key %+q differ only in bytes that are not UTF-8, and are the same JSON key",
		e.key, e.raws[0], e.raws[1])
}

// jsonFloat gives what a float becomes after encoding/json writes it and
// a number-preserving decode reads it back: an int64 when it is written as
// an integer that fits, a float64 otherwise; NaN and infinities have no
// JSON form.
func jsonFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &nonJSONNumberError{f}
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		// encoding/json writes the shortest digits that read back as f.
		if i, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
			return i, nil
		}
	}
	return f, nil
}

type nonJSONNumberError struct{ f float64 }

func (e *nonJSONNumberError) Error() string {
	return fmt.Sprintf("%s has no JSON form (quote it to make it a string)", yamlText(e.f))
}

// yamlKey turns a YAML map key into the string sigs.k8s.io/yaml makes of
// it. The string may hold bytes that are not UTF-8 (a !!binary key).
func yamlKey(k any) (string, error) {
	switch t := k.(type) {
	case string:
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case float64:
		// sigs.k8s.io/yaml formats a float key as a float32.
		s := strconv.FormatFloat(t, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, nil
	case bool:
		return strconv.FormatBool(t), nil
	default:
		return "", &keyTypeError{k}
	}
}

// keyTypeError: a map key sigs.k8s.io/yaml cannot turn into a string
// (null, an integer above the int64 range, a !!timestamp).
type keyTypeError struct{ key any }

func (e *keyTypeError) Error() string {
	return fmt.Sprintf("map key %s cannot be a JSON key", yamlText(e.key))
}

// yamlText shows a decoded YAML scalar as YAML would write it.
func yamlText(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case float64:
		switch {
		case math.IsNaN(t):
			return ".nan"
		case math.IsInf(t, 1):
			return ".inf"
		case math.IsInf(t, -1):
			return "-.inf"
		}
		s := strconv.FormatFloat(t, 'g', -1, 64)
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			s += ".0"
		}
		return s
	case time.Time:
		return t.Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(t)
	}
}

// jsonString returns s as encoding/json writes it: every byte that is not
// part of a valid UTF-8 sequence becomes U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
