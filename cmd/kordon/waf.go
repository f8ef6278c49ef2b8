package main

import "github.com/spf13/cobra"

func newWafCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waf",
		Short: "Web application and API protection",
	}
	cmd.AddCommand(newWafLearnCmd(), newWafReplayCmd())
	return cmd
}
