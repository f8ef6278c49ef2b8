package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/strictyaml"
)

// Problem is one configuration problem, or a warning, at a position of the
// file: file:line: field: message.
type Problem = strictyaml.Problem

// Error lists every problem of a configuration, one per line.
type Error = strictyaml.Error

// Load reads and validates a configuration file. Problems (an *Error) and
// warnings name the file, the line and the field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admission config: %w", err)
	}
	return parse(path, data)
}

// Parse decodes and validates a configuration. Unknown fields, values of
// the wrong type and invalid settings are reported together, as an *Error
// whose problems carry their line and field path.
func Parse(data []byte) (*Config, error) { return parse("", data) }

func parse(file string, data []byte) (*Config, error) {
	pos, problems := strictyaml.Check(data, reflect.TypeFor[Config]())
	c := &Config{}
	if err := yaml.Unmarshal(data, c); err != nil && len(problems) == 0 {
		// The check knows every field and type; anything else the decoder
		// refuses is reported as it says.
		problems = append(problems, Problem{Message: err.Error()})
	} else if err == nil {
		v := &validator{}
		c.validate(v)
		problems = append(problems, v.problems...)
		c.Warnings = v.warnings
	}
	strictyaml.Locate(file, pos, c.Warnings)
	if len(problems) > 0 {
		strictyaml.Locate(file, pos, problems)
		return nil, &Error{Problems: problems}
	}
	for _, rule := range slices.Sorted(maps.Keys(c.Parameters)) {
		for _, name := range slices.Sorted(maps.Keys(c.Parameters[rule])) {
			field := "parameters." + rule + "." + name
			c.Params = append(c.Params, rules.ParamSetting{Rule: rule, Name: name, Value: c.Parameters[rule][name],
				Source: strings.TrimSuffix(Problem{File: file, Line: pos.Line(field), Field: field, Message: "-"}.String(), ": -")})
		}
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = DefaultTimeout
	}
	return c, nil
}
