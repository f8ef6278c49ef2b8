package vap

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

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
)

// NamespaceNameLabel is the label the API server sets on every namespace to
// its name; ExcludeNamespaces selects on it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Options configures an export. The zero value exports with failure policy
// Fail, action Deny, in every namespace.
type Options struct {
	// NamePrefix names policies and bindings; empty means DefaultNamePrefix.
	NamePrefix string
	// FailurePolicy decides what happens when a rule's expression fails to
	// evaluate (Fail rejects the request, Ignore admits it); empty means Fail.
	FailurePolicy admissionv1.FailurePolicyType
	// Actions are the bindings' validationActions; empty means Deny.
	Actions []admissionv1.ValidationAction
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
}

// Policy is one rule's exported policy and its binding.
type Policy struct {
	Rule    *rules.Rule
	Policy  *admissionv1.ValidatingAdmissionPolicy
	Binding *admissionv1.ValidatingAdmissionPolicyBinding
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
}

// Reasons a rule is skipped.
const (
	// ReasonInventory: the rule reads other objects.
	ReasonInventory = "reads the inventory (other objects of a scan), which the API server does not provide to an admission policy"
	// ReasonConfigFile: the rule checks configuration files.
	ReasonConfigFile = "checks configuration files (%s), which never pass through the API server"
	// ReasonControlPlane: the rule checks control-plane static pods.
	ReasonControlPlane = "checks control-plane static pods (tag " + TagControlPlane + "): the kubelet runs them whatever admission decides, so a policy could only hide their mirror pods"
	// ReasonManifests: the rule checks how a manifest file is written.
	ReasonManifests = "checks manifest files (tag " + TagManifests + "): the API server completes an object before admission (namespace set, stringData merged into data), so a policy would judge something else"
)

// Tags of rules that are not exported.
const (
	// TagControlPlane marks rules that check the static pods of
	// control-plane components.
	TagControlPlane = "control-plane"
	// TagManifests marks rules about manifest files as written, such as a
	// missing namespace.
	TagManifests = "manifests"
)

// Build exports every rule of rs, in order. Rules that cannot run at
// admission (they read the inventory, check configuration files, or carry
// TagControlPlane or TagManifests) are listed in Export.Skipped with the
// reason. Build fails, naming every offending rule, when options are
// invalid or a rule matches a kind it cannot map to a resource.
func Build(rs *rules.RuleSet, opts Options) (*Export, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	out := &Export{}
	var errs []error
	for _, r := range rs.Rules() {
		if reason := skipReason(rs, r); reason != "" {
			out.Skipped = append(out.Skipped, Skipped{RuleID: r.ID, Reason: reason})
			continue
		}
		p, err := policyFor(r, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s (%s): %w", r.ID, r.Where(), err))
			continue
		}
		out.Policies = append(out.Policies, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("export admission policies: %w", err)
	}
	return out, nil
}

// skipReason says why a rule cannot be exported, or returns "".
func skipReason(rs *rules.RuleSet, r *rules.Rule) string {
	if rs.NeedsInventory(r.ID) {
		return ReasonInventory
	}
	if slices.Contains(r.Tags, TagControlPlane) {
		return ReasonControlPlane
	}
	if slices.Contains(r.Tags, TagManifests) {
		return ReasonManifests
	}
	if r.Match.Workloads {
		return ""
	}
	var config []string
	for _, rm := range r.Match.Resources {
		for _, g := range rm.APIGroups {
			if !isConfigFileGroup(g) {
				return ""
			}
			for _, k := range rm.Kinds {
				if gk := (schema.GroupKind{Group: g, Kind: k}).String(); !slices.Contains(config, gk) {
					config = append(config, gk)
				}
			}
		}
	}
	return fmt.Sprintf(ReasonConfigFile, strings.Join(config, ", "))
}

// isConfigFileGroup reports whether an API group holds only the kinds of
// component configuration files (KubeletConfiguration,
// EncryptionConfiguration, audit Policy...), which are read from disk, not
// served by the API server.
func isConfigFileGroup(group string) bool {
	return strings.HasSuffix(group, ".config.k8s.io") || group == "audit.k8s.io" || group == "kubeadm.k8s.io"
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
	if slices.Contains(o.Actions, admissionv1.Deny) && slices.Contains(o.Actions, admissionv1.Warn) {
		errs = append(errs, errors.New("validation actions Deny and Warn cannot be combined (the API server rejects the binding)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("export admission policies: %w", err)
	}
	return nil
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

	actions := slices.Clone(opts.Actions)
	if len(actions) == 0 {
		actions = []admissionv1.ValidationAction{admissionv1.Deny}
	}
	bindingMeta := *meta.DeepCopy()
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
	return Policy{Rule: r, Policy: policy, Binding: binding}, nil
}

// Match conditions the export adds in front of a rule's own, so that a
// policy does not get in the way of controllers maintaining objects that
// were created before it (or are exempt from it).
var (
	// notTerminating leaves alone objects being deleted: controllers remove
	// their finalizers with an UPDATE, which must not fail on a rule.
	notTerminating = admissionv1.MatchCondition{
		Name:       "kordon-not-terminating",
		Expression: "!has(object.metadata.deletionTimestamp)",
	}
	// podTemplateChanged re-checks a workload on UPDATE only when what its
	// pods run changes (the Pod's spec, or the pod template): the
	// Deployment controller scales and annotates old ReplicaSets, and the
	// Job controller removes finalizers from pods, with UPDATEs that a
	// denial would block, stalling rollouts away from a non-compliant
	// template. Other kinds a workload rule also matches are always
	// checked.
	podTemplateChanged = admissionv1.MatchCondition{
		Name: "kordon-pod-template-changed",
		Expression: `request.operation != 'UPDATE' || (
  object.kind == 'Pod' ? dyn(object).spec != dyn(oldObject).spec :
  object.kind == 'PodTemplate' ? dyn(object).template != dyn(oldObject).template :
  object.kind == 'CronJob' ? dyn(object).spec.jobTemplate.spec.template != dyn(oldObject).spec.jobTemplate.spec.template :
  object.kind in ['ReplicationController', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'] ?
    dyn(object).spec.template != dyn(oldObject).spec.template :
  true)`,
	}
)

// usedPrelude returns the workload variables the rule refers to, directly
// or through other workload variables, in prelude order. Unused ones are
// left out to keep the policy readable; the API server would not evaluate
// them anyway.
func usedPrelude(r *rules.Rule) []rules.Variable {
	prelude := rules.PreludeVariables()
	var text strings.Builder
	for _, v := range r.Variables {
		text.WriteString(v.Expression + "\n")
	}
	for _, v := range r.Validations {
		text.WriteString(v.Expression + "\n" + v.MessageExpression + "\n")
	}
	used := map[string]bool{}
	// Later prelude variables may use earlier ones, never the reverse, so
	// one pass from the end finds every dependency.
	for i := len(prelude) - 1; i >= 0; i-- {
		v := prelude[i]
		if refersTo(text.String(), v.Name) {
			used[v.Name] = true
			text.WriteString(v.Expression + "\n")
		}
	}
	var out []rules.Variable
	for _, v := range prelude {
		if used[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// refersTo reports whether CEL text mentions variables.<name>.
func refersTo(text, name string) bool {
	ref := "variables." + name
	for i := strings.Index(text, ref); i >= 0; i = strings.Index(text, ref) {
		end := i + len(ref)
		if end == len(text) || !isIdentChar(text[end]) {
			return true
		}
		text = text[end:]
	}
	return false
}

func isIdentChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
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

// resourceRulesFor turns a rule's match into admission resource rules for
// CREATE and UPDATE, one per group and version, sorted.
func resourceRulesFor(m rules.Match, extra map[schema.GroupKind]schema.GroupVersionResource) ([]admissionv1.NamedRuleWithOperations, error) {
	var gvrs []schema.GroupVersionResource
	if m.Workloads {
		gvrs = append(gvrs, workloadResources...)
	}
	var errs []error
	for _, rm := range m.Resources {
		groups := slices.DeleteFunc(slices.Clone(rm.APIGroups), isConfigFileGroup)
		got, err := resourcesFor(groups, rm.Kinds, extra)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gvrs = append(gvrs, got...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	type groupVersion struct{ group, version string }
	byGV := map[groupVersion][]string{}
	var order []groupVersion
	for _, gvr := range gvrs {
		gv := groupVersion{gvr.Group, gvr.Version}
		if _, ok := byGV[gv]; !ok {
			order = append(order, gv)
		}
		if !slices.Contains(byGV[gv], gvr.Resource) {
			byGV[gv] = append(byGV[gv], gvr.Resource)
		}
	}
	slices.SortFunc(order, func(a, b groupVersion) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		return strings.Compare(a.version, b.version)
	})
	out := make([]admissionv1.NamedRuleWithOperations, 0, len(order))
	for _, gv := range order {
		resources := byGV[gv]
		if slices.Contains(resources, "*") {
			resources = []string{"*"}
		}
		slices.Sort(resources)
		out = append(out, admissionv1.NamedRuleWithOperations{
			RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule: admissionv1.Rule{
					APIGroups:   []string{gv.group},
					APIVersions: []string{gv.version},
					Resources:   resources,
				},
			},
		})
	}
	return out, nil
}

// oneLine folds whitespace runs, including line breaks (which the API
// server does not accept in a validation message), into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
