package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kordon-dev/kordon/internal/textmatch"
)

// commandLineOnly are flags a configuration file may not set: they choose
// the configuration itself, or let a command reach the network or run
// programs, which a repository's file must not decide for whoever runs
// kordon in it.
var commandLineOnly = map[string]string{
	"config":       "it chooses the configuration file",
	"no-config":    "it turns the configuration file off",
	"help":         "it is not a setting",
	"version":      "it is not a setting",
	"allow-remote": "it lets kordon use the network and run programs; give it on the command line",
	"cpu-profile":  "it writes a file; give it on the command line",
}

// Tree is the flags of every command, by the command's name without
// kordon ("scan", "netpol lint"): what Validate checks a configuration
// against.
type Tree map[string]*pflag.FlagSet

// TreeOf returns the flags (own and inherited) of every command below root.
func TreeOf(root *cobra.Command) Tree {
	t := Tree{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root {
			fs := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
			fs.AddFlagSet(c.Flags())
			fs.AddFlagSet(c.InheritedFlags())
			t[Name(c)] = fs
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return t
}

// Name returns a command's name as a configuration writes it: its path
// without the root command ("netpol lint").
func Name(c *cobra.Command) string {
	path := c.CommandPath()
	if i := strings.IndexByte(path, ' '); i >= 0 {
		return path[i+1:]
	}
	return ""
}

// Validate checks the configuration's flags against the commands: every
// command of commands exists, every flag there is one of that command's,
// every flag of defaults is one of some command's, and none is a flag the
// command line alone may set. Problems name file, line and field, with
// the name probably meant.
func (c *Config) Validate(tree Tree) error {
	commands := make([]string, 0, len(tree))
	all := map[string]bool{}
	for name, fs := range tree {
		commands = append(commands, name)
		fs.VisitAll(func(f *pflag.Flag) { all[f.Name] = true })
	}
	sort.Strings(commands)
	var errs []error
	bad := func(f Flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", f.Where(), fmt.Sprintf(format, args...)))
	}
	for _, f := range c.Flags {
		if why, ok := commandLineOnly[f.Name]; ok {
			bad(f, "--%s cannot be set in a configuration file: %s", f.Name, why)
			continue
		}
		if f.Command == "" {
			if !all[f.Name] {
				bad(f, "no command has a flag --%s%s", f.Name, didYouMean(f.Name, keys(all)))
			}
			continue
		}
		fs, ok := tree[f.Command]
		if !ok {
			bad(f, "no command kordon %s%s", f.Command, didYouMean(f.Command, commands))
			continue
		}
		if fs.Lookup(f.Name) == nil {
			var names []string
			fs.VisitAll(func(fl *pflag.Flag) { names = append(names, fl.Name) })
			bad(f, "kordon %s has no flag --%s%s", f.Command, f.Name, didYouMean(f.Name, names))
		}
	}
	return errors.Join(errs...)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func didYouMean(s string, candidates []string) string {
	if m := textmatch.Closest(s, candidates); m != "" {
		return fmt.Sprintf(" (did you mean %s?)", m)
	}
	return ""
}

// Apply sets the flags of command (its name without kordon) from the
// configuration, for every flag the command line did not set: a value of
// commands.<command> wins over one of defaults. fs is the command's parsed
// flags. A list is given to a repeatable flag as if each item had been
// given once; a scalar as if the flag had been given once with it. Flags
// that name files or folders (marked so for shell completion: --rules,
// --exceptions) are resolved against the configuration file's folder.
// Applied flags are marked changed, as if given on the command line. It
// returns the values applied; errors name the value's position.
func (c *Config) Apply(command string, fs *pflag.FlagSet) ([]Flag, error) {
	chosen := map[string]Flag{}
	var order []string
	for _, f := range c.Flags {
		if f.Command != "" && f.Command != command {
			continue
		}
		if prev, ok := chosen[f.Name]; ok && prev.Command != "" && f.Command == "" {
			continue
		}
		if _, ok := chosen[f.Name]; !ok {
			order = append(order, f.Name)
		}
		chosen[f.Name] = f
	}
	var applied []Flag
	var errs []error
	for _, name := range order {
		f := chosen[name]
		fl := fs.Lookup(name)
		if fl == nil || fl.Changed {
			continue // defaults for other commands, or set on the command line
		}
		if _, ok := commandLineOnly[name]; ok {
			continue // Validate reports it
		}
		values := slices.Clone(f.Values)
		if isPath(fl) {
			for i, v := range values {
				if v != "" && v != "-" && !filepath.IsAbs(v) {
					values[i] = filepath.Join(c.Dir(), v)
				}
			}
		}
		if err := set(fl, values, f.List); err != nil {
			errs = append(errs, fmt.Errorf("%s: --%s: %w", f.Where(), name, err))
			continue
		}
		fl.Changed = true
		applied = append(applied, f)
	}
	return applied, errors.Join(errs...)
}

// set gives a flag its configured values.
func set(fl *pflag.Flag, values []string, list bool) error {
	sv, isSlice := fl.Value.(pflag.SliceValue)
	switch {
	case list && isSlice:
		return sv.Replace(values)
	case list && len(values) != 1:
		return fmt.Errorf("takes one value, not a list")
	case !list && isSlice:
		// As given once on the command line: a comma-separated flag
		// splits the value.
		if err := sv.Replace(nil); err != nil {
			return err
		}
		return fl.Value.Set(values[0])
	}
	return fl.Value.Set(values[0])
}

// isPath reports whether the flag names files or folders.
func isPath(fl *pflag.Flag) bool {
	_, file := fl.Annotations[cobra.BashCompFilenameExt]
	_, dir := fl.Annotations[cobra.BashCompSubdirsInDir]
	return file || dir
}
