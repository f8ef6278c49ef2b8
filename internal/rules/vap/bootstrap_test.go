package vap

import (
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
)

// bootstrapLabel is the label the API server puts on its own roles and
// bindings, and that anyone creating a role or binding can put on theirs.
const bootstrapLabel = "kubernetes.io/bootstrapping"

// TestIntegrationBootstrapRBAC reads the roles and bindings a real API
// server creates for itself at start-up (its RBAC bootstrap policy) and
// checks that the RBAC rules, which recognise them by name and content
// rather than by their label, report none of them; that copies of them
// under other names, label and all, are reported; and that with every
// exportable RBAC policy bound with Deny the API server can still write
// its own objects (it re-applies them at every start), while creating a
// labelled copy is denied.
func TestIntegrationBootstrapRBAC(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()

	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var rbacRules []*rules.Rule
	for _, r := range all {
		if slices.Contains(r.Tags, "rbac") && !r.IsNative() {
			rbacRules = append(rbacRules, r)
		}
	}
	rs, err := rules.Compile(rbacRules)
	if err != nil {
		t.Fatal(err)
	}

	var builtin []*k8s.Object
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		gvr := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: strings.ToLower(kind) + "s"}
		list, err := c.dyn.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: bootstrapLabel + "=rbac-defaults"})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			item.SetAPIVersion("rbac.authorization.k8s.io/v1")
			item.SetKind(kind)
			builtin = append(builtin, &k8s.Object{Content: item.Object})
		}
	}
	if len(builtin) < 50 {
		t.Fatalf("the API server has only %d bootstrap RBAC objects; is RBAC authorization on?", len(builtin))
	}

	res, err := rs.Evaluate(ctx, builtin, rules.EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("%s: evaluation error: %s", e.RuleID, e.Message)
	}
	for _, f := range res.Findings {
		t.Errorf("%s reports the API server's own %s %s: %s", f.RuleID, f.Resource.Kind, f.Resource.Name, f.Message)
	}
	t.Logf("%d bootstrap roles and bindings checked", len(builtin))

	// The same objects under other names, label and all, are reported.
	copies := map[string][]string{
		"ClusterRoleBinding/cluster-admin":                     {"KOR-RBAC-001", "KOR-RBAC-007"},
		"ClusterRoleBinding/system:public-info-viewer":         {"KOR-RBAC-016"},
		"ClusterRole/cluster-admin":                            {"KOR-RBAC-002", "KOR-RBAC-003", "KOR-RBAC-004", "KOR-RBAC-008", "KOR-RBAC-009", "KOR-RBAC-010", "KOR-RBAC-011", "KOR-RBAC-012", "KOR-RBAC-013"},
		"ClusterRole/system:node":                              {"KOR-RBAC-002", "KOR-RBAC-004", "KOR-RBAC-013"},
		"ClusterRole/system:controller:certificate-controller": {"KOR-RBAC-011"},
	}
	var forged []*k8s.Object
	for _, o := range builtin {
		want, ok := copies[o.Kind()+"/"+o.Name()]
		if !ok {
			continue
		}
		u := &unstructured.Unstructured{Object: deepCopy(o.Content)}
		u.SetName("copy-of-" + strings.ReplaceAll(o.Name(), ":", "-"))
		u.SetResourceVersion("")
		u.SetUID("")
		cp := &k8s.Object{Content: u.Object}
		forged = append(forged, cp)
		res, err := rs.Evaluate(ctx, []*k8s.Object{cp}, rules.EvalOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range res.Findings {
			got = append(got, f.RuleID)
		}
		for _, id := range want {
			if !slices.Contains(got, id) {
				t.Errorf("%s %s, labelled %s: %s does not report it (reports %v)", cp.Kind(), cp.Name(), bootstrapLabel, id, got)
			}
		}
	}
	if len(forged) != len(copies) {
		t.Fatalf("found %d of the %d bootstrap objects to copy", len(forged), len(copies))
	}

	// Admission: every exportable RBAC policy bound with Deny.
	exp, err := Build(rs, Options{Actions: []admissionv1.ValidationAction{admissionv1.Deny}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, sentinelPolicy(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range exp.Policies {
		if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, p.Policy, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", p.Rule.ID, err)
		}
		if i < len(exp.Policies)-1 {
			if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, p.Binding, metav1.CreateOptions{}); err != nil {
				t.Fatalf("bind %s: %v", p.Policy.Name, err)
			}
			continue
		}
		defer c.bind(t, p.Binding)()
	}
	for _, o := range builtin {
		// An unchanged write, as the API server's reconciliation makes.
		if err := c.submit(ctx, o, false); err != nil {
			t.Errorf("updating the API server's own %s %s is refused: %v", o.Kind(), o.Name(), err)
		}
	}
	for _, o := range forged {
		err := c.submit(ctx, o, false)
		if err == nil || !strings.Contains(err.Error(), "denied request") {
			t.Errorf("creating %s %s, a labelled copy of a built-in: got %v, want a denial", o.Kind(), o.Name(), err)
		}
	}
	t.Logf("%d RBAC policies bound with Deny", len(exp.Policies))
}
