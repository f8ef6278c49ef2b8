package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/rules"
)

func newRulesShowCmd() *cobra.Command {
	var sel ruleFlags
	var output string
	cmd := &cobra.Command{
		Use:     "show RULE-ID",
		Short:   "Show one rule: what it checks, why, its controls, CEL and remediation",
		Example: "  kordon rules show KOR-POD-001\n  kordon rules show KOR-POD-001 -o yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := sel.all()
			if err != nil {
				return err
			}
			cat, err := rules.NewCatalogue(all)
			if err != nil {
				return usageErr(err)
			}
			r, ok := cat.Lookup(args[0])
			if !ok {
				return usageErr(fmt.Errorf("no rule %s (see kordon rules list)", args[0]))
			}
			out := cmd.OutOrStdout()
			switch output {
			case "yaml":
				data, err := yaml.Marshal(r)
				if err != nil {
					return err
				}
				_, err = out.Write(data)
				return err
			case "text":
				printRule(out, cat, r)
				return nil
			default:
				return usageErr(fmt.Errorf("--output %q: want text or yaml", output))
			}
		},
	}
	sel.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or yaml")
	return cmd
}

func printRule(w io.Writer, cat *rules.Catalogue, r *rules.Rule) {
	fmt.Fprintf(w, "%s  %s\n", r.ID, r.Title)
	if len(r.Aliases) > 0 {
		fmt.Fprintf(w, "aliases:   %s (other IDs of this check; accepted wherever an ID is)\n", strings.Join(r.Aliases, ", "))
	}
	fmt.Fprintf(w, "severity:  %s\n", r.Severity)
	if len(r.Controls) > 0 {
		fmt.Fprintf(w, "controls:  %s\n", strings.Join(r.Controls, ", "))
	}
	if len(r.Tags) > 0 {
		fmt.Fprintf(w, "tags:      %s\n", strings.Join(r.Tags, ", "))
	}
	fmt.Fprintf(w, "runs in:   %s\n", strings.Join(runsIn(r), ", "))
	if r.IsNative() {
		fmt.Fprintf(w, "decided by: Go code in %s (a native check)\n", r.Native.Implementation)
	} else {
		fmt.Fprintf(w, "applies to: %s\n", describeMatch(r.Match))
	}
	fmt.Fprintf(w, "defined in: %s\n", r.Where())
	cause, hasCause := cat.Cause(r.ID)
	if hasCause {
		fmt.Fprintf(w, "root cause: %s, %q (with other rules; see below)\n", cause.ID, cause.Title)
	}
	if r.Description != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(r.Description))
	}
	fmt.Fprintf(w, "\nRemediation:\n  %s\n", strings.TrimSpace(r.Remediation))
	if hasCause {
		printCause(w, cause, r.ID)
	}
	if len(r.Parameters) > 0 {
		fmt.Fprintln(w, "\nParameters (params.NAME in CEL; set in .kordon.yaml or with --param "+r.ID+".NAME=VALUE):")
		for _, p := range r.Parameters {
			value, set := r.ParamValue(p.Name)
			fmt.Fprintf(w, "  %s (%s) = %s", p.Name, p.EffectiveType(), compactValue(value))
			if set {
				fmt.Fprintf(w, "   (set; default %s)", compactValue(p.Default))
			} else {
				fmt.Fprint(w, "   (default)")
			}
			fmt.Fprintln(w)
			if p.Description != "" {
				fmt.Fprintf(w, "    %s\n", indentCEL(p.Description))
			}
		}
	}
	if len(r.Variables) > 0 {
		fmt.Fprintln(w, "\nVariables (CEL):")
		for _, v := range r.Variables {
			fmt.Fprintf(w, "  %s = %s\n", v.Name, indentCEL(v.Expression))
		}
	}
	if len(r.Validations) > 0 {
		fmt.Fprintln(w, "\nValidations (CEL, true = compliant):")
		for _, v := range r.Validations {
			fmt.Fprintf(w, "  %s\n", indentCEL(v.Expression))
		}
	}
	if len(r.References) > 0 {
		fmt.Fprintln(w, "\nReferences:")
		for _, ref := range r.References {
			fmt.Fprintf(w, "  %s\n", ref)
		}
	}
}

// printCause shows the root cause a rule is part of: why its rules fail
// together, the others, and the one fix for all.
func printCause(w io.Writer, c *rules.Cause, id string) {
	var others []string
	for _, x := range c.Rules {
		if x != id {
			others = append(others, x)
		}
	}
	fmt.Fprintf(w, "\nPart of root cause %s: %s\n", c.ID, c.Title)
	fmt.Fprintf(w, "  %s\n", strings.TrimSpace(c.Explanation))
	fmt.Fprintf(w, "  With %s; the table and HTML reports show the findings of these rules on one resource together (%s).\n",
		strings.Join(others, ", "), c.Where())
	fmt.Fprintf(w, "  Fix for all of them: %s\n", strings.TrimSpace(c.Remediation))
}

func indentCEL(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

func describeMatch(m rules.Match) string {
	var parts []string
	if m.Workloads {
		parts = append(parts, "workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate)")
	}
	for _, rm := range m.Resources {
		groups := make([]string, len(rm.APIGroups))
		for i, g := range rm.APIGroups {
			if g == "" {
				g = "core"
			}
			groups[i] = g
		}
		parts = append(parts, strings.Join(rm.Kinds, ", ")+" ("+strings.Join(groups, ", ")+")")
	}
	return strings.Join(parts, "; ")
}
