package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/emit"
)

func newNetpolCompileCmd() *cobra.Command {
	var outFile, maxSize string
	cmd := &cobra.Command{
		Use:   "compile FILE",
		Short: "Compile a Kordon network intent to native NetworkPolicies",
		Long: `Compile reads a NetworkIntent (kordon.dev/v1alpha1): named groups of pods
(by namespaces, namespace labels and pod labels) or of addresses (CIDRs with
exceptions), zones whose namespaces deny traffic by default, and rules
"from group to group on ports". It writes native NetworkPolicy YAML:
deterministic, one default-deny policy per zone namespace and one policy per
zone namespace and group, each annotated with the intent rules it came from.
FILE may be - for standard input. The format is described in docs/netpol.md.

Every policy is checked with the API server's validation before it is
written. A name that is not a valid object name (longer than 253
characters, or not lower-case letters, digits, '-' and '.') is replaced by
a valid one ending in a short hash of the original; a policy larger than
--max-policy-size is split into several policies with the same podSelector
(NetworkPolicies add up, so they allow the same), labelled
kordon.dev/split-from=NAME. Each rename and split is reported on standard
error.`,
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
			limit, err := parsePolicySize(maxSize)
			if err != nil {
				return usageErr(err)
			}
			res, err := compile.Compile(in, compile.Options{MaxPolicyBytes: limit})
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", args[0], err))
			}
			for _, c := range res.Changes {
				fmt.Fprintln(cmd.ErrOrStderr(), "kordon:", c)
			}
			out, err := compile.Marshal(res.Policies)
			if err != nil {
				return err
			}
			return writeTo(cmd.OutOrStdout(), outFile, out)
		},
	}
	cmd.Flags().StringVar(&outFile, "output-file", "", "write the policies to this file instead of standard output")
	addPolicySizeFlag(cmd, &maxSize)
	return cmd
}

// addPolicySizeFlag adds --max-policy-size, read by parsePolicySize.
func addPolicySizeFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "max-policy-size", fmt.Sprintf("%dKi", emit.DefaultMaxBytes/1024), "split policies whose JSON is larger than this (64Ki to 1536Ki); "+
		"the default keeps every policy applicable with client-side kubectl apply")
}

// parsePolicySize reads a size such as 200Ki, 1Mi or 300000 (bytes).
func parsePolicySize(s string) (int, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("--max-policy-size %q: want a size such as 200Ki or 1Mi", s)
	}
	n, ok := q.AsInt64()
	if !ok || n < emit.MinBytes || n > emit.LimitBytes {
		return 0, fmt.Errorf("--max-policy-size %s: want 64Ki to 1536Ki (etcd's default request limit)", s)
	}
	return int(n), nil
}
