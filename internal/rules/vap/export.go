package vap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// DefaultNamePrefix is prepended to the lower-cased rule ID to name a
// rule's policy and binding: kordon-kor-pod-001.
const DefaultNamePrefix = "kordon-"

// Labels and annotations set on every exported policy and binding.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelRuleID     = "kordon.io/rule-id"
	LabelSeverity   = "kordon.io/severity"
	AnnotationTitle = "kordon.io/title"
	// AnnotationControls lists the rule's framework controls, comma-separated.
	AnnotationControls = "kordon.io/controls"
	// AnnotationRemediation says how to fix an object the policy rejects.
	AnnotationRemediation = "kordon.io/remediation"
	// AnnotationMinKubernetes is the oldest Kubernetes version (major.minor)
	// whose API server accepts the policy's CEL.
	AnnotationMinKubernetes = "kordon.io/min-kubernetes-version"
	// AnnotationParameters lists, as a JSON object, the parameter values
	// written into the policy's expressions (see rules.Inlined).
	AnnotationParameters = "kordon.io/parameters"
	// AnnotationActionReason, on a binding, says why it has its
	// validationActions: the rule's severity against the deny severity, or
	// one set of actions chosen for every rule.
	AnnotationActionReason = "kordon.io/action-reason"
)

// DefaultDenySeverity is the severity from which an export denies
// violations by default; bindings of rules below it warn. Denying every
// rule would make low and informational checks (a namespace without a Pod
// Security label, say) block ordinary requests such as kubectl create
// namespace.
const DefaultDenySeverity = finding.High

// NamespaceNameLabel is the label the API server sets on every namespace to
// its name; ExcludeNamespaces selects on it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Options configures an export. The zero value exports with failure policy
// Fail, in every namespace, with bindings that deny violations of rules of
// severity DefaultDenySeverity or above and warn about the others.
type Options struct {
	// NamePrefix names policies and bindings; empty means DefaultNamePrefix.
	NamePrefix string
	// FailurePolicy decides what happens when a rule's expression fails to
	// evaluate (Fail rejects the request, Ignore admits it); empty means Fail.
	FailurePolicy admissionv1.FailurePolicyType
	// Actions, when set, are the validationActions of every binding,
	// whatever the rule's severity; DenySeverity must then be nil.
	Actions []admissionv1.ValidationAction
	// DenySeverity applies when Actions is empty: the bindings of rules at
	// or above it deny (Deny), those of rules below it warn (Warn). Nil
	// means DefaultDenySeverity.
	DenySeverity *finding.Severity
	// NamespaceSelector limits the bindings to namespaces with matching
	// labels; nil selects every namespace.
	NamespaceSelector *metav1.LabelSelector
	// ExcludeNamespaces are left out of the bindings (a NotIn expression on
	// NamespaceNameLabel added to the namespace selector). Cluster-scoped
	// objects are not affected.
	ExcludeNamespaces []string
	// Resources maps kinds that are not built in (custom resources) to the
	// resource admission sees them as. It takes precedence over the
	// built-in table.
	Resources map[schema.GroupKind]schema.GroupVersionResource
	// KubernetesVersion is the version (major.minor) of the target cluster;
	// rules whose CEL its API server would not accept are skipped. Nil means
	// the newest version Kordon knows.
	KubernetesVersion *version.Version
}

// Policy is one rule's exported policy and its binding.
type Policy struct {
	Rule    *rules.Rule
	Policy  *admissionv1.ValidatingAdmissionPolicy
	Binding *admissionv1.ValidatingAdmissionPolicyBinding
	// ActionReason says why the binding has its validationActions (also
	// in its AnnotationActionReason annotation).
	ActionReason string
	// MinKubernetes is the oldest Kubernetes version that accepts the
	// policy's CEL (the libraries it uses).
	MinKubernetes *version.Version
}

// setMinKubernetes finds the oldest Kubernetes version that compiles the
// policy and records it in the policy's annotations.
func (p *Policy) setMinKubernetes(envs *celEnvs) error {
	v, err := envs.minVersion(p.Policy)
	if err != nil {
		return err
	}
	p.MinKubernetes = v
	p.Policy.Annotations[AnnotationMinKubernetes] = fmt.Sprintf("%d.%d", v.Major(), v.Minor())
	return nil
}

// Skipped is a rule that cannot be exported, and why.
type Skipped struct {
	RuleID string
	Reason string
}

// Export is the result of Build: the policies in rule order and the rules
// that were left out.
type Export struct {
	Policies []Policy
	Skipped  []Skipped
	// MinKubernetes is the oldest Kubernetes version that accepts every
	// policy of the export.
	MinKubernetes *version.Version
	// Actions are the validationActions set for every binding
	// (Options.Actions); nil when they follow the rules' severities.
	Actions []admissionv1.ValidationAction
	// DenySeverity is the severity from which bindings deny when Actions
	// is nil.
	DenySeverity finding.Severity
}

// Build exports every rule of rs, in order. Rules that cannot run at
// admission (they read the inventory, check configuration files, or carry
// TagControlPlane or TagManifests) are listed in Export.Skipped with the
// reason. Build fails, naming every offending rule, when options are
// invalid or a rule matches a kind it cannot map to a resource.
func Build(rs *rules.RuleSet, opts Options) (*Export, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	envs, err := newCELEnvs()
	if err != nil {
		return nil, err
	}
	out := &Export{MinKubernetes: OldestKubernetes, Actions: slices.Clone(opts.Actions), DenySeverity: opts.denySeverity()}
	var errs []error
	for _, r := range rs.Rules() {
		if reason := skipReason(rs, r); reason != "" {
			out.Skipped = append(out.Skipped, Skipped{RuleID: r.ID, Reason: reason})
			continue
		}
		p, err := policyFor(r, opts)
		if err == nil {
			err = p.setMinKubernetes(envs)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s (%s): %w", r.ID, r.Where(), err))
			continue
		}
		if target := opts.KubernetesVersion; target != nil && p.MinKubernetes.GreaterThan(target) {
			out.Skipped = append(out.Skipped, Skipped{RuleID: r.ID,
				Reason: fmt.Sprintf(ReasonKubernetesVersion, p.MinKubernetes, target)})
			continue
		}
		if p.MinKubernetes.GreaterThan(out.MinKubernetes) {
			out.MinKubernetes = p.MinKubernetes
		}
		out.Policies = append(out.Policies, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("export admission policies: %w", err)
	}
	return out, nil
}

func (o *Options) validate() error {
	var errs []error
	switch o.FailurePolicy {
	case "", admissionv1.Fail, admissionv1.Ignore:
	default:
		errs = append(errs, fmt.Errorf("failure policy %q: want Fail or Ignore", o.FailurePolicy))
	}
	for _, a := range o.Actions {
		switch a {
		case admissionv1.Deny, admissionv1.Warn, admissionv1.Audit:
		default:
			errs = append(errs, fmt.Errorf("validation action %q: want Deny, Warn or Audit", a))
		}
	}
	if v := o.KubernetesVersion; v != nil && v.LessThan(OldestKubernetes) {
		errs = append(errs, fmt.Errorf("target version %s: admission policies (admissionregistration.k8s.io/v1) need Kubernetes %s or later", v, OldestKubernetes))
	}
	if slices.Contains(o.Actions, admissionv1.Deny) && slices.Contains(o.Actions, admissionv1.Warn) {
		errs = append(errs, errors.New("validation actions Deny and Warn cannot be combined (the API server rejects the binding)"))
	}
	if len(o.Actions) > 0 && o.DenySeverity != nil {
		errs = append(errs, errors.New("validation actions for every rule and a deny severity exclude each other: set one"))
	}
	if s := o.DenySeverity; s != nil && (*s < finding.Info || *s > finding.Critical) {
		errs = append(errs, fmt.Errorf("deny severity %v: want info, low, medium, high or critical", *s))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("export admission policies: %w", err)
	}
	return nil
}

// denySeverity returns DenySeverity or its default.
func (o *Options) denySeverity() finding.Severity {
	if o.DenySeverity != nil {
		return *o.DenySeverity
	}
	return DefaultDenySeverity
}

// actionsFor returns the validationActions of a rule's binding and why.
func (o *Options) actionsFor(r *rules.Rule) ([]admissionv1.ValidationAction, string) {
	if len(o.Actions) > 0 {
		return slices.Clone(o.Actions), "the same actions for every rule"
	}
	deny := o.denySeverity()
	if r.Severity >= deny {
		return []admissionv1.ValidationAction{admissionv1.Deny},
			fmt.Sprintf("severity %s is at or above the deny severity %s", r.Severity, deny)
	}
	return []admissionv1.ValidationAction{admissionv1.Warn},
		fmt.Sprintf("severity %s is below the deny severity %s", r.Severity, deny)
}

// Name returns the policy and binding name of a rule: the prefix and the
// lower-cased rule ID.
func Name(prefix, ruleID string) string {
	if prefix == "" {
		prefix = DefaultNamePrefix
	}
	return prefix + strings.ToLower(ruleID)
}

func policyFor(r *rules.Rule, opts Options) (Policy, error) {
	// A ValidatingAdmissionPolicy of its own would read parameters from a
	// paramKind resource; the export instead writes the values the rule
	// runs with (set ones, else defaults) into the expressions, and lists
	// them in an annotation.
	params := paramsAnnotation(r)
	written := r
	r, err := rules.Inlined(r)
	if err != nil {
		return Policy{}, err
	}
	resourceRules, err := resourceRulesFor(r.Match, opts.Resources)
	if err != nil {
		return Policy{}, err
	}
	name := Name(opts.NamePrefix, r.ID)
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return Policy{}, fmt.Errorf("policy name %q: %s", name, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(r.ID); len(errs) > 0 {
		return Policy{}, fmt.Errorf("rule ID as label %s: %s", LabelRuleID, strings.Join(errs, "; "))
	}
	meta := metav1.ObjectMeta{
		Name: name,
		Labels: map[string]string{
			LabelManagedBy: "kordon",
			LabelRuleID:    r.ID,
			LabelSeverity:  r.Severity.String(),
		},
		Annotations: map[string]string{
			AnnotationTitle: oneLine(r.Title),
		},
	}
	if params != "" {
		meta.Annotations[AnnotationParameters] = params
	}
	if len(r.Controls) > 0 {
		meta.Annotations[AnnotationControls] = strings.Join(r.Controls, ",")
	}
	if rem := oneLine(r.Remediation); rem != "" {
		meta.Annotations[AnnotationRemediation] = rem
	}

	failure := opts.FailurePolicy
	if failure == "" {
		failure = admissionv1.Fail
	}
	var vars []admissionv1.Variable
	if r.Match.Workloads {
		for _, v := range usedPrelude(r) {
			vars = append(vars, admissionv1.Variable{Name: v.Name, Expression: v.Expression})
		}
	}
	for _, v := range r.Variables {
		vars = append(vars, admissionv1.Variable{Name: v.Name, Expression: v.Expression})
	}
	matchConditions := []admissionv1.MatchCondition{notTerminating}
	if r.Match.Workloads {
		matchConditions = append(matchConditions, podTemplateChanged)
	}
	for _, c := range r.MatchConditions {
		if strings.HasPrefix(c.Name, "kordon-") {
			return Policy{}, fmt.Errorf("match condition %q: names starting with kordon- are reserved for the export", c.Name)
		}
		matchConditions = append(matchConditions, admissionv1.MatchCondition{Name: c.Name, Expression: c.Expression})
	}
	var validations []admissionv1.Validation
	for _, v := range r.Validations {
		msg := oneLine(v.Message)
		if msg == "" {
			msg = oneLine(r.Title)
		}
		reason := metav1.StatusReasonInvalid
		validations = append(validations, admissionv1.Validation{
			Expression:        v.Expression,
			Message:           msg,
			MessageExpression: v.MessageExpression,
			Reason:            &reason,
		})
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: meta,
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &failure,
			MatchConstraints: &admissionv1.MatchResources{
				ResourceRules: resourceRules,
			},
			MatchConditions: matchConditions,
			Variables:       vars,
			Validations:     validations,
		},
	}

	actions, reason := opts.actionsFor(r)
	bindingMeta := *meta.DeepCopy()
	bindingMeta.Annotations[AnnotationActionReason] = reason
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: bindingMeta,
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: actions,
		},
	}
	if sel := namespaceSelector(opts); sel != nil {
		binding.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: sel}
	}
	return Policy{Rule: written, Policy: policy, Binding: binding, ActionReason: reason}, nil
}

// namespaceSelector combines the selector and the excluded namespaces of
// opts; nil means every namespace.
func namespaceSelector(opts Options) *metav1.LabelSelector {
	var sel *metav1.LabelSelector
	if opts.NamespaceSelector != nil {
		sel = opts.NamespaceSelector.DeepCopy()
	}
	var exclude []string
	for _, ns := range opts.ExcludeNamespaces {
		if ns != "" && !slices.Contains(exclude, ns) {
			exclude = append(exclude, ns)
		}
	}
	if len(exclude) > 0 {
		if sel == nil {
			sel = &metav1.LabelSelector{}
		}
		slices.Sort(exclude)
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
			Key:      NamespaceNameLabel,
			Operator: metav1.LabelSelectorOpNotIn,
			Values:   exclude,
		})
	}
	return sel
}

// oneLine folds whitespace runs, including line breaks (which the API
// server does not accept in a validation message), into single spaces.
// paramsAnnotation returns the values of the rule's parameters as a JSON
// object, "" for a rule without parameters.
func paramsAnnotation(r *rules.Rule) string {
	if len(r.Parameters) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("{")
	for i, p := range r.Parameters {
		v, _ := r.ParamValue(p.Name)
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", p.Name, compactJSON(v))
	}
	b.WriteString("}")
	return b.String()
}

func compactJSON(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
