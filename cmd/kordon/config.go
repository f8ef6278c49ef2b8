package main

import "github.com/spf13/cobra"

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write a starter .kordon.yaml, or show the configuration kordon runs with",
		Long: `.kordon.yaml sets default flag values (for every command or for one), adds
exceptions and sets rule parameters (trusted registries, thresholds) without
copying a rule. kordon reads the file given with --config, else .kordon.yaml
or .kordon.yml in the current folder or the nearest parent folder, up to the
root of the git work tree; --no-config reads none. A flag given on the
command line wins over the file, which wins over the built-in default.

See docs/configuration.md.`,
	}
	cmd.AddCommand(newConfigInitCmd(), newConfigShowCmd())
	return cmd
}
