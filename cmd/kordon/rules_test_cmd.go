package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/rules"
)

func newRulesTestCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test DIR",
		Short: "Run the rules in DIR against their pass and fail fixtures",
		Long: `Rule authors keep fixtures beside their rules:

  DIR/my-rules.yaml                  rules (one per YAML document)
  DIR/fixtures/<RULE-ID>/pass*.yaml  objects the rule must accept
  DIR/fixtures/<RULE-ID>/fail*.yaml  objects the rule must flag

Every rule needs at least one pass and one fail fixture, and a pass fixture
must hold an object the rule applies to. Exit code 1 when a fixture fails,
2 when the rules do not load or compile.`,
		Example: "  kordon rules test ./policies",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			rs, err := rules.LoadDir(dir)
			if err != nil {
				return usageErr(err)
			}
			if len(rs) == 0 {
				return usageErr(fmt.Errorf("no rules in %s", dir))
			}
			set, err := rules.Compile(rs)
			if err != nil {
				return usageErr(err)
			}
			results, err := rules.TestFixtures(cmd.Context(), set, nil, os.DirFS(dir))
			if err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			failed := 0
			for _, r := range results {
				if !r.OK() {
					failed++
					fmt.Fprintf(out, "FAIL %s %s: %s\n", r.RuleID, r.File, r.Problem)
				} else if verbose {
					fmt.Fprintf(out, "ok   %s %s (%s, %d findings)\n", r.RuleID, r.File, r.Want, r.Findings)
				}
			}
			fmt.Fprintf(out, "%d rules, %d fixtures: %d passed, %d failed\n", len(rs), len(results), len(results)-failed, failed)
			if failed > 0 {
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing fixtures too")
	return cmd
}
