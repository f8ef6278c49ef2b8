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

	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/vap"
)

func newRulesExportCmd() *cobra.Command {
	var (
		sel           ruleFlags
		format        string
		output        string
		namePrefix    string
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
See docs/vap-export.md.`,
		Example: `  kordon rules export --format vap --tag pss-baseline | kubectl apply -f -
  kordon rules export --format vap --action warn -o kordon-policies.yaml
  kordon rules export --format vap --min-severity high --namespace-selector env=prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "vap" {
				return usageErr(fmt.Errorf("--format %q: want vap", format))
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
			var buf bytes.Buffer
			if err := exp.Write(&buf); err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(output, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", output, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kordon: wrote %d policies and bindings to %s\n", len(exp.Policies), output)
			return nil
		},
	}
	sel.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "vap", "export format: vap (ValidatingAdmissionPolicy and binding per rule)")
	fl.StringVarP(&output, "output", "o", "-", "file to write, - for stdout")
	fl.StringVar(&namePrefix, "name-prefix", vap.DefaultNamePrefix, "prefix of policy and binding names (the lower-cased rule ID follows)")
	fl.StringVar(&failurePolicy, "failure-policy", "Fail", "what the API server does when an expression cannot be evaluated: Fail (reject) or Ignore (admit)")
	fl.StringSliceVar(&actions, "action", []string{"deny"}, "binding validation actions: deny, warn or audit (audit combines with either)")
	fl.StringVar(&nsSelector, "namespace-selector", "", "label selector of the namespaces the bindings apply to, e.g. env=prod (default: all)")
	fl.StringSliceVar(&excludeNS, "exclude-namespaces", []string{"kube-system"}, "namespaces the bindings leave out; --exclude-namespaces= includes every namespace")
	fl.StringVar(&k8sVersion, "kubernetes-version", "", "version of the target cluster, e.g. 1.31: rules whose CEL its API server does not accept are skipped (default: export all, the output says the oldest version it needs)")
	fl.StringArrayVar(&resources, "resource", nil, "map a custom kind to its resource: KIND.GROUP=VERSION/RESOURCE, e.g. Widget.example.com=v1/widgets (repeatable)")
	return cmd
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
