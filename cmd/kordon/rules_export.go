package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/vap"
)

func newRulesExportCmd() *cobra.Command {
	var (
		sel           ruleFlags
		format        string
		output        string
		outFile       string
		namePrefix    string
		denySeverity  string
		failurePolicy string
		actions       []string
		nsSelector    string
		excludeNS     []string
		resources     []string
		k8sVersion    string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export rules as native ValidatingAdmissionPolicies",
		Long: `Export the selected rules as admissionregistration.k8s.io/v1
ValidatingAdmissionPolicies, one policy and one binding (same name,
kordon-<rule-id>) per rule, as multi-document YAML for kubectl apply.

The API server then enforces the rules itself, without a webhook. Rules
that cannot run there (they read other objects of a scan, or check
configuration files, control-plane static pods or manifests as written) are
listed with the reason on stderr and in a comment at the top of the output.
Bindings leave kube-system out unless --exclude-namespaces says otherwise.

By default a binding denies the requests that break a rule of severity
high or critical and only warns about the others (--deny-severity moves
the threshold); --action instead sets the same actions for every rule. The
two flags exclude each other. Each binding states why it denies or warns
(a comment, and the kordon.io/action-reason annotation), and a summary
goes to stderr. See docs/vap-export.md.`,
		Example: `  kordon rules export --format vap --tag pss-baseline | kubectl apply -f -
  kordon rules export --format vap --action warn --output-file kordon-policies.yaml
  kordon rules export --format vap --deny-severity medium -o json
  kordon rules export --format vap --min-severity high --namespace-selector env=prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "vap" {
				return usageErr(fmt.Errorf("--format %q: want vap", format))
			}
			if err := checkExportOutput(output); err != nil {
				return usageErr(err)
			}
			if cmd.Flags().Changed("action") && cmd.Flags().Changed("deny-severity") {
				return usageErr(fmt.Errorf("--action and --deny-severity exclude each other: --action sets the same actions for every rule, --deny-severity denies from a severity up and warns below it"))
			}
			opts := vap.Options{
				NamePrefix:        namePrefix,
				FailurePolicy:     admissionv1.FailurePolicyType(failurePolicy),
				ExcludeNamespaces: excludeNS,
			}
			switch strings.ToLower(failurePolicy) {
			case "fail":
				opts.FailurePolicy = admissionv1.Fail
			case "ignore":
				opts.FailurePolicy = admissionv1.Ignore
			default:
				return usageErr(fmt.Errorf("--failure-policy %q: want Fail or Ignore", failurePolicy))
			}
			if !cmd.Flags().Changed("action") {
				sev, err := finding.ParseSeverity(denySeverity)
				if err != nil {
					return usageErr(fmt.Errorf("--deny-severity: %w", err))
				}
				opts.DenySeverity = &sev
			}
			for _, a := range actions {
				switch strings.ToLower(strings.TrimSpace(a)) {
				case "deny":
					opts.Actions = append(opts.Actions, admissionv1.Deny)
				case "warn":
					opts.Actions = append(opts.Actions, admissionv1.Warn)
				case "audit":
					opts.Actions = append(opts.Actions, admissionv1.Audit)
				default:
					return usageErr(fmt.Errorf("--action %q: want deny, warn or audit", a))
				}
			}
			if nsSelector != "" {
				s, err := metav1.ParseToLabelSelector(nsSelector)
				if err != nil {
					return usageErr(fmt.Errorf("--namespace-selector: %w", err))
				}
				opts.NamespaceSelector = s
			}
			if k8sVersion != "" {
				v, err := version.ParseGeneric(k8sVersion)
				if err != nil {
					return usageErr(fmt.Errorf("--kubernetes-version: %w", err))
				}
				opts.KubernetesVersion = version.MajorMinor(v.Major(), v.Minor())
			}
			if len(resources) > 0 {
				opts.Resources = map[schema.GroupKind]schema.GroupVersionResource{}
				for _, r := range resources {
					gk, gvr, err := parseResourceMapping(r)
					if err != nil {
						return usageErr(fmt.Errorf("--resource %q: %w", r, err))
					}
					opts.Resources[gk] = gvr
				}
			}

			_, selected, err := sel.load()
			if err != nil {
				return err
			}
			rs, err := rules.Compile(selected)
			if err != nil {
				return usageErr(err)
			}
			exp, err := vap.Build(rs, opts)
			if err != nil {
				return usageErr(err)
			}
			for _, r := range selected {
				if r.IsNative() {
					fmt.Fprintf(cmd.ErrOrStderr(), "kordon: skipped %s: decided by Go code (%s), not CEL: no policy can express it\n", r.ID, r.Native.Implementation)
				}
			}
			for _, s := range exp.Skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "kordon: skipped %s: %s\n", s.RuleID, s.Reason)
			}
			if len(exp.Policies) == 0 {
				return usageErr(fmt.Errorf("none of the %d selected rules can be exported", len(selected)))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kordon: %s\n", exp.ActionSummary())
			var buf bytes.Buffer
			write := exp.Write
			if output == "json" {
				write = exp.WriteJSON
			}
			if err := write(&buf); err != nil {
				return err
			}
			if outFile == "" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(outFile, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("--output-file: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kordon: wrote %d policies and bindings to %s\n", len(exp.Policies), outFile)
			return nil
		},
	}
	sel.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "vap", "export format: vap (ValidatingAdmissionPolicy and binding per rule)")
	fl.StringVarP(&output, "output", "o", "yaml", "output format: yaml (multi-document, with comments) or json (a v1 List)")
	fl.StringVar(&outFile, "output-file", "", "write the policies to this file instead of standard output")
	fl.StringVar(&namePrefix, "name-prefix", vap.DefaultNamePrefix, "prefix of policy and binding names (the lower-cased rule ID follows)")
	fl.StringVar(&failurePolicy, "failure-policy", "Fail", "what the API server does when an expression cannot be evaluated: Fail (reject) or Ignore (admit)")
	fl.StringVar(&denySeverity, "deny-severity", vap.DefaultDenySeverity.String(), "deny violations of rules at or above this severity (info, low, medium, high, critical) and warn below it")
	fl.StringSliceVar(&actions, "action", nil, "the same binding validation actions for every rule, whatever its severity: deny, warn or audit (audit combines with either); excludes --deny-severity")
	fl.StringVar(&nsSelector, "namespace-selector", "", "label selector of the namespaces the bindings apply to, e.g. env=prod (default: all)")
	fl.StringSliceVar(&excludeNS, "exclude-namespaces", []string{"kube-system"}, "namespaces the bindings leave out; --exclude-namespaces= includes every namespace")
	fl.StringVar(&k8sVersion, "kubernetes-version", "", "version of the target cluster, e.g. 1.31: rules whose CEL its API server does not accept are skipped (default: export all, the output says the oldest version it needs)")
	fl.StringArrayVar(&resources, "resource", nil, "map a custom kind to its resource: KIND.GROUP=VERSION/RESOURCE, e.g. Widget.example.com=v1/widgets (repeatable)")
	return cmd
}

// checkExportOutput accepts the formats of --output and explains the change
// to anyone who passes a file name, as -o meant before.
func checkExportOutput(output string) error {
	switch output {
	case "yaml", "json":
		return nil
	case "-":
		return fmt.Errorf("-o -: -o is the output format now (yaml or json); the policies go to standard output unless --output-file is set")
	}
	if strings.ContainsAny(output, `/\.`) {
		return fmt.Errorf("-o %s: -o is the output format now (yaml or json); use --output-file %s", output, output)
	}
	return fmt.Errorf("--output %q: want yaml or json (write to a file with --output-file)", output)
}

// parseResourceMapping parses KIND.GROUP=VERSION/RESOURCE (KIND alone for
// the core group).
func parseResourceMapping(s string) (schema.GroupKind, schema.GroupVersionResource, error) {
	kindGroup, versionResource, ok := strings.Cut(s, "=")
	version, resource, ok2 := strings.Cut(versionResource, "/")
	if !ok || !ok2 || kindGroup == "" || version == "" || resource == "" {
		return schema.GroupKind{}, schema.GroupVersionResource{}, fmt.Errorf("want KIND.GROUP=VERSION/RESOURCE")
	}
	gk := schema.ParseGroupKind(kindGroup)
	return gk, schema.GroupVersionResource{Group: gk.Group, Version: version, Resource: resource}, nil
}
