package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/netpol/lint"
	"github.com/kordon-dev/kordon/internal/report"
	"github.com/kordon-dev/kordon/internal/version"
)

func newNetpolLintCmd() *cobra.Command {
	var in netpolInput
	var format, failOnText string
	cmd := &cobra.Command{
		Use:   "lint [PATH... | --cluster]",
		Short: "Find problems in NetworkPolicies",
		Long: `Lint reports namespaces without policies, workloads no policy selects,
policies that select nothing, peers that match nothing, rules made redundant
by others, overly broad rules (0.0.0.0/0, empty namespaceSelector, no peers),
egress lockdowns without a DNS allowance and named ports that resolve
nowhere. Rule IDs KOR-NETPOL-001 to KOR-NETPOL-008 are documented in
docs/netpol.md. Findings use the report formats of kordon scan.

Exit status: 1 when a finding is at or above --fail-on, 2 on usage errors.`,
		Example: `  kordon netpol lint examples/plain
  kordon netpol lint manifests/ -o sarif > netpol.sarif
  kordon netpol lint --cluster --fail-on high`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validFormat(format) {
				return usageErr(fmt.Errorf("--output %q: want one of %s", format, strings.Join(report.Formats(), ", ")))
			}
			failOn, none, err := parseFailOn(failOnText)
			if err != nil {
				return usageErr(err)
			}
			c, problems, err := in.loadModel(cmd, args)
			if err != nil {
				return err
			}
			rep := &finding.Report{Tool: finding.Tool{Name: "kordon", Version: version.Version}, Findings: lint.Run(c)}
			for _, p := range problems {
				res := finding.Resource{APIVersion: p.Ref.APIVersion, Kind: p.Ref.Kind, Namespace: p.Ref.Namespace, Name: p.Ref.Name}
				rep.Warnings = append(rep.Warnings, finding.Problem{File: p.Source.File, Line: p.Source.Line, Resource: &res,
					Message: "left out of the analysis: " + p.Message})
			}
			rep.Summarize(len(c.Workloads)+len(c.Policies)+len(c.Namespaces), len(lint.Rules()))
			docs := map[string]report.RuleDoc{}
			for _, r := range lint.Rules() {
				docs[r.ID] = report.RuleDoc{Description: r.Description, HelpURI: "https://github.com/kordon-dev/kordon/blob/main/docs/netpol.md#" + strings.ToLower(r.ID)}
			}
			if err := report.Write(cmd.OutOrStdout(), format, rep, report.Options{Target: strings.Join(args, " "), Rules: docs}); err != nil {
				return err
			}
			if max, ok := rep.MaxSeverity(); ok && !none && max >= failOn {
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "table", "report format: "+strings.Join(report.Formats(), ", "))
	cmd.Flags().StringVar(&failOnText, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical) or none")
	return cmd
}
