package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
	"github.com/kordon-dev/kordon/internal/netpol/generate"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/render"
)

func newNetpolGenerateCmd() *cobra.Command {
	var in netpolInput
	var flowFiles []string
	var types, outFile, reportFile, reportFormat, maxSize string
	var noDNS bool
	var maxUnmatched float64
	cmd := &cobra.Command{
		Use:   "generate --flows FILE [PATH... | --cluster]",
		Short: "Learn least-privilege NetworkPolicies from observed flows",
		Long: `Generate reads observed flows — Hubble JSON (hubble observe -o json) or
Kordon's JSON-lines/CSV flow format (docs/netpol.md) — maps addresses and
pod names to the workloads of PATH or the cluster, and writes one
NetworkPolicy per workload seen, allowing exactly the observed traffic (and
DNS to kube-dns when egress becomes restricted). Volatile labels such as
pod-template-hash never appear in selectors. Without PATH or --cluster,
workloads are taken from the flows' pod labels. Flow files are read one
flow at a time: memory grows with the workloads, addresses and ports seen,
not with the number of flows.

The policies go to standard output (or --output-file); a report goes to
standard error (or --report-file): it confirms, with the analyzer, that
every observed flow stays allowed and lists what the policies allow beyond
the observed traffic. It counts the flows that match no workload (neither
end is a workload of the input, by address or name) and shows a sample.
Every policy is checked with the API server's validation before it is
written; invalid names (such as those of long workload names) are replaced
by valid ones with a short hash, and a policy larger than --max-policy-size
is split into several with the same podSelector; the report lists each.

Exit status: 1 when an observed flow would not be allowed (possible only
when --policy-types leaves a direction to existing policies that block it,
or a workload cannot be selected), when no flow could be used, or when
more than --max-unmatched of the flows matched no workload (the flows of
another cluster, or the wrong manifests); 2 on usage or input errors.`,
		Example: `  hubble observe -o json --since 24h > flows.json
  kordon netpol generate --flows flows.json manifests/ > policies.yaml
  kordon netpol generate --flows flows.csv --cluster --policy-types ingress`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(flowFiles) == 0 {
				return usageErr(fmt.Errorf("--flows: give at least one flow file"))
			}
			opts := generate.Options{NoDNS: noDNS}
			for _, t := range strings.Split(types, ",") {
				switch strings.TrimSpace(strings.ToLower(t)) {
				case "ingress":
					opts.Ingress = true
				case "egress":
					opts.Egress = true
				default:
					return usageErr(fmt.Errorf("--policy-types %q: want ingress, egress or both", types))
				}
			}
			if !slices.Contains(render.GenerateReportFormats(), reportFormat) {
				return usageErr(fmt.Errorf("--report-format %q: want txt or json", reportFormat))
			}
			c := &model.Cluster{}
			var err error
			if in.cluster || len(args) > 0 {
				if c, err = in.load(cmd, args); err != nil {
					return err
				}
			}
			if maxUnmatched < 0 || maxUnmatched > 1 {
				return usageErr(fmt.Errorf("--max-unmatched %g: want a share from 0 to 1", maxUnmatched))
			}
			opts.MaxUnmatched = maxUnmatched
			if opts.MaxPolicyBytes, err = parsePolicySize(maxSize); err != nil {
				return usageErr(err)
			}
			gen := generate.New(c, opts)
			for _, name := range flowFiles {
				if err := readFlows(cmd, name, gen.Observe); err != nil {
					return usageErr(err)
				}
			}
			res, err := gen.Result()
			if err != nil {
				return err
			}
			out, err := compile.Marshal(res.Policies)
			if err != nil {
				return err
			}
			if err := writeTo(cmd.OutOrStdout(), outFile, out); err != nil {
				return err
			}
			var rep bytes.Buffer
			if err := render.WriteGenerateReport(&rep, reportFormat, res); err != nil {
				return err
			}
			if err := writeTo(cmd.ErrOrStderr(), reportFile, rep.Bytes()); err != nil {
				return err
			}
			if len(res.NotAllowed) > 0 || len(res.Failures) > 0 {
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	in.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&flowFiles, "flows", nil, "flow file (repeatable): Hubble JSON, Kordon JSON lines, or CSV (.csv); - for standard input")
	fl.StringVar(&types, "policy-types", "ingress,egress", "directions to restrict: ingress, egress or ingress,egress")
	fl.BoolVar(&noDNS, "no-dns", false, "do not add DNS to kube-dns when egress becomes restricted")
	fl.StringVar(&outFile, "output-file", "", "write the policies to this file instead of standard output")
	fl.StringVar(&reportFile, "report-file", "", "write the report to this file instead of standard error")
	fl.StringVar(&reportFormat, "report-format", "txt", "report format: txt or json")
	fl.Float64Var(&maxUnmatched, "max-unmatched", 0.5, "exit 1 when more than this share of the flows (0 to 1) matches no workload")
	addPolicySizeFlag(cmd, &maxSize)
	return cmd
}

// readFlows streams the flows of a file (- for standard input) to observe.
func readFlows(cmd *cobra.Command, name string, observe func(flow.Flow)) error {
	r := cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("read flows: %w", err)
		}
		defer f.Close()
		r = f
	}
	fr := flow.NewReader(r, name)
	for {
		f, err := fr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		observe(f)
	}
}

func writeTo(w io.Writer, file string, data []byte) error {
	if file != "" {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		return nil
	}
	_, err := w.Write(data)
	return err
}
