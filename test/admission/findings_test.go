package admission

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/decisionlog"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/report"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// auditConfig rolls rules and a governance policy out in audit mode, with
// one rule already enforced.
const auditConfig = `
rules:
  - name: pss-audit
    select: {tags: [pss-baseline, pss-restricted]}
    action: audit
  - name: rbac-audit
    select: {ids: [KOR-RBAC-001]}
    action: audit
  - name: services
    select: {ids: [KOR-SVC-001]}
    action: enforce
governance:
  trustedImages:
    action: audit
    allow: [registry.example.com/*]
`

// TestAuditDecisionsAsPolicyReport runs the webhook in audit mode behind a
// real API server, makes requests that it admits with violations, and
// turns the captured decision log into PolicyReports the way kordon
// admission findings does: the reports must name the rules and objects
// the webhook audited, each repeated violation once with its count.
func TestAuditDecisionsAsPolicyReport(t *testing.T) {
	env := testenv.Start(t)
	h := startWebhook(t, env, auditConfig)
	ctx := context.Background()
	alice, _ := h.as("alice", "developers")
	ns := h.namespace("e2e-audit-report", nil)

	// Audit admits everything: wait until a decision about a probe is logged.
	testenv.Eventually(t, "webhook in the admission chain", func() error {
		name := testenv.UniqueName("probe")
		if err := createPod(alice, ns, pod(name, nil, goodImage)); err != nil {
			return err
		}
		if h.logLine(name) == "" {
			return fmt.Errorf("no decision logged for %s", name)
		}
		return nil
	})

	// The same privileged pod, created three times.
	for i := 0; i < 3; i++ {
		wantAdmitted(t, "privileged pod in audit mode", createPod(alice, ns, pod("root", nil, goodImage, privileged)))
		if err := alice.CoreV1().Pods(ns).Delete(ctx, "root", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatalf("delete pod: %v", err)
		}
		testenv.Eventually(t, "pod root gone", func() error {
			if _, err := alice.CoreV1().Pods(ns).Get(ctx, "root", metav1.GetOptions{}); err == nil {
				return fmt.Errorf("pod root still exists")
			}
			return nil
		})
	}
	wantAdmitted(t, "untrusted image in audit mode", createPod(alice, ns, pod("quay", nil, "quay.io/shop/web:1.0")))
	web := pod("", nil, goodImage)
	web.Spec.HostNetwork = true
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}}, Spec: web.Spec},
		},
	}
	_, err := alice.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	wantAdmitted(t, "hostNetwork deployment in audit mode", err)
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("devs-admin")},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "developers"}},
	}
	_, err = alice.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	wantAdmitted(t, "cluster-admin binding in audit mode", err)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "edge"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}
	_, err = alice.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	wantDenied(t, "NodePort service", err, "KOR-SVC-001")

	// What kordon admission findings --action audit -o policyreport does.
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	c := decisionlog.NewCollector(decisionlog.Options{Catalogue: cat, Actions: []config.Action{config.Audit}})
	if err := c.Read(strings.NewReader(h.logs.String()), "webhook.log"); err != nil {
		t.Fatal(err)
	}
	in := c.Input()
	rep := pipeline.Build(in, pipeline.Options{Names: cat.Names})
	if len(rep.Errors) > 0 {
		t.Errorf("report errors: %+v", rep.Errors)
	}
	var out bytes.Buffer
	if err := report.Write(&out, "policyreport", rep, report.Options{}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		Policy    string `json:"policy"`
		Result    string `json:"result"`
		Message   string `json:"message"`
		Resources []struct {
			APIVersion, Kind, Namespace, Name string
		} `json:"resources"`
	}
	got := map[string][]string{} // "Kind namespace/name" → policies
	messages := map[string]string{}
	reports := map[string]string{} // report name → kind
	for _, part := range strings.Split(out.String(), "\n---\n") {
		var doc struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace string
			} `json:"metadata"`
			Results []result `json:"results"`
		}
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			t.Fatalf("not a PolicyReport: %v\n%s", err, part)
		}
		reports[doc.Metadata.Name] = doc.Kind
		for _, r := range doc.Results {
			if r.Result != "fail" || len(r.Resources) != 1 {
				t.Errorf("result %+v: want one failed resource", r)
				continue
			}
			res := r.Resources[0]
			if res.Namespace != doc.Metadata.Namespace {
				t.Errorf("%s %s/%s is in the report of namespace %q", res.Kind, res.Namespace, res.Name, doc.Metadata.Namespace)
			}
			key := fmt.Sprintf("%s %s %s/%s", res.APIVersion, res.Kind, res.Namespace, res.Name)
			got[key] = append(got[key], r.Policy)
			messages[key+" "+r.Policy] = r.Message
		}
	}
	if reports["kordon-"+ns] != "PolicyReport" || reports["kordon-cluster"] != "ClusterPolicyReport" {
		t.Errorf("reports: got %v, want a PolicyReport for %s and the ClusterPolicyReport", reports, ns)
	}
	want := map[string][]string{
		"v1 Pod " + ns + "/root":                                       {"KOR-POD-001", "KOR-POD-002"},
		"v1 Pod " + ns + "/quay":                                       {"KOR-GOV-004"},
		"apps/v1 Deployment " + ns + "/api":                            {"KOR-POD-002"},
		"rbac.authorization.k8s.io/v1 ClusterRoleBinding /" + crb.Name: {"KOR-RBAC-001"},
	}
	for obj, policies := range want {
		have := got[obj]
		for _, p := range policies {
			if !slices.Contains(have, p) {
				t.Errorf("%s: results %v lack %s", obj, have, p)
			}
		}
		// One result per check and object: repeated decisions are merged.
		for _, p := range have {
			if n := countOf(have, p); n != 1 {
				t.Errorf("%s: %d results for %s, want 1", obj, n, p)
			}
		}
	}
	for obj := range got {
		if _, ok := want[obj]; !ok && !strings.Contains(obj, "/probe-") {
			t.Errorf("unexpected object in the reports: %s %v", obj, got[obj])
		}
	}
	if m := messages["v1 Pod "+ns+"/root KOR-POD-001"]; !strings.Contains(m, "(audit, binding pss-audit; seen 3 times ") {
		t.Errorf("message of the pod created three times: got %q", m)
	}
	if m := messages["v1 Pod "+ns+"/quay KOR-GOV-004"]; !strings.Contains(m, "quay.io/shop/web") || !strings.Contains(m, "(audit, governance; seen once at ") {
		t.Errorf("message of the untrusted image: got %q", m)
	}
	if strings.Contains(out.String(), "KOR-SVC-001") {
		t.Errorf("the enforced NodePort denial is in an audit-only report:\n%s", out.String())
	}

	// Without the action filter the enforced denial is a finding too.
	all := decisionlog.NewCollector(decisionlog.Options{Catalogue: cat})
	if err := all.Read(strings.NewReader(h.logs.String()), "webhook.log"); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range all.Input().Findings {
		if f.RuleID == "KOR-SVC-001" && f.Resource.Kind == "Service" && f.Resource.Name == "edge" && strings.Contains(f.Message, "(enforce, binding services;") {
			found = true
		}
	}
	if !found {
		t.Errorf("no enforce finding for the denied NodePort service in %+v", all.Input().Findings)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
