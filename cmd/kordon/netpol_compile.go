package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/netpol/compile"
)

func newNetpolCompileCmd() *cobra.Command {
	var outFile string
	cmd := &cobra.Command{
		Use:   "compile FILE",
		Short: "Compile a Kordon network intent to native NetworkPolicies",
		Long: `Compile reads a NetworkIntent (kordon.dev/v1alpha1): named groups of pods
(by namespaces, namespace labels and pod labels) or of addresses (CIDRs with
exceptions), zones whose namespaces deny traffic by default, and rules
"from group to group on ports". It writes native NetworkPolicy YAML:
deterministic, one default-deny policy per zone namespace and one policy per
zone namespace and group, each annotated with the intent rules it came from.
FILE may be - for standard input. The format is described in docs/netpol.md.`,
		Example: `  kordon netpol compile shop.intent.yaml > policies.yaml
  kordon netpol compile shop.intent.yaml | kordon netpol analyze - `,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return usageErr(fmt.Errorf("read intent: %w", err))
			}
			in, err := compile.Parse(data)
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", args[0], err))
			}
			objs, err := compile.Compile(in)
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", args[0], err))
			}
			out, err := compile.Marshal(objs)
			if err != nil {
				return err
			}
			return writeTo(cmd.OutOrStdout(), outFile, out)
		},
	}
	cmd.Flags().StringVar(&outFile, "output-file", "", "write the policies to this file instead of standard output")
	return cmd
}
