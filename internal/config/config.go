package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/strictyaml"
)

// The version and kind a configuration file declares.
const (
	APIVersion = "kordon.dev/v1alpha1"
	Kind       = "Config"
)

// MaxSize is the largest configuration file read. A repository's
// configuration is untrusted input; real ones are a few kilobytes.
const MaxSize = 1 << 20

// fileSpec is the configuration file as written.
type fileSpec struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Defaults are flag values for every command that has the flag.
	Defaults map[string]json.RawMessage `json:"defaults,omitempty"`
	// Commands are flag values for one command, by its name without
	// kordon: scan, netpol lint, rules export.
	Commands map[string]map[string]json.RawMessage `json:"commands,omitempty"`
	// Exceptions are written as in an exceptions file.
	Exceptions []finding.Exception `json:"exceptions,omitempty"`
	// ExceptionFiles are exceptions files, relative to the configuration
	// file's folder.
	ExceptionFiles []string `json:"exceptionFiles,omitempty"`
	// Parameters are rule parameter values by rule ID (or alias) and
	// parameter name.
	Parameters map[string]map[string]json.RawMessage `json:"parameters,omitempty"`
}

// Config is a checked configuration file.
type Config struct {
	// File is the file's path as found or given.
	File string
	// Flags are the flag values, defaults first, in the order of the file.
	Flags []Flag
	// Exceptions are the inline exceptions, each with its file:line as
	// Source.
	Exceptions []finding.Exception
	// ExceptionFiles are the exceptions files, relative to the current
	// directory (or absolute).
	ExceptionFiles []string
	// Params are the rule parameter settings, in the order of the file.
	Params []rules.ParamSetting
}

// Dir is the folder of the configuration file, against which relative
// paths in it are resolved.
func (c *Config) Dir() string { return filepath.Dir(c.File) }

// Flag is one flag value of the configuration.
type Flag struct {
	// Command is the command's name without kordon ("scan", "netpol
	// lint"); "" for a value of defaults, which applies to every command
	// that has the flag.
	Command string
	// Name is the flag's long name without dashes.
	Name string
	// Values are the value as written (one for a scalar).
	Values []string
	// List is true when the value was written as a YAML list.
	List bool
	// Field and Line locate the value: commands.scan.fail-on.
	Field string
	Line  int
	// file is the configuration file, for Where.
	file string
}

// Where names the value's position: .kordon.yaml:7: commands.scan.fail-on.
func (f Flag) Where() string { return where(f.file, f.Line, f.Field) }

// where formats a position as file:line: field.
func where(file string, line int, field string) string {
	return strings.TrimSuffix(strictyaml.Problem{File: file, Line: line, Field: field, Message: "-"}.String(), ": -")
}

// Value joins the values as a flag given on the command line would write
// them: one value, or several separated by commas.
func (f Flag) Value() string { return strings.Join(f.Values, ",") }

// Load reads and checks a configuration file: at most MaxSize, one YAML
// document. Problems are an *strictyaml.Error naming file, line and field.
func Load(path string) (*Config, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, MaxSize)
	}
	return Parse(path, data)
}

// Parse checks a configuration read from file (its name is used in
// problems and to resolve relative paths).
func Parse(file string, data []byte) (*Config, error) {
	if n := countDocs(data); n > 1 {
		return nil, &strictyaml.Error{Problems: []strictyaml.Problem{{File: file, Message: "want one YAML document, found several"}}}
	}
	pos, problems := strictyaml.Check(data, reflect.TypeFor[fileSpec]())
	var f fileSpec
	err := yaml.Unmarshal(data, &f)
	if err != nil && len(problems) == 0 {
		problems = append(problems, strictyaml.Problem{Message: err.Error()})
	}
	c := &Config{File: file}
	if err == nil {
		// Check the values too, leaving out parts the check found wrong.
		problems = append(problems, c.build(&f, pos, problems)...)
	}
	if len(problems) > 0 {
		strictyaml.Locate(file, pos, problems)
		return nil, &strictyaml.Error{Problems: problems}
	}
	return c, nil
}

// countDocs counts the YAML documents of data (0 when it is not YAML,
// which the check reports).
func countDocs(data []byte) int {
	d := yamlv3.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var node yamlv3.Node
		if err := d.Decode(&node); err != nil {
			return n
		}
		n++
	}
}

// build checks the decoded file and fills c.
func (c *Config) build(f *fileSpec, pos *strictyaml.Positions, found []strictyaml.Problem) []strictyaml.Problem {
	var ps []strictyaml.Problem
	reported := func(field string) bool {
		for _, p := range found {
			if p.Field == field || strings.HasPrefix(p.Field, field+".") || strings.HasPrefix(p.Field, field+"[") {
				return true
			}
		}
		return false
	}
	bad := func(field, format string, args ...any) {
		ps = append(ps, strictyaml.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	// A missing header field is reported at the top of the file.
	missing := func(field, format string, args ...any) {
		ps = append(ps, strictyaml.Problem{Field: field, Line: 1, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case reported("apiVersion"):
	case f.APIVersion == "":
		missing("apiVersion", "is required: %s", APIVersion)
	case f.APIVersion != APIVersion:
		bad("apiVersion", "%q: want %s", f.APIVersion, APIVersion)
	}
	switch {
	case reported("kind"):
	case f.Kind == "":
		missing("kind", "is required: %s", Kind)
	case f.Kind != Kind:
		bad("kind", "%q: want %s", f.Kind, Kind)
	}
	flags := func(command, prefix string, m map[string]json.RawMessage) {
		for _, name := range sortedByLine(pos, prefix, m) {
			field := prefix + "." + name
			fl := Flag{Command: command, Name: name, Field: field, Line: pos.Line(field), file: c.File}
			if strings.HasPrefix(name, "-") {
				bad(field, "write the flag's long name without dashes: %s", strings.TrimLeft(name, "-"))
				continue
			}
			values, list, err := flagValues(m[name])
			if err != nil {
				bad(field, "%v", err)
				continue
			}
			fl.Values, fl.List = values, list
			c.Flags = append(c.Flags, fl)
		}
	}
	flags("", "defaults", f.Defaults)
	for _, cmd := range sortedByLine(pos, "commands", f.Commands) {
		if strings.TrimSpace(cmd) == "" || strings.HasPrefix(cmd, "kordon") {
			bad("commands."+cmd, "name the command without kordon, such as scan or netpol lint")
			continue
		}
		flags(strings.Join(strings.Fields(cmd), " "), "commands."+cmd, f.Commands[cmd])
	}
	for i, e := range f.Exceptions {
		field := fmt.Sprintf("exceptions[%d]", i)
		if reported(field) {
			continue
		}
		if e.Source != "" {
			bad(field+".source", "is set by Kordon (to this file and line); remove it")
			continue
		}
		e.Source = fmt.Sprintf("%s:%d", c.File, pos.Line(field))
		if err := e.Validate(); err != nil {
			bad(field, "%v", err)
			continue
		}
		c.Exceptions = append(c.Exceptions, e)
	}
	for i, p := range f.ExceptionFiles {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("exceptionFiles[%d]", i), "want a file name")
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir(), p)
		}
		c.ExceptionFiles = append(c.ExceptionFiles, p)
	}
	for _, rule := range sortedByLine(pos, "parameters", f.Parameters) {
		for _, name := range sortedByLine(pos, "parameters."+rule, f.Parameters[rule]) {
			field := "parameters." + rule + "." + name
			c.Params = append(c.Params, rules.ParamSetting{Rule: rule, Name: name, Value: f.Parameters[rule][name],
				Source: where(c.File, pos.Line(field), field)})
		}
	}
	return ps
}

// sortedByLine returns the keys of m in the order of their lines.
func sortedByLine[V any](pos *strictyaml.Positions, prefix string, m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if la, lb := pos.Line(prefix+"."+a), pos.Line(prefix+"."+b); la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	return keys
}

// flagValues reads a flag's value: a string, number or boolean, or a list
// of them.
func flagValues(raw json.RawMessage) ([]string, bool, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, false, err
	}
	scalar := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case json.Number:
			return v.String(), true
		case bool:
			if v {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, x := range list {
			s, ok := scalar(x)
			if !ok {
				return nil, false, fmt.Errorf("[%d]: want a string, number or boolean", i)
			}
			out[i] = s
		}
		return out, true, nil
	}
	if v == nil {
		return nil, false, errors.New("want a value (a string, number or boolean) or a list of values")
	}
	s, ok := scalar(v)
	if !ok {
		return nil, false, errors.New("want a value (a string, number or boolean) or a list of values, not a mapping")
	}
	return []string{s}, false, nil
}
