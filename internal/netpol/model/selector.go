package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Operator is a label selector requirement operator.
type Operator string

// The operators of metav1.LabelSelectorRequirement.
const (
	OpIn           Operator = "In"
	OpNotIn        Operator = "NotIn"
	OpExists       Operator = "Exists"
	OpDoesNotExist Operator = "DoesNotExist"
)

// Requirement is one matchExpressions entry.
type Requirement struct {
	Key      string
	Operator Operator
	Values   []string
}

// Selector is a label selector: every matchLabels pair and every
// requirement must hold. The empty selector matches everything.
type Selector struct {
	MatchLabels      map[string]string
	MatchExpressions []Requirement
}

// Matches reports whether the labels satisfy the selector.
func (s *Selector) Matches(labels map[string]string) bool {
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		if !r.Matches(labels) {
			return false
		}
	}
	return true
}

// Matches reports whether the labels satisfy the requirement. NotIn holds
// when the key is absent.
func (r *Requirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case OpIn:
		return ok && slices.Contains(r.Values, v)
	case OpNotIn:
		return !ok || !slices.Contains(r.Values, v)
	case OpExists:
		return ok
	case OpDoesNotExist:
		return !ok
	}
	return false
}

// IsEmpty reports whether the selector has no terms and so matches
// everything.
func (s *Selector) IsEmpty() bool {
	return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// Validate returns an error when the API server would reject the selector.
func (s *Selector) Validate() error {
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case OpIn, OpNotIn:
			if len(r.Values) == 0 {
				return fmt.Errorf("matchExpressions key %q: operator %s needs values", r.Key, r.Operator)
			}
		case OpExists, OpDoesNotExist:
			if len(r.Values) != 0 {
				return fmt.Errorf("matchExpressions key %q: operator %s takes no values", r.Key, r.Operator)
			}
		default:
			return fmt.Errorf("matchExpressions key %q: unknown operator %q", r.Key, r.Operator)
		}
	}
	return nil
}

// String writes the selector in kubectl's label-selector syntax
// ("app=web,tier in (a,b),!debug"); the empty selector is "{}".
func (s *Selector) String() string {
	if s.IsEmpty() {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case OpIn:
			parts = append(parts, r.Key+" in ("+strings.Join(r.Values, ",")+")")
		case OpNotIn:
			parts = append(parts, r.Key+" notin ("+strings.Join(r.Values, ",")+")")
		case OpExists:
			parts = append(parts, r.Key)
		case OpDoesNotExist:
			parts = append(parts, "!"+r.Key)
		}
	}
	return strings.Join(parts, ",")
}
