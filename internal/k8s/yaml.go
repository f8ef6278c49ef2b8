package k8s

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	yamlv2 "go.yaml.in/yaml/v2"
)

// yamlError is a YAML syntax or structure error (it carries a document
// line), as opposed to a value that has no JSON form.
type yamlError struct{ err error }

func (e *yamlError) Error() string { return e.err.Error() }

// decodeYAML decodes one YAML document into JSON-compatible values, exactly
// as kubectl reads it (sigs.k8s.io/yaml's YAML-to-JSON conversion followed
// by a JSON decode that keeps whole numbers as int64) but without the JSON
// round trip: YAML 1.1 scalars (yes/no/on/off are booleans), duplicate keys
// are errors, non-string map keys become strings. Map entries whose value is
// null are dropped, as in Normalize. decode_test.go checks the equivalence.
func decodeYAML(text []byte) (any, error) {
	var raw any
	if err := yamlv2.UnmarshalStrict(text, &raw); err != nil {
		return nil, &yamlError{err}
	}
	return fromYAML(raw)
}

func fromYAML(v any) (any, error) {
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			key, err := yamlKey(k, e)
			if err != nil {
				return nil, err
			}
			if e == nil {
				continue
			}
			val, err := fromYAML(e)
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		return m, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			val, err := fromYAML(e)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
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
		return t.Format(time.RFC3339Nano), nil
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

// jsonFloat gives what a float becomes after encoding/json writes it and
// a number-preserving decode reads it back: an int64 when it is written as
// an integer that fits, a float64 otherwise; NaN and infinities have no
// JSON form.
func jsonFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		// encoding/json writes the shortest digits that read back as f.
		if i, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
			return i, nil
		}
	}
	return f, nil
}

// yamlKey turns a YAML map key into the string JSON uses.
func yamlKey(k, v any) (string, error) {
	switch t := k.(type) {
	case string:
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case float64:
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
		return "", &yamlError{fmt.Errorf("unsupported map key of type %T: %v", k, k)}
	}
}
