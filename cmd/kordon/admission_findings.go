package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/decisionlog"
)

type admissionFindingsFlags struct {
	rules   ruleFlags
	report  reportFlags
	actions []string
	since   time.Duration
}

func newAdmissionFindingsCmd() *cobra.Command {
	f := &admissionFindingsFlags{}
	cmd := &cobra.Command{
		Use:   "findings [LOG ...]",
		Short: "Report the violations in the webhook's decision logs as findings",
		Long: `findings reads the decision logs of kordon admission serve (the JSON lines
with msg "admission decision") and reports every violation they record as a
finding, in any report format: what an audit-mode rollout would deny,
written as a PolicyReport, SARIF, JSON or a table like any other finding.

Inputs are log files, or standard input (- or no argument). Lines that are
not decision lines are skipped, so a whole container log can be piped in,
with or without kubectl's --prefix and --timestamps. Title, severity,
controls and remediation come from the rule catalogue (the built-in rules
and --rules folders, as the webhook was given them).

A violation decided again and again (the same object created or updated
many times) is one finding; its message ends with the action, the rule
binding and how often and when it was seen:
  privileged containers: "shell" (audit, binding pss-audit; seen 3 times between ...)

Exit codes: 0 no finding at or above --fail-on; 1 otherwise; 2 usage errors,
or log lines that could not be used (a malformed decision line, a line over
1 MiB, a check the catalogue lacks), each reported with file and line while
the rest is still read.`,
		Example: `  # What the audit bindings would have denied (one replica's log), as PolicyReports
  kubectl logs -n kordon-system deploy/kordon-admission | kordon admission findings --action audit -o policyreport

  # Every replica's log of the last day, as SARIF
  kubectl logs -n kordon-system -l app.kubernetes.io/name=kordon,app.kubernetes.io/component=admission \
      --tail=-1 --prefix \
    | kordon admission findings --since 24h -o sarif --output-file admission.sarif

  # Saved logs, with custom rules and accepted exceptions
  kordon admission findings webhook-1.log webhook-2.log --rules policies/ --exceptions exceptions.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error { return runAdmissionFindings(cmd, f, args) },
	}
	f.rules.register(cmd)
	f.report.register(cmd, "low")
	fl := cmd.Flags()
	fl.StringSliceVar(&f.actions, "action", nil, "only violations with these actions: enforce, warn, audit (comma-separated; default all)")
	fl.DurationVar(&f.since, "since", 0, "only decisions made within this duration before now, e.g. 1h or 24h (needs the log's time field)")
	// Decision logs carry no objects (whose annotations could exempt them)
	// and no passed checks (for scores).
	_ = fl.MarkHidden("no-annotation-exceptions")
	_ = fl.MarkHidden("min-score")
	return cmd
}

func runAdmissionFindings(cmd *cobra.Command, f *admissionFindingsFlags, args []string) error {
	if cmd.Flags().Changed("min-score") {
		return usageErr(fmt.Errorf("--min-score: decision logs record no passed checks, so there are no compliance scores"))
	}
	if f.since < 0 {
		return usageErr(fmt.Errorf("--since %v: want a positive duration", f.since))
	}
	actions, err := parseActions(f.actions)
	if err != nil {
		return usageErr(err)
	}
	if err := f.report.prepare(nil); err != nil {
		return err
	}
	cat, selected, err := f.rules.load()
	if err != nil {
		return err
	}
	opts := decisionlog.Options{Catalogue: cat, Actions: actions, Rules: selected}
	if f.since > 0 {
		opts.Since = time.Now().Add(-f.since)
	}
	c := decisionlog.NewCollector(opts)
	if len(args) == 0 {
		args = []string{"-"}
	}
	for _, name := range args {
		if err := readDecisionLog(cmd, c, name); err != nil {
			return usageErr(err)
		}
	}
	target := "admission decisions in " + strings.Join(args, " ")
	if len(args) == 1 && args[0] == "-" {
		target = "admission decisions on standard input"
	}
	return f.report.finish(cmd, cat, c.Input(), target)
}

// readDecisionLog reads one log file, or standard input for "-".
func readDecisionLog(cmd *cobra.Command, c *decisionlog.Collector, name string) error {
	if name == "-" {
		return c.Read(cmd.InOrStdin(), name)
	}
	file, err := os.Open(name)
	if err != nil {
		return err
	}
	defer file.Close()
	return c.Read(file, name)
}

// parseActions reads --action values.
func parseActions(values []string) ([]config.Action, error) {
	var out []config.Action
	for _, v := range values {
		a := config.Action(strings.ToLower(strings.TrimSpace(v)))
		if !a.Valid() {
			return nil, fmt.Errorf("--action %q: want enforce, warn or audit", v)
		}
		out = append(out, a)
	}
	return out, nil
}
