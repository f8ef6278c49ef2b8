package apilearn

import (
	"encoding/json"
	"slices"
	"strings"
)

// JSON types as shape counts them.
const (
	jsonObject = iota
	jsonArray
	jsonString
	jsonInteger
	jsonNumber
	jsonBoolean
	jsonNull
	numJSONTypes
)

var jsonTypeNames = [numJSONTypes]string{"object", "array", "string", "integer", "number", "boolean", "null"}

// Limits of a shape: properties per object and nesting depth. Beyond them
// an object is left open (additionalProperties) and a deeper value is not
// described.
const (
	maxProps = 256
	maxDepth = 32
)

// shape summarises the JSON values seen at one place of the bodies of an
// operation.
type shape struct {
	count   int
	types   [numJSONTypes]int
	props   map[string]*shape
	open    bool // more than maxProps properties, or deeper than maxDepth
	items   *shape
	strings valueStats
}

// add records one value (decoded with json.Decoder.UseNumber).
func (s *shape) add(v any, depth int) {
	s.count++
	if depth > maxDepth {
		s.open = true
		return
	}
	switch t := v.(type) {
	case nil:
		s.types[jsonNull]++
	case bool:
		s.types[jsonBoolean]++
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			s.types[jsonNumber]++
		} else {
			s.types[jsonInteger]++
		}
	case string:
		s.types[jsonString]++
		s.strings.add(t)
	case []any:
		s.types[jsonArray]++
		if s.items == nil {
			s.items = &shape{}
		}
		for _, e := range t {
			s.items.add(e, depth+1)
		}
	case map[string]any:
		s.types[jsonObject]++
		if s.props == nil {
			s.props = map[string]*shape{}
		}
		for k, e := range t {
			p, ok := s.props[k]
			if !ok {
				if len(s.props) >= maxProps {
					s.open = true
					continue
				}
				p = &shape{}
				s.props[k] = p
			}
			p.add(e, depth+1)
		}
	}
}

func (s *shape) merge(o *shape) {
	s.count += o.count
	for i := range s.types {
		s.types[i] += o.types[i]
	}
	s.open = s.open || o.open
	s.strings.merge(&o.strings)
	if o.items != nil {
		if s.items == nil {
			s.items = &shape{}
		}
		s.items.merge(o.items)
	}
	for k, p := range o.props {
		if s.props == nil {
			s.props = map[string]*shape{}
		}
		if q, ok := s.props[k]; ok {
			q.merge(p)
		} else if len(s.props) < maxProps {
			s.props[k] = p
		} else {
			s.open = true
		}
	}
}

// schema describes the values as a JSON Schema (OpenAPI 3.1): the types
// seen, closed objects whose properties seen in every object are
// required, and for strings the formats, enumerations and lengths rules of
// stringSchema. name is the property's name (for the enumeration rule).
func (s *shape) schema(name string) omap {
	var m omap
	var types []string
	for i, n := range s.types {
		if n == 0 || i == jsonInteger && s.types[jsonNumber] > 0 {
			continue
		}
		types = append(types, jsonTypeNames[i])
	}
	switch len(types) {
	case 0:
		return m // only values deeper than the limit: anything
	case 1:
		m.set("type", types[0])
	default:
		m.set("type", types)
	}
	if s.types[jsonObject] > 0 {
		keys := make([]string, 0, len(s.props))
		for k := range s.props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var props omap
		var required []string
		for _, k := range keys {
			props.set(k, s.props[k].schema(k))
			if s.props[k].count == s.types[jsonObject] {
				required = append(required, k)
			}
		}
		if len(props) > 0 {
			m.set("properties", props)
		}
		if len(required) > 0 {
			m.set("required", required)
		}
		if !s.open {
			m.set("additionalProperties", false)
		}
	}
	if s.types[jsonArray] > 0 && s.items != nil && s.items.count > 0 {
		m.set("items", s.items.schema(""))
	}
	if s.types[jsonString] > 0 {
		// An enumeration would constrain the other types too.
		onlyStrings := len(types) == 1
		m = append(m, stringRules(&s.strings, name, onlyStrings)...)
	}
	return m
}

// stringRules are the schema keywords for strings with these statistics:
// a format when every value has it; an enumeration when few distinct
// values were each seen several times and enumOK (never for names that
// suggest a secret); otherwise a maxLength of twice the longest value
// seen, at least 64, so that long injected strings stand out.
func stringRules(v *valueStats, name string, enumOK bool) omap {
	var m omap
	switch {
	case v.only(kindUUID):
		m.set("format", "uuid")
		return m
	case v.only(kindDateTime):
		m.set("format", "date-time")
		return m
	case v.only(kindDate):
		m.set("format", "date")
		return m
	}
	if enumOK && !v.overflow && len(v.distinct) > 0 && len(v.distinct) <= 5 && v.count >= 4*len(v.distinct) && !sensitive(name) {
		values := make([]string, 0, len(v.distinct))
		for s := range v.distinct {
			values = append(values, s)
		}
		slices.Sort(values)
		m.set("enum", values)
		return m
	}
	m.set("maxLength", max(64, 2*v.maxLen))
	return m
}

// sensitive reports whether a field or parameter name suggests a secret,
// whose values must not be written into the draft.
func sensitive(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "secret", "token", "key", "auth", "session", "cookie", "credential", "signature", "sig", "otp", "pin", "ssn", "card"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
