package main

import (
	"github.com/spf13/cobra"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, show, test and export the rule catalogue",
		Long: `Kordon's rules are data: YAML files with an ID, severity, the framework
controls they implement, match criteria and CEL validations that mean exactly
what they would mean in a Kubernetes ValidatingAdmissionPolicy. The built-in
packs are embedded in the binary; --rules DIR adds your own to any command.
See docs/rules.md for the rule format.`,
	}
	cmd.AddCommand(newRulesListCmd(), newRulesShowCmd(), newRulesTestCmd(), newRulesExportCmd())
	return cmd
}
