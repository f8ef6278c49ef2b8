package vap

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleRules compiles testdata/rules.
func sampleRules(t *testing.T) *rules.RuleSet {
	t.Helper()
	all, err := rules.LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// compileRule compiles one rule written inline.
func compileRule(t *testing.T, r *rules.Rule) *rules.RuleSet {
	t.Helper()
	if r.Title == "" {
		r.Title = "test rule"
	}
	if r.Remediation == "" {
		r.Remediation = "fix it"
	}
	if len(r.Validations) == 0 {
		r.Validations = []rules.Validation{{Expression: "true"}}
	}
	rs, err := rules.Compile([]*rules.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestGolden exports testdata/rules and compares the YAML with
// testdata/export.golden.yaml (go test -update rewrites it).
func TestGolden(t *testing.T) {
	exp, err := Build(sampleRules(t), Options{ExcludeNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := exp.Write(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "export.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("export differs from %s (go test -update rewrites it); got:\n%s", golden, got.String())
	}

	// The same rules export to the same bytes every time.
	again, err := Build(sampleRules(t), Options{ExcludeNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := again.Write(&second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), second.Bytes()) {
		t.Error("two exports of the same rules differ")
	}
}

// TestWriteDocuments checks that every document of the output decodes into
// its API type, and that the comment lists the skipped rules.
func TestWriteDocuments(t *testing.T) {
	exp, err := Build(sampleRules(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := exp.Write(&buf); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(buf.String(), "\n---\n")
	header := docs[0]
	for _, s := range exp.Skipped {
		if !strings.Contains(header, "#   "+s.RuleID+": ") {
			t.Errorf("header does not list skipped rule %s:\n%s", s.RuleID, header)
		}
	}
	docs = docs[1:]
	if got, want := len(docs), 2*len(exp.Policies); got != want {
		t.Fatalf("got %d documents, want %d", got, want)
	}
	for i, doc := range docs {
		var obj any = &admissionv1.ValidatingAdmissionPolicy{}
		want := any(exp.Policies[i/2].Policy)
		if i%2 == 1 {
			obj, want = &admissionv1.ValidatingAdmissionPolicyBinding{}, exp.Policies[i/2].Binding
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if !reflect.DeepEqual(obj, want) {
			t.Errorf("document %d does not decode to the exported object:\n%s", i, doc)
		}
	}
}

func TestBuildSkips(t *testing.T) {
	exp, err := Build(sampleRules(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, p := range exp.Policies {
		exported = append(exported, p.Rule.ID)
	}
	if want := []string{"TEST-WL-001", "TEST-SVC-001", "TEST-RBAC-001"}; !slices.Equal(exported, want) {
		t.Errorf("exported %v, want %v", exported, want)
	}
	want := []Skipped{
		{RuleID: "TEST-NET-001", Reason: ReasonInventory},
		{RuleID: "TEST-KUBELET-001", Reason: "checks configuration files (KubeletConfiguration.kubelet.config.k8s.io), which never pass through the API server"},
		{RuleID: "TEST-CP-001", Reason: ReasonControlPlane},
		{RuleID: "TEST-NS-001", Reason: ReasonManifests},
	}
	if !reflect.DeepEqual(exp.Skipped, want) {
		t.Errorf("skipped:\ngot  %v\nwant %v", exp.Skipped, want)
	}
}

func TestResourceRules(t *testing.T) {
	rule := func(group, version string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources},
		}}
	}
	widget := schema.GroupKind{Group: "example.com", Kind: "Widget"}
	tests := []struct {
		name    string
		match   rules.Match
		extra   map[schema.GroupKind]schema.GroupVersionResource
		want    []admissionv1.NamedRuleWithOperations
		wantErr string
	}{
		{
			name:  "workloads",
			match: rules.Match{Workloads: true},
			want: []admissionv1.NamedRuleWithOperations{
				rule("", "v1", "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"),
				rule("apps", "v1", "daemonsets", "deployments", "replicasets", "statefulsets"),
				rule("batch", "v1", "cronjobs", "jobs"),
			},
		},
		{
			name: "kinds in two groups, sorted, no duplicates",
			match: rules.Match{Resources: []rules.ResourceMatch{
				{APIGroups: []string{"rbac.authorization.k8s.io"}, Kinds: []string{"RoleBinding", "ClusterRoleBinding"}},
				{APIGroups: []string{""}, Kinds: []string{"ServiceAccount", "Secret"}},
				{APIGroups: []string{""}, Kinds: []string{"Secret"}},
			}},
			want: []admissionv1.NamedRuleWithOperations{
				rule("", "v1", "secrets", "serviceaccounts"),
				rule("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "rolebindings"),
			},
		},
		{
			name:  "workloads and a resource of the same group",
			match: rules.Match{Workloads: true, Resources: []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"Pod", "Service"}}}},
			want: []admissionv1.NamedRuleWithOperations{
				rule("", "v1", "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers", "services"),
				rule("apps", "v1", "daemonsets", "deployments", "replicasets", "statefulsets"),
				rule("batch", "v1", "cronjobs", "jobs"),
			},
		},
		{
			name:  "any group",
			match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"*"}, Kinds: []string{"Event"}}}},
			want:  []admissionv1.NamedRuleWithOperations{rule("", "v1", "events"), rule("events.k8s.io", "v1", "events")},
		},
		{
			name:  "any kind",
			match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"apps"}, Kinds: []string{"*", "Deployment"}}}},
			want:  []admissionv1.NamedRuleWithOperations{rule("apps", "*", "*"), rule("apps", "v1", "deployments")},
		},
		{
			name:  "autoscaling uses v2",
			match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"autoscaling"}, Kinds: []string{"HorizontalPodAutoscaler"}}}},
			want:  []admissionv1.NamedRuleWithOperations{rule("autoscaling", "v2", "horizontalpodautoscalers")},
		},
		{
			name:  "custom kind mapped",
			match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"example.com"}, Kinds: []string{"Widget"}}}},
			extra: map[schema.GroupKind]schema.GroupVersionResource{widget: {Group: "example.com", Version: "v1beta1", Resource: "widgets"}},
			want:  []admissionv1.NamedRuleWithOperations{rule("example.com", "v1beta1", "widgets")},
		},
		{
			name:    "custom kind not mapped",
			match:   rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"example.com", ""}, Kinds: []string{"Widget", "Gadget"}}}},
			wantErr: "no built-in resource for kind Gadget, Gadget.example.com, Widget, Widget.example.com",
		},
		{
			name:    "unknown kind in any group",
			match:   rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"*"}, Kinds: []string{"Widget"}}}},
			wantErr: "no built-in resource for kind Widget (any group)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resourceRulesFor(tt.match, tt.extra)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMatchConditions(t *testing.T) {
	rs := compileRule(t, &rules.Rule{ID: "TEST-SVC-9", Match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"Service"}}}}})
	exp, err := Build(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exp.Policies[0].Policy.Spec.MatchConditions, []admissionv1.MatchCondition{notTerminating}; !reflect.DeepEqual(got, want) {
		t.Errorf("non-workload rule: got %+v, want only %s", got, notTerminating.Name)
	}
	rs = compileRule(t, &rules.Rule{ID: "TEST-SVC-10", Match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"Service"}}}},
		MatchConditions: []rules.MatchCondition{{Name: "kordon-mine", Expression: "true"}}})
	if _, err := Build(rs, Options{}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("a rule condition named kordon-*: got error %v, want one saying the prefix is reserved", err)
	}
}

func TestKubernetesVersion(t *testing.T) {
	service := rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"Service"}}}}
	tests := []struct {
		name   string
		expr   string
		target *version.Version
		want   string // min version, or "" when skipped
	}{
		{"plain CEL", "object.metadata.name != ''", nil, "1.30"},
		{"two-variable comprehension (library of 1.32)", "object.metadata.labels.transformList(k, v, v).size() < 3", nil, "1.33"},
		{"lists library of 1.34", "[3, 1].sortBy(x, x)[0] == 1", nil, "1.35"},
		{"newer than the target", "object.metadata.labels.transformList(k, v, v).size() < 3", version.MajorMinor(1, 32), ""},
		{"as new as the target", "object.metadata.labels.transformList(k, v, v).size() < 3", version.MajorMinor(1, 33), "1.33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := compileRule(t, &rules.Rule{ID: "TEST-V-1", Match: service, Validations: []rules.Validation{{Expression: tt.expr}}})
			exp, err := Build(rs, Options{KubernetesVersion: tt.target})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(exp.Policies) != 0 || len(exp.Skipped) != 1 || !strings.Contains(exp.Skipped[0].Reason, "needs Kubernetes 1.33") {
					t.Errorf("got policies %d, skipped %+v; want the rule skipped for needing 1.33", len(exp.Policies), exp.Skipped)
				}
				return
			}
			if got := exp.Policies[0].Policy.Annotations[AnnotationMinKubernetes]; got != tt.want {
				t.Errorf("min version: got %s, want %s", got, tt.want)
			}
			if got := fmt.Sprintf("%d.%d", exp.MinKubernetes.Major(), exp.MinKubernetes.Minor()); got != tt.want {
				t.Errorf("export min version: got %s, want %s", got, tt.want)
			}
		})
	}
	rs := compileRule(t, &rules.Rule{ID: "TEST-V-2", Match: service})
	if _, err := Build(rs, Options{KubernetesVersion: version.MajorMinor(1, 29)}); err == nil || !strings.Contains(err.Error(), "1.30 or later") {
		t.Errorf("target 1.29: got error %v, want one saying 1.30 or later is needed", err)
	}
}

func TestBuildUnmappableKind(t *testing.T) {
	rs := compileRule(t, &rules.Rule{ID: "TEST-X-1", Match: rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{"example.com"}, Kinds: []string{"Widget"}}}}})
	_, err := Build(rs, Options{})
	if err == nil || !strings.Contains(err.Error(), "rule TEST-X-1") || !strings.Contains(err.Error(), "Widget.example.com") {
		t.Fatalf("got error %v, want one naming the rule and the kind", err)
	}
}

func TestPolicyFields(t *testing.T) {
	rs := compileRule(t, &rules.Rule{
		ID: "TEST-WL-7", Title: "Title\n  on two lines", Severity: finding.Critical,
		Controls:        []string{"CIS:5.2.2", "PSS:privileged"},
		Remediation:     "Do\nthis.",
		Match:           rules.Match{Workloads: true},
		MatchConditions: []rules.MatchCondition{{Name: "not-system", Expression: "object.metadata.namespace != 'kube-system'"}},
		Variables:       []rules.Variable{{Name: "names", Expression: "variables.allContainers.map(c, c.name)"}},
		Validations: []rules.Validation{
			{Expression: "size(variables.names) < 3"},
			{Expression: "variables.podSpec.hostPID != true", Message: "host\nPID", MessageExpression: "'pid ' + object.metadata.name"},
		},
	})
	exp, err := Build(rs, Options{NamePrefix: "acme-"})
	if err != nil {
		t.Fatal(err)
	}
	p := exp.Policies[0]
	if got, want := p.Policy.Name, "acme-test-wl-7"; got != want {
		t.Errorf("name: got %q, want %q", got, want)
	}
	if p.Binding.Name != p.Policy.Name || p.Binding.Spec.PolicyName != p.Policy.Name {
		t.Errorf("binding %q binds %q, want both %q", p.Binding.Name, p.Binding.Spec.PolicyName, p.Policy.Name)
	}
	wantLabels := map[string]string{LabelManagedBy: "kordon", LabelRuleID: "TEST-WL-7", LabelSeverity: "critical"}
	if !reflect.DeepEqual(p.Policy.Labels, wantLabels) || !reflect.DeepEqual(p.Binding.Labels, wantLabels) {
		t.Errorf("labels: got %v and %v, want %v", p.Policy.Labels, p.Binding.Labels, wantLabels)
	}
	wantAnn := map[string]string{AnnotationTitle: "Title on two lines", AnnotationControls: "CIS:5.2.2,PSS:privileged", AnnotationRemediation: "Do this.",
		AnnotationActionReason: "severity critical is at or above the deny severity high"}
	if !reflect.DeepEqual(p.Binding.Annotations, wantAnn) {
		t.Errorf("binding annotations: got %v, want %v", p.Binding.Annotations, wantAnn)
	}
	delete(wantAnn, AnnotationActionReason)
	wantAnn[AnnotationMinKubernetes] = "1.30"
	if !reflect.DeepEqual(p.Policy.Annotations, wantAnn) {
		t.Errorf("policy annotations: got %v, want %v", p.Policy.Annotations, wantAnn)
	}
	var varNames []string
	for _, v := range p.Policy.Spec.Variables {
		varNames = append(varNames, v.Name)
	}
	if want := []string{"podSpec", "allContainers", "names"}; !slices.Equal(varNames, want) {
		t.Errorf("variables: got %v, want %v (used prelude variables first, in prelude order)", varNames, want)
	}
	invalid := metav1.StatusReasonInvalid
	wantVal := []admissionv1.Validation{
		{Expression: "size(variables.names) < 3", Message: "Title on two lines", Reason: &invalid},
		{Expression: "variables.podSpec.hostPID != true", Message: "host PID", MessageExpression: "'pid ' + object.metadata.name", Reason: &invalid},
	}
	if !reflect.DeepEqual(p.Policy.Spec.Validations, wantVal) {
		t.Errorf("validations:\ngot  %+v\nwant %+v", p.Policy.Spec.Validations, wantVal)
	}
	wantCond := []admissionv1.MatchCondition{notTerminating, podTemplateChanged, {Name: "not-system", Expression: "object.metadata.namespace != 'kube-system'"}}
	if !reflect.DeepEqual(p.Policy.Spec.MatchConditions, wantCond) {
		t.Errorf("match conditions: got %+v, want %+v", p.Policy.Spec.MatchConditions, wantCond)
	}
	if fp := p.Policy.Spec.FailurePolicy; fp == nil || *fp != admissionv1.Fail {
		t.Errorf("failure policy: got %v, want Fail", fp)
	}
	if got := p.Binding.Spec.ValidationActions; !slices.Equal(got, []admissionv1.ValidationAction{admissionv1.Deny}) {
		t.Errorf("actions: got %v, want [Deny]", got)
	}
	if p.Binding.Spec.MatchResources != nil {
		t.Errorf("match resources: got %+v, want none (every namespace)", p.Binding.Spec.MatchResources)
	}
}

func TestUsedPrelude(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"none", "object.metadata.name != ''", nil},
		{"podMeta only", "has(variables.podMeta.labels)", []string{"podMeta"}},
		{"allContainers needs podSpec", "variables.allContainers.all(c, true)", []string{"podSpec", "allContainers"}},
		{"prefix of another name is not a use", "variables.podSpecial == 1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rules.Rule{Match: rules.Match{Workloads: true}, Validations: []rules.Validation{{Expression: tt.expr}}}
			var got []string
			for _, v := range usedPrelude(r) {
				got = append(got, v.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	ignore := admissionv1.Ignore
	tests := []struct {
		name        string
		opts        Options
		wantActions []admissionv1.ValidationAction
		wantFailure admissionv1.FailurePolicyType
		wantMatch   *admissionv1.MatchResources
		wantErr     string
	}{
		{
			name:        "defaults",
			wantActions: []admissionv1.ValidationAction{admissionv1.Deny},
			wantFailure: admissionv1.Fail,
		},
		{
			name:    "actions for every rule and a deny severity",
			opts:    Options{Actions: []admissionv1.ValidationAction{admissionv1.Warn}, DenySeverity: ptr(finding.Low)},
			wantErr: "exclude each other",
		},
		{
			name:    "deny severity out of range",
			opts:    Options{DenySeverity: ptr(finding.Severity(7))},
			wantErr: "deny severity",
		},
		{
			name:        "warn and audit, ignore failures",
			opts:        Options{Actions: []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}, FailurePolicy: ignore},
			wantActions: []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit},
			wantFailure: admissionv1.Ignore,
		},
		{
			name:        "excluded namespaces, sorted and deduplicated",
			opts:        Options{ExcludeNamespaces: []string{"kube-system", "", "ingress", "kube-system"}},
			wantActions: []admissionv1.ValidationAction{admissionv1.Deny},
			wantFailure: admissionv1.Fail,
			wantMatch: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"ingress", "kube-system"}},
			}}},
		},
		{
			name: "selector and exclusion combined",
			opts: Options{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
				ExcludeNamespaces: []string{"kube-system"},
			},
			wantActions: []admissionv1.ValidationAction{admissionv1.Deny},
			wantFailure: admissionv1.Fail,
			wantMatch: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"env": "prod"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
				},
			}},
		},
		{
			name:    "deny with warn",
			opts:    Options{Actions: []admissionv1.ValidationAction{admissionv1.Deny, admissionv1.Warn}},
			wantErr: "Deny and Warn cannot be combined",
		},
		{
			name:    "unknown action",
			opts:    Options{Actions: []admissionv1.ValidationAction{"Block"}},
			wantErr: `validation action "Block"`,
		},
		{
			name:    "name prefix that makes invalid names",
			opts:    Options{NamePrefix: "Kordon_"},
			wantErr: `policy name "Kordon_test-o-1"`,
		},
		{
			name:    "unknown failure policy",
			opts:    Options{FailurePolicy: "Maybe"},
			wantErr: `failure policy "Maybe"`,
		},
	}
	rs := compileRule(t, &rules.Rule{ID: "TEST-O-1", Severity: finding.High, Match: rules.Match{Workloads: true}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Build(rs, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := exp.Policies[0]
			if got := p.Binding.Spec.ValidationActions; !slices.Equal(got, tt.wantActions) {
				t.Errorf("actions: got %v, want %v", got, tt.wantActions)
			}
			if got := *p.Policy.Spec.FailurePolicy; got != tt.wantFailure {
				t.Errorf("failure policy: got %v, want %v", got, tt.wantFailure)
			}
			if got := p.Binding.Spec.MatchResources; !reflect.DeepEqual(got, tt.wantMatch) {
				t.Errorf("match resources: got %+v, want %+v", got, tt.wantMatch)
			}
		})
	}
	// The caller's selector is not modified.
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	if _, err := Build(rs, Options{NamespaceSelector: sel, ExcludeNamespaces: []string{"kube-system"}}); err != nil {
		t.Fatal(err)
	}
	if len(sel.MatchExpressions) != 0 {
		t.Errorf("Build modified the caller's namespace selector: %+v", sel)
	}
}

// TestActions checks the bindings' validationActions: by default rules at
// or above DefaultDenySeverity deny and the others warn; DenySeverity
// moves the threshold; Actions sets the same actions for every rule, and
// cannot be combined with DenySeverity (TestOptions).
func TestActions(t *testing.T) {
	var all []*rules.Rule
	for _, sev := range finding.Severities() {
		all = append(all, &rules.Rule{
			ID: "TEST-" + strings.ToUpper(sev.String()) + "-1", Title: "t", Remediation: "r", Severity: sev,
			Match:       rules.Match{Resources: []rules.ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"Namespace"}}}},
			Validations: []rules.Validation{{Expression: "true"}},
		})
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	deny := []admissionv1.ValidationAction{admissionv1.Deny}
	warn := []admissionv1.ValidationAction{admissionv1.Warn}
	tests := []struct {
		name        string
		opts        Options
		want        map[finding.Severity][]admissionv1.ValidationAction
		wantReason  string // of the info rule
		wantSummary string
	}{
		{
			name: "default: deny from high",
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info: warn, finding.Low: warn, finding.Medium: warn, finding.High: deny, finding.Critical: deny,
			},
			wantReason:  "severity info is below the deny severity high",
			wantSummary: "2 rules deny violations (severity high and above), 3 rules warn (below high)",
		},
		{
			name: "deny from medium",
			opts: Options{DenySeverity: ptr(finding.Medium)},
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info: warn, finding.Low: warn, finding.Medium: deny, finding.High: deny, finding.Critical: deny,
			},
			wantReason:  "severity info is below the deny severity medium",
			wantSummary: "3 rules deny violations (severity medium and above), 2 rules warn (below medium)",
		},
		{
			name: "deny from critical",
			opts: Options{DenySeverity: ptr(finding.Critical)},
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info: warn, finding.Low: warn, finding.Medium: warn, finding.High: warn, finding.Critical: deny,
			},
			wantReason:  "severity info is below the deny severity critical",
			wantSummary: "1 rule denies violations (severity critical and above), 4 rules warn (below critical)",
		},
		{
			name: "deny from info: everything",
			opts: Options{DenySeverity: ptr(finding.Info)},
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info: deny, finding.Low: deny, finding.Medium: deny, finding.High: deny, finding.Critical: deny,
			},
			wantReason:  "severity info is at or above the deny severity info",
			wantSummary: "5 rules deny violations (severity info and above), 0 rules warn (below info)",
		},
		{
			name: "warn for every rule",
			opts: Options{Actions: warn},
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info: warn, finding.Low: warn, finding.Medium: warn, finding.High: warn, finding.Critical: warn,
			},
			wantReason:  "the same actions for every rule",
			wantSummary: "validation actions Warn for every rule",
		},
		{
			name: "deny and audit for every rule",
			opts: Options{Actions: []admissionv1.ValidationAction{admissionv1.Deny, admissionv1.Audit}},
			want: map[finding.Severity][]admissionv1.ValidationAction{
				finding.Info:     {admissionv1.Deny, admissionv1.Audit},
				finding.Low:      {admissionv1.Deny, admissionv1.Audit},
				finding.Medium:   {admissionv1.Deny, admissionv1.Audit},
				finding.High:     {admissionv1.Deny, admissionv1.Audit},
				finding.Critical: {admissionv1.Deny, admissionv1.Audit},
			},
			wantReason:  "the same actions for every rule",
			wantSummary: "validation actions Deny+Audit for every rule",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Build(rs, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range exp.Policies {
				if got := p.Binding.Spec.ValidationActions; !slices.Equal(got, tt.want[p.Rule.Severity]) {
					t.Errorf("%s (%s): got %v, want %v", p.Rule.ID, p.Rule.Severity, got, tt.want[p.Rule.Severity])
				}
				if p.Binding.Annotations[AnnotationActionReason] != p.ActionReason {
					t.Errorf("%s: annotation %q, reason %q", p.Rule.ID, p.Binding.Annotations[AnnotationActionReason], p.ActionReason)
				}
				if _, ok := p.Policy.Annotations[AnnotationActionReason]; ok {
					t.Errorf("%s: the policy carries the binding's %s", p.Rule.ID, AnnotationActionReason)
				}
			}
			if got := exp.Policies[0].ActionReason; got != tt.wantReason {
				t.Errorf("reason: got %q, want %q", got, tt.wantReason)
			}
			if got := exp.ActionSummary(); got != tt.wantSummary {
				t.Errorf("summary: got %q, want %q", got, tt.wantSummary)
			}
			var buf bytes.Buffer
			if err := exp.Write(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "# "+strings.ToUpper(tt.wantSummary[:1])+tt.wantSummary[1:]+"; failure policy Fail") {
				t.Errorf("the header does not state %q:\n%s", tt.wantSummary, out)
			}
			for _, p := range exp.Policies {
				want := "---\n# " + p.Rule.ID + " binding: " + actionsText(p.Binding.Spec.ValidationActions) + " (" + p.ActionReason + ")\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding"
				if !strings.Contains(out, want) {
					t.Errorf("%s: the binding is not preceded by %q", p.Rule.ID, want)
				}
			}
		})
	}
}

// TestWriteJSON checks that the JSON output is a v1 List holding, in order,
// every policy and its binding, each decoding to the exported object.
func TestWriteJSON(t *testing.T) {
	exp, err := Build(sampleRules(t), Options{ExcludeNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := exp.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if list.APIVersion != "v1" || list.Kind != "List" || len(list.Items) != 2*len(exp.Policies) {
		t.Fatalf("got %s %s with %d items, want a v1 List of %d", list.APIVersion, list.Kind, len(list.Items), 2*len(exp.Policies))
	}
	for i, item := range list.Items {
		var obj any = &admissionv1.ValidatingAdmissionPolicy{}
		want := any(exp.Policies[i/2].Policy)
		if i%2 == 1 {
			obj, want = &admissionv1.ValidatingAdmissionPolicyBinding{}, exp.Policies[i/2].Binding
		}
		if err := yaml.UnmarshalStrict(item, obj); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if !reflect.DeepEqual(obj, want) {
			t.Errorf("item %d does not decode to the exported object:\n%s", i, item)
		}
	}
}
