package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/netpol/explain"
	"github.com/kordon-dev/kordon/internal/netpol/render"
)

func newNetpolCanCmd() *cobra.Command {
	var in netpolInput
	var port, format string
	cmd := &cobra.Command{
		Use:   "can SRC DST [PATH... | --cluster]",
		Short: "Say whether SRC may connect to DST, and why",
		Long: `Can decides one connection and explains it: which policies select the
source for egress and the destination for ingress, which of their rules
match the other end and on which ports, or that none does.

SRC and DST are namespace/name of a workload (a name alone is in
"default"), the name of a pod found in the input, or an IP address outside
the cluster. Without --port the verdict is whether any port is allowed.

Exit status: 0 when allowed, 1 when denied, 2 on usage or input errors.`,
		Example: `  kordon netpol can shop/web shop/api examples/plain --port tcp/8080
  kordon netpol can 203.0.113.7 shop/web --cluster
  kordon netpol can shop/api 8.8.8.8 manifests/ --port udp/53 -o json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var q *explain.Port
			if port != "" {
				p, err := explain.ParsePort(port)
				if err != nil {
					return usageErr(fmt.Errorf("--port: %w", err))
				}
				q = &p
			}
			if !slices.Contains(render.ExplanationFormats(), format) {
				return usageErr(fmt.Errorf("--output %q: want txt or json", format))
			}
			c, err := in.load(cmd, args[2:])
			if err != nil {
				return err
			}
			src, err := explain.Resolve(c, args[0])
			if err != nil {
				return usageErr(fmt.Errorf("SRC: %w", err))
			}
			dst, err := explain.Resolve(c, args[1])
			if err != nil {
				return usageErr(fmt.Errorf("DST: %w", err))
			}
			if src.Workload == nil && dst.Workload == nil {
				return usageErr(fmt.Errorf("SRC and DST are both addresses: at least one must be a workload"))
			}
			e := explain.Explain(c, src, dst, q)
			if err := render.WriteExplanation(cmd.OutOrStdout(), format, e); err != nil {
				return err
			}
			if !e.Allowed {
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	in.register(cmd)
	cmd.Flags().StringVar(&port, "port", "", "the port asked about, such as tcp/80, udp/53 or 443")
	cmd.Flags().StringVarP(&format, "output", "o", "txt", "output format: txt or json")
	return cmd
}
