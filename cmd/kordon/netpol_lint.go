package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/netpol/lint"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/rules"
)

func newNetpolLintCmd() *cobra.Command {
	var in netpolInput
	var rep reportFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH... | --cluster]",
		Short: "Find problems in NetworkPolicies",
		Long: `Lint reports namespaces without policies, workloads no policy isolates,
policies that select nothing, peers that match nothing, rules made redundant
by others, overly broad rules (0.0.0.0/0, empty namespaceSelector, no peers),
egress lockdowns without a DNS allowance and named ports that resolve
nowhere. Rule IDs KOR-NETPOL-001 to KOR-NETPOL-008 are documented in
docs/netpol.md; KOR-NETPOL-001 and 002 are the coverage checks KOR-NET-001
and 002 of kordon scan, decided by the same code.

Findings go through the same pipeline as kordon scan: every report format,
exceptions files and annotations, compliance scores and the summary.

Exit codes: 0 no finding at or above --fail-on; 1 otherwise (or a score
under --min-score); 2 usage or input errors (a malformed document or a
policy the API server would reject is reported with file and line, and the
rest is still linted).`,
		Example: `  kordon netpol lint examples/plain
  kordon netpol lint manifests/ -o sarif > netpol.sarif
  kordon netpol lint manifests/ --exceptions netpol-exceptions.yaml
  kordon netpol lint --cluster --fail-on high`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rep.prepare(nil); err != nil {
				return err
			}
			cat, err := rules.BuiltinCatalogue()
			if err != nil {
				return err
			}
			loaded, err := in.loadObjects(cmd, args)
			if err != nil {
				return err
			}
			c, problems := model.FromObjects(loaded.Objects)
			res, err := lint.Run(cat, c)
			if err != nil {
				return err
			}
			pin := pipeline.Input{
				Findings: res.Findings, Tallies: res.Tallies,
				Resources: len(c.Workloads) + len(c.Policies) + len(c.Namespaces),
				Checks:    len(lint.IDs()),
				Objects:   loaded.Objects,
			}
			for _, e := range loaded.Errors {
				pin.Errors = append(pin.Errors, finding.Problem{File: e.File, Line: e.Line, Message: e.Err.Error()})
			}
			for _, w := range loaded.Warnings {
				pin.Warnings = append(pin.Warnings, finding.Problem{File: w.File, Line: w.Line, Message: w.Err.Error()})
			}
			for _, p := range problems {
				res := finding.Resource{APIVersion: p.Ref.APIVersion, Kind: p.Ref.Kind, Namespace: p.Ref.Namespace, Name: p.Ref.Name}
				pin.Errors = append(pin.Errors, finding.Problem{File: p.Source.File, Line: p.Source.Line, Resource: &res,
					Message: "left out of the analysis: " + p.Message})
			}
			return rep.finish(cmd, cat, pin, strings.Join(args, " "))
		},
	}
	in.register(cmd)
	rep.register(cmd, "high")
	return cmd
}
