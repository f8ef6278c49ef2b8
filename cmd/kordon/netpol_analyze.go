package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/netpol/analyzer"
	"github.com/kordon-dev/kordon/internal/netpol/render"
)

func newNetpolAnalyzeCmd() *cobra.Command {
	var in netpolInput
	var format string
	cmd := &cobra.Command{
		Use:   "analyze [PATH... | --cluster]",
		Short: "Show the allowed connections between workloads and external address ranges",
		Long: `Analyze computes, under the NetworkPolicies found, which connections are
allowed between every pair of workloads and between workloads and the
address ranges outside the cluster (the disjoint ranges the policies'
ipBlocks cut the address space into). A connection needs both the source's
egress and the destination's ingress to allow it.

Formats: txt, json (a stable contract, docs/netpol-json.md), csv, md, dot
(Graphviz) and html (one self-contained page with an interactive graph).`,
		Example: `  kordon netpol analyze examples/plain
  kordon netpol analyze manifests/ -o json > connectivity.json
  kordon netpol analyze manifests/ -o html > connectivity.html
  kordon netpol analyze --cluster -o dot | dot -Tsvg > graph.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(render.AnalysisFormats(), format) {
				return usageErr(fmt.Errorf("--output %q: want one of %s", format, strings.Join(render.AnalysisFormats(), ", ")))
			}
			c, err := in.load(cmd, args)
			if err != nil {
				return err
			}
			return render.WriteAnalysis(cmd.OutOrStdout(), format, analyzer.Analyze(c, analyzer.Options{}))
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "txt", "output format: "+strings.Join(render.AnalysisFormats(), ", "))
	return cmd
}
