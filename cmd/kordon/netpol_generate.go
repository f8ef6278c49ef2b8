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
	var types, outFile, reportFile, reportFormat string
	var noDNS bool
	cmd := &cobra.Command{
		Use:   "generate --flows FILE [PATH... | --cluster]",
		Short: "Learn least-privilege NetworkPolicies from observed flows",
		Long: `Generate reads observed flows — Hubble JSON (hubble observe -o json) or
Kordon's JSON-lines/CSV flow format (docs/netpol.md) — maps addresses and
pod names to the workloads of PATH or the cluster, and writes one
NetworkPolicy per workload seen, allowing exactly the observed traffic (and
DNS to kube-dns when egress becomes restricted). Volatile labels such as
pod-template-hash never appear in selectors. Without PATH or --cluster,
workloads are taken from the flows' pod labels.

The policies go to standard output (or --output-file); a report goes to
standard error (or --report-file): it confirms, with the analyzer, that
every observed flow stays allowed and lists what the policies allow beyond
the observed traffic.

Exit status: 1 when an observed flow would not be allowed (possible only
when --policy-types leaves a direction to existing policies that block it,
or a workload cannot be selected), 2 on usage or input errors.`,
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
			if in.cluster || len(args) > 0 {
				var err error
				if c, err = in.load(cmd, args); err != nil {
					return err
				}
			}
			var flows []flow.Flow
			for _, name := range flowFiles {
				res, err := readFlows(cmd, name)
				if err != nil {
					return usageErr(err)
				}
				flows = append(flows, res.Flows...)
			}
			res, err := generate.Generate(c, flows, opts)
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
			if len(res.NotAllowed) > 0 {
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
	return cmd
}

func readFlows(cmd *cobra.Command, name string) (*flow.Result, error) {
	if name == "-" {
		return flow.Read(cmd.InOrStdin(), "-")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read flows: %w", err)
	}
	defer f.Close()
	return flow.Read(f, name)
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
