package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kordon-dev/kordon/internal/config"
)

func newConfigShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [COMMAND ...]",
		Short: "Show which configuration file applies and what it sets",
		Long: `Print the configuration file kordon uses here (and how it was found), the
flag values it sets, its exceptions and rule parameters, each with its line.
With a command (kordon config show scan, kordon config show netpol lint),
print the values that command runs with when no flag is given, and where
each comes from: the file (a command's own section wins over defaults) or
the built-in default.`,
		Example: "  kordon config show\n  kordon config show scan\n  kordon --config ci/.kordon.yaml config show scan",
		RunE: func(cmd *cobra.Command, args []string) error {
			lc := configFrom(cmd.Context())
			out := cmd.OutOrStdout()
			if lc.cfg == nil {
				fmt.Fprintf(out, "configuration: %s\n", lc.how)
			} else {
				fmt.Fprintf(out, "configuration: %s (%s)\n", lc.cfg.File, lc.how)
			}
			if len(args) > 0 {
				return showCommandConfig(out, cmd.Root(), lc.cfg, args)
			}
			if lc.cfg != nil {
				showConfig(out, lc.cfg)
			}
			return nil
		},
	}
	return cmd
}

// showConfig prints what a configuration sets, with positions.
func showConfig(w io.Writer, cfg *config.Config) {
	if len(cfg.Flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
		for _, f := range cfg.Flags {
			scope := "every command"
			if f.Command != "" {
				scope = "kordon " + f.Command
			}
			fmt.Fprintf(w, "  %-28s %-24s %s\n", "--"+f.Name+"="+showValue(f), scope, f.Where())
		}
	}
	if len(cfg.Exceptions) > 0 || len(cfg.ExceptionFiles) > 0 {
		fmt.Fprintln(w, "\nexceptions:")
		for _, e := range cfg.Exceptions {
			fmt.Fprintf(w, "  %-28s %s\n", describeException(e.Rule, e.Kind, e.Namespace, e.Name), e.Source)
		}
		for _, f := range cfg.ExceptionFiles {
			fmt.Fprintf(w, "  file %s\n", f)
		}
	}
	if len(cfg.Params) > 0 {
		fmt.Fprintln(w, "\nparameters:")
		for _, p := range cfg.Params {
			fmt.Fprintf(w, "  %s.%s = %s    %s\n", p.Rule, p.Name, compactValue(p.Value), p.Source)
		}
	}
}

func describeException(rule, kind, ns, name string) string {
	parts := []string{rule}
	if kind != "" {
		parts = append(parts, kind)
	}
	if ns != "" || name != "" {
		parts = append(parts, ns+"/"+name)
	}
	return strings.Join(parts, " ")
}

func showValue(f config.Flag) string {
	if f.List {
		return "[" + strings.Join(f.Values, ", ") + "]"
	}
	return f.Value()
}

func compactValue(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// showCommandConfig prints the flag values a command runs with from the
// configuration and their sources.
func showCommandConfig(w io.Writer, root *cobra.Command, cfg *config.Config, args []string) error {
	target, rest, err := root.Find(args)
	if err != nil || len(rest) > 0 || target == root {
		return usageErr(fmt.Errorf("no command kordon %s", strings.Join(args, " ")))
	}
	name := config.Name(target)
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.AddFlagSet(target.Flags())
	fs.AddFlagSet(target.InheritedFlags())
	from := map[string]string{}
	if cfg != nil {
		applied, err := cfg.Apply(name, fs)
		if err != nil {
			return usageErr(err)
		}
		for _, f := range applied {
			from[f.Name] = f.Where()
		}
	}
	fmt.Fprintf(w, "\nkordon %s runs with (a flag on the command line wins):\n", name)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		src := "default"
		if where, ok := from[f.Name]; ok {
			src = where
		}
		fmt.Fprintf(w, "  --%-26s %-30s %s\n", f.Name, f.Value.String(), src)
	})
	return nil
}
