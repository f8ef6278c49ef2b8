package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/kordon-dev/kordon/internal/textmatch"
)

// Parameter is a value a rule's expressions read as params.<name>: a list
// of trusted registries, a threshold. The rule file declares it with a
// default; a user sets another value for a scan (a config file's
// parameters, kordon scan --param) without copying the rule. A parameter's
// type is its declared Type, or the type of its default.
type Parameter struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type is one of ParamTypes; empty means the type of Default (which
	// must then not be an empty list).
	Type ParamType `json:"type,omitempty"`
	// Default is the value used unless one is set; it is required.
	Default json.RawMessage `json:"default"`
}

// ParamType is the type of a parameter, named as CEL names it.
type ParamType string

// Parameter types.
const (
	ParamString     ParamType = "string"
	ParamInt        ParamType = "int"
	ParamBool       ParamType = "bool"
	ParamStringList ParamType = "list(string)"
	ParamIntList    ParamType = "list(int)"
)

// ParamTypes returns every parameter type, in documentation order.
func ParamTypes() []ParamType {
	return []ParamType{ParamString, ParamInt, ParamBool, ParamStringList, ParamIntList}
}

func (t ParamType) celType() *cel.Type {
	switch t {
	case ParamString:
		return cel.StringType
	case ParamInt:
		return cel.IntType
	case ParamBool:
		return cel.BoolType
	case ParamStringList:
		return cel.ListType(cel.StringType)
	case ParamIntList:
		return cel.ListType(cel.IntType)
	}
	return nil
}

// want describes the values of the type, for errors.
func (t ParamType) want() string {
	switch t {
	case ParamString:
		return "a string"
	case ParamInt:
		return "a whole number"
	case ParamBool:
		return "true or false"
	case ParamStringList:
		return "a list of strings"
	case ParamIntList:
		return "a list of whole numbers"
	}
	return string(t)
}

// typeOf infers the type of a JSON value; "" when it has none of
// ParamTypes (or is an empty list, whose element type is unknown).
func typeOf(raw json.RawMessage) ParamType {
	v, err := decodeJSON(raw)
	if err != nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return ParamString
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return ParamInt
		}
	case bool:
		return ParamBool
	case []any:
		if len(v) == 0 {
			return ""
		}
		t := typeOf(mustJSON(v[0]))
		switch t {
		case ParamString:
			return ParamStringList
		case ParamInt:
			return ParamIntList
		}
	}
	return ""
}

func mustJSON(v any) json.RawMessage {
	data, _ := json.Marshal(v)
	return data
}

func decodeJSON(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// EffectiveType returns the parameter's declared type or the type of its
// default.
func (p *Parameter) EffectiveType() ParamType {
	if p.Type != "" {
		return p.Type
	}
	return typeOf(p.Default)
}

// value checks a JSON value against the parameter's type and returns it
// as a CEL literal.
func (p *Parameter) value(raw json.RawMessage) (string, error) {
	t := p.EffectiveType()
	v, err := decodeJSON(raw)
	if err != nil {
		return "", fmt.Errorf("want %s: %w", t.want(), err)
	}
	bad := fmt.Errorf("want %s, got %s", t.want(), describeJSON(v))
	scalar := func(t ParamType, v any) (string, bool) {
		switch t {
		case ParamString:
			s, ok := v.(string)
			return celString(s), ok
		case ParamInt:
			n, ok := v.(json.Number)
			if !ok {
				return "", false
			}
			i, err := n.Int64()
			return strconv.FormatInt(i, 10), err == nil
		case ParamBool:
			b, ok := v.(bool)
			return strconv.FormatBool(b), ok
		}
		return "", false
	}
	switch t {
	case ParamStringList, ParamIntList:
		list, ok := v.([]any)
		if !ok {
			return "", bad
		}
		elem := ParamString
		if t == ParamIntList {
			elem = ParamInt
		}
		parts := make([]string, len(list))
		for i, x := range list {
			lit, ok := scalar(elem, x)
			if !ok {
				return "", fmt.Errorf("[%d]: want %s, got %s", i, elem.want(), describeJSON(x))
			}
			parts[i] = lit
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	default:
		lit, ok := scalar(t, v)
		if !ok {
			return "", bad
		}
		return lit, nil
	}
}

// celString quotes s as a CEL string literal (double-quoted; CEL's escapes
// are a superset of the ones strconv.Quote writes for valid UTF-8).
func celString(s string) string { return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD")) }

func describeJSON(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}

var paramsRef = regexp.MustCompile(`\bparams\b`)

// validateParameters checks the declarations of a rule's parameters.
func (r *Rule) validateParameters() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range r.Parameters {
		where := fmt.Sprintf("parameters[%d]", i)
		if !varPattern.MatchString(p.Name) {
			errs = append(errs, fmt.Errorf("%s: name %q is not a CEL identifier", where, p.Name))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name %q", where, p.Name))
		}
		seen[p.Name] = true
		if p.Type != "" && !slices.Contains(ParamTypes(), p.Type) {
			errs = append(errs, fmt.Errorf("%s (%s): type %q: want one of %s", where, p.Name, p.Type, joinTypes()))
			continue
		}
		if len(p.Default) == 0 {
			errs = append(errs, fmt.Errorf("%s (%s): default is required", where, p.Name))
			continue
		}
		if p.EffectiveType() == "" {
			errs = append(errs, fmt.Errorf("%s (%s): set type (one of %s): the default does not show it", where, p.Name, joinTypes()))
			continue
		}
		if _, err := p.value(p.Default); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): default: %w", where, p.Name, err))
		}
	}
	if r.Native != nil && len(r.Parameters) > 0 {
		errs = append(errs, errors.New("parameters: a native rule has no CEL to read them"))
	}
	return errs
}

func joinTypes() string {
	names := make([]string, 0, len(ParamTypes()))
	for _, t := range ParamTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// Param returns the parameter of the rule with this name.
func (r *Rule) Param(name string) (*Parameter, bool) {
	for i := range r.Parameters {
		if r.Parameters[i].Name == name {
			return &r.Parameters[i], true
		}
	}
	return nil, false
}

// ParamValue returns the value the rule's expressions see for a
// parameter (the set one, else the default) as JSON, and whether it was
// set.
func (r *Rule) ParamValue(name string) (json.RawMessage, bool) {
	if v, ok := r.paramValues[name]; ok {
		return v, true
	}
	if p, ok := r.Param(name); ok {
		return p.Default, false
	}
	return nil, false
}

// ParamSetting sets one parameter of one rule.
type ParamSetting struct {
	// Rule is a rule ID or alias.
	Rule string
	// Name is the parameter's name.
	Name string
	// Value is the JSON value; Text, used when Value is empty, is a value
	// as written on a command line: a string as is, a number, true or
	// false, a list comma-separated (or as a JSON list).
	Value json.RawMessage
	Text  string
	// Source names where the setting comes from, for errors:
	// ".kordon.yaml:12: parameters.KOR-IMG-003.trustedRegistries" or
	// "--param KOR-IMG-003.trustedRegistries".
	Source string
}

// ParamError is a parameter setting a rule does not accept.
type ParamError struct {
	Setting ParamSetting
	Message string
}

func (e *ParamError) Error() string {
	if e.Setting.Source == "" {
		return fmt.Sprintf("rule %s parameter %s: %s", e.Setting.Rule, e.Setting.Name, e.Message)
	}
	return e.Setting.Source + ": " + e.Message
}

// SetParams returns rules with the parameter settings applied, later
// settings winning over earlier ones: a rule that a setting changes is
// replaced by a copy, the others are returned as they are. Settings that
// name no rule, no parameter of the rule, or a value of the wrong type are
// errors (*ParamError, joined), each naming its source.
func SetParams(rules []*Rule, settings []ParamSetting) ([]*Rule, error) {
	if len(settings) == 0 {
		return rules, nil
	}
	index := map[string]int{}
	var ids []string
	for i, r := range rules {
		for _, id := range r.IDs() {
			index[id] = i
			ids = append(ids, id)
		}
	}
	out := slices.Clone(rules)
	copied := map[int]bool{}
	var errs []error
	for _, s := range settings {
		fail := func(format string, args ...any) {
			errs = append(errs, &ParamError{Setting: s, Message: fmt.Sprintf(format, args...)})
		}
		i, ok := index[strings.ToUpper(s.Rule)]
		if !ok {
			msg := fmt.Sprintf("no rule %s", s.Rule)
			if c := textmatch.Closest(s.Rule, ids); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			fail("%s", msg)
			continue
		}
		r := out[i]
		p, ok := r.Param(s.Name)
		if !ok {
			names := make([]string, len(r.Parameters))
			for j, p := range r.Parameters {
				names[j] = p.Name
			}
			switch c := textmatch.Closest(s.Name, names); {
			case len(names) == 0:
				fail("rule %s has no parameters", r.ID)
			case c != "":
				fail("rule %s has no parameter %q (did you mean %s?)", r.ID, s.Name, c)
			default:
				fail("rule %s has no parameter %q; it has %s", r.ID, s.Name, strings.Join(names, ", "))
			}
			continue
		}
		raw := s.Value
		if len(raw) == 0 {
			var err error
			if raw, err = p.EffectiveType().parseText(s.Text); err != nil {
				fail("rule %s parameter %s: %v", r.ID, s.Name, err)
				continue
			}
		}
		if _, err := p.value(raw); err != nil {
			fail("rule %s parameter %s: %v", r.ID, s.Name, err)
			continue
		}
		if !copied[i] {
			c := *r
			c.paramValues = maps.Clone(r.paramValues)
			if c.paramValues == nil {
				c.paramValues = map[string]json.RawMessage{}
			}
			out[i], copied[i] = &c, true
			r = &c
		}
		r.paramValues[p.Name] = raw
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// parseText reads a value written on a command line as JSON of type t.
func (t ParamType) parseText(s string) (json.RawMessage, error) {
	switch t {
	case ParamString:
		return mustJSON(s), nil
	case ParamInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want a whole number, got %q", s)
		}
		return mustJSON(n), nil
	case ParamBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", s)
		}
		return mustJSON(b), nil
	case ParamStringList, ParamIntList:
		if strings.HasPrefix(strings.TrimSpace(s), "[") {
			return json.RawMessage(s), nil
		}
		var items []any
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if t == ParamStringList {
				items = append(items, part)
				continue
			}
			n, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("want a comma-separated list of whole numbers, got %q", part)
			}
			items = append(items, n)
		}
		if items == nil {
			items = []any{}
		}
		return mustJSON(items), nil
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

// ParseParamFlag reads RULE-ID.name=value, the form of kordon scan
// --param, into a setting.
func ParseParamFlag(s string) (ParamSetting, error) {
	key, value, ok := strings.Cut(s, "=")
	dot := strings.LastIndex(key, ".")
	if !ok || dot <= 0 || dot == len(key)-1 {
		return ParamSetting{}, fmt.Errorf("--param %q: want RULE-ID.name=value, such as KOR-IMG-003.trustedRegistries=registry.example.com/", s)
	}
	rule, name := strings.TrimSpace(key[:dot]), strings.TrimSpace(key[dot+1:])
	return ParamSetting{Rule: rule, Name: name, Text: value, Source: "--param " + rule + "." + name}, nil
}

// Inlined returns the rule with the values of its parameters (the set
// ones, else the defaults) written into its expressions as literals, so
// that they no longer read params: what the rule compiles to, and what an
// exported ValidatingAdmissionPolicy says. A rule without parameters is
// returned as it is. Expressions are type-checked with each parameter
// declared at its type; errors name the rule and the expression.
func Inlined(r *Rule) (*Rule, error) {
	if len(r.Parameters) == 0 {
		return r, nil
	}
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	return inline(env, r)
}

// inline is Inlined in the rule environment env.
func inline(env *cel.Env, r *Rule) (*Rule, error) {
	wrap := func(what string, err error) error {
		return fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.Where(), what, err)
	}
	opts := []cel.EnvOption{cel.EnableMacroCallTracking()}
	for _, p := range r.Parameters {
		opts = append(opts, cel.Variable("params."+p.Name, p.EffectiveType().celType()))
	}
	penv, err := env.Extend(opts...)
	if err != nil {
		return nil, wrap("parameters", err)
	}
	var inlines []*cel.InlineVariable
	for _, p := range slices.Sorted(maps.Keys(paramNames(r))) {
		pp, _ := r.Param(p)
		raw, _ := r.ParamValue(p)
		lit, err := pp.value(raw)
		if err != nil {
			return nil, wrap("parameters."+p, err)
		}
		a, iss := penv.Compile(lit)
		if iss.Err() != nil {
			return nil, wrap("parameters."+p, iss.Err())
		}
		inlines = append(inlines, cel.NewInlineVariable("params."+p, a))
	}
	opt, err := cel.NewStaticOptimizer(cel.NewInliningOptimizer(inlines...))
	if err != nil {
		return nil, wrap("parameters", err)
	}
	rewrite := func(what, expr string) (string, error) {
		if expr == "" || !paramsRef.MatchString(expr) {
			return expr, nil
		}
		a, iss := penv.Compile(expr)
		if iss.Err() != nil {
			return "", wrap(what, iss.Err())
		}
		o, iss := opt.Optimize(penv, a)
		if iss.Err() != nil {
			return "", wrap(what, iss.Err())
		}
		s, err := cel.AstToString(o)
		if err != nil {
			return "", wrap(what, err)
		}
		return s, nil
	}
	c := *r
	c.Parameters, c.paramValues = nil, nil
	c.Variables = slices.Clone(r.Variables)
	c.Validations = slices.Clone(r.Validations)
	for i := range c.Variables {
		if c.Variables[i].Expression, err = rewrite(fmt.Sprintf("variables[%d] (%s)", i, c.Variables[i].Name), c.Variables[i].Expression); err != nil {
			return nil, err
		}
	}
	for i := range c.Validations {
		v := &c.Validations[i]
		if v.Expression, err = rewrite(fmt.Sprintf("validations[%d].expression", i), v.Expression); err != nil {
			return nil, err
		}
		if v.MessageExpression, err = rewrite(fmt.Sprintf("validations[%d].messageExpression", i), v.MessageExpression); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func paramNames(r *Rule) map[string]bool {
	out := map[string]bool{}
	for _, p := range r.Parameters {
		out[p.Name] = true
	}
	return out
}
