package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/render"
)

func newNetpolDiffCmd() *cobra.Command {
	var in netpolInput
	var format string
	var failOnChange bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show the semantic difference in connectivity between two configurations",
		Long: `Diff analyses OLD and NEW (each a file, a folder, a chart or - for standard
input) and lists the connections that were added, removed or changed (which
ports became allowed or stopped being allowed) — a difference in what the
policies allow, not in how they are written.

Exit status: 0, or 1 with --exit-code when something changed; 2 on usage or
input errors.`,
		Example: `  kordon netpol diff main/manifests/ pr/manifests/
  kordon netpol diff old.yaml new.yaml -o md >> $GITHUB_STEP_SUMMARY`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(render.DiffFormats(), format) {
				return usageErr(fmt.Errorf("--output %q: want one of %s", format, strings.Join(render.DiffFormats(), ", ")))
			}
			old, err := in.load(cmd, args[:1])
			if err != nil {
				return err
			}
			updated, err := in.load(cmd, args[1:])
			if err != nil {
				return err
			}
			changes := diff.Diff(old, updated)
			if err := render.WriteDiff(cmd.OutOrStdout(), format, changes); err != nil {
				return err
			}
			if failOnChange && len(changes) > 0 {
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	in.register(cmd)
	// OLD and NEW are paths: the flags for a live cluster do not apply.
	for _, name := range []string{"cluster", "kubeconfig", "context", "namespace"} {
		_ = cmd.Flags().MarkHidden(name)
	}
	cmd.Flags().StringVarP(&format, "output", "o", "txt", "output format: "+strings.Join(render.DiffFormats(), ", "))
	cmd.Flags().BoolVar(&failOnChange, "exit-code", false, "exit 1 when connectivity changed")
	return cmd
}
