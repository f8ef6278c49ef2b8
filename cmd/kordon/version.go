package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/version"
)

// versionLine is what kordon version and kordon --version print.
func versionLine() string {
	return fmt.Sprintf("kordon %s (commit %s, %s, %s/%s)", version.Version, version.Commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Annotations: map[string]string{annotationNoConfig: "true"},
		Short:       "Print Kordon's version",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}
