package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/rules"
)

func newRulesListCmd() *cobra.Command {
	var sel ruleFlags
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List rules, filtered by framework, tag, severity",
		Example: `  kordon rules list
  kordon rules list --framework PSS --tag pss-restricted
  kordon rules list --min-severity high -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, rs, err := sel.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rs)
			case "table":
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSEVERITY\tFRAMEWORKS\tRUNS IN\tTITLE")
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, strings.Join(r.Frameworks(), ","), strings.Join(runsIn(r), ","), r.Title)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(out, "\n%d rules\n", len(rs))
				if aliases := aliasLines(rs); len(aliases) > 0 {
					fmt.Fprintf(out, "Aliases (other IDs of the same check): %s\n", strings.Join(aliases, ", "))
				}
				return nil
			default:
				return usageErr(fmt.Errorf("--output %q: want table or json", output))
			}
		},
	}
	sel.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// runsIn lists the engines that run the rule.
func runsIn(r *rules.Rule) []string {
	var out []string
	for _, e := range rules.Engines() {
		if r.RunsIn(e) {
			out = append(out, e)
		}
	}
	return out
}

// aliasLines lists "ALIAS = ID" for every alias of the rules.
func aliasLines(rs []*rules.Rule) []string {
	var out []string
	for _, r := range rs {
		for _, a := range r.Aliases {
			out = append(out, a+" = "+r.ID)
		}
	}
	return out
}
