package admission

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

const e2eConfig = `
rules:
  - name: pss
    select: {tags: [pss-baseline, pss-restricted]}
    action: enforce
    namespaceSelector: {matchExpressions: [{key: kordon.io/pss, operator: NotIn, values: [warn, audit]}]}
  - name: pss-warn
    select: {tags: [pss-baseline, pss-restricted]}
    action: warn
    namespaceSelector: {matchLabels: {kordon.io/pss: warn}}
  - name: pss-audit
    select: {tags: [pss-baseline, pss-restricted]}
    action: audit
    namespaceSelector: {matchLabels: {kordon.io/pss: audit}}
  - name: services
    select: {ids: [KOR-SVC-001, KOR-SVC-004, KOR-NET-003]}
    action: enforce
  - name: rbac
    select: {ids: [KOR-RBAC-001]}
    action: enforce
governance:
  requireNetworkPolicy:
    action: enforce
    namespaceSelector: {matchLabels: {kordon.io/netpol: required}}
  protectedLabels:
    action: enforce
    labels:
      - key: network.kordon.io/internet
        value: allowed
        allowed: {groups: [security-officers]}
  namespaceScoping:
    action: enforce
    subjects:
      - groups: [team-a]
        namespaces: [team-a-*]
  trustedImages:
    action: enforce
    allow: [registry.example.com/*]
  creationRate:
    action: enforce
    limit: 3
    window: 1h
    namespaceSelector: {matchLabels: {kordon.io/rate: counted}}
`

func pod(name string, labels map[string]string, image string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "app", Image: image,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func privileged(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	p.Spec.HostPID = true
}

const goodImage = "registry.example.com/shop/web:1.4.2"

func createPod(c kubernetes.Interface, ns string, p *corev1.Pod) error {
	_, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	return err
}

// wantDenied fails unless err is a denial by kordon naming every ID.
func wantDenied(t *testing.T, what string, err error, ids ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: admitted, want denied by %v", what, ids)
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, "kordon denied") {
		t.Errorf("%s: got %v, want a kordon denial", what, err)
		return
	}
	for _, id := range ids {
		if !strings.Contains(msg, id+":") {
			t.Errorf("%s: denial does not name %s:\n%s", what, id, msg)
		}
	}
	if !strings.Contains(msg, "(fix: ") {
		t.Errorf("%s: denial has no remediation:\n%s", what, msg)
	}
}

func wantAdmitted(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: got %v, want admitted", what, err)
	}
}

func TestAdmissionEndToEnd(t *testing.T) {
	env := testenv.Start(t)
	h := startWebhook(t, env, e2eConfig)
	ctx := context.Background()
	alice, aliceWarnings := h.as("alice", "developers")

	enforced := h.namespace("e2e-enforce", nil)
	// The API server may take a moment to start calling a new webhook.
	testenv.Eventually(t, "webhook in the admission chain", func() error {
		err := createPod(alice, enforced, pod(testenv.UniqueName("probe"), nil, goodImage, privileged))
		if err == nil || !strings.Contains(err.Error(), "kordon denied") {
			return fmt.Errorf("privileged pod: got %v, want a kordon denial", err)
		}
		return nil
	})

	t.Run("catalogue rules", func(t *testing.T) {
		err := createPod(alice, enforced, pod("root", nil, goodImage, privileged))
		wantDenied(t, "privileged pod", err, "KOR-POD-001", "KOR-POD-002")
		wantAdmitted(t, "restricted pod", createPod(alice, enforced, pod("web", nil, goodImage)))

		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "api"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}}, Spec: pod("", nil, goodImage).Spec},
			},
		}
		_, err = alice.AppsV1().Deployments(enforced).Create(ctx, d, metav1.CreateOptions{})
		wantAdmitted(t, "restricted deployment", err)
		d, err = alice.AppsV1().Deployments(enforced).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.HostNetwork = true
		_, err = alice.AppsV1().Deployments(enforced).Update(ctx, d, metav1.UpdateOptions{})
		wantDenied(t, "deployment updated to hostNetwork", err, "KOR-POD-002")

		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "edge"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}
		_, err = alice.CoreV1().Services(enforced).Create(ctx, svc, metav1.CreateOptions{})
		wantDenied(t, "NodePort service", err, "KOR-SVC-001")

		_, err = env.Client.CoreV1().Pods("kube-system").Create(ctx, pod(testenv.UniqueName("sys"), nil, goodImage, privileged), metav1.CreateOptions{})
		if err != nil && strings.Contains(err.Error(), "kordon") {
			t.Errorf("kube-system pod judged by kordon: %v", err)
		}
	})

	t.Run("ingresses, NetworkPolicies and RBAC", func(t *testing.T) {
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "shop"},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
			}}}},
		}
		_, err := alice.NetworkingV1().Ingresses(enforced).Create(ctx, ing, metav1.CreateOptions{})
		wantDenied(t, "Ingress without TLS", err, "KOR-SVC-004")
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}
		_, err = alice.NetworkingV1().Ingresses(enforced).Create(ctx, ing, metav1.CreateOptions{})
		wantAdmitted(t, "Ingress with TLS", err)

		open := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "open"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		}}
		_, err = alice.NetworkingV1().NetworkPolicies(enforced).Create(ctx, open, metav1.CreateOptions{})
		wantDenied(t, "NetworkPolicy allowing all ingress", err, "KOR-NET-003")

		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("devs-admin")},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "developers"}},
		}
		_, err = alice.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		wantDenied(t, "binding cluster-admin to a group", err, "KOR-RBAC-001")
	})

	t.Run("warn mode", func(t *testing.T) {
		ns := h.namespace("e2e-warn", map[string]string{"kordon.io/pss": "warn"})
		testenv.Eventually(t, "warnings arrive", func() error {
			before := len(aliceWarnings.all())
			if err := createPod(alice, ns, pod(testenv.UniqueName("root"), nil, goodImage, privileged)); err != nil {
				return fmt.Errorf("privileged pod in warn mode: %v", err)
			}
			got := aliceWarnings.all()[before:]
			if !containsAll(got, "kordon KOR-POD-001:", "kordon KOR-POD-002:") {
				return fmt.Errorf("warnings: got %q, want KOR-POD-001 and KOR-POD-002", got)
			}
			return nil
		})
	})

	t.Run("audit mode", func(t *testing.T) {
		ns := h.namespace("e2e-audit", map[string]string{"kordon.io/pss": "audit"})
		testenv.Eventually(t, "audit records and admits", func() error {
			name := testenv.UniqueName("audited")
			if err := createPod(alice, ns, pod(name, nil, goodImage, privileged)); err != nil {
				return fmt.Errorf("privileged pod in audit mode: %v", err)
			}
			line := h.logLine(name)
			if !strings.Contains(line, `"id":"KOR-POD-001","action":"audit"`) || !strings.Contains(line, `"result":"allowed"`) {
				return fmt.Errorf("log line for %s: got %s", name, line)
			}
			return nil
		})
		if text := h.scrape(t); !strings.Contains(text, `kordon_admission_decisions_total{action="audit",rule="KOR-POD-001"}`) {
			t.Errorf("metrics lack the audit decision")
		}
	})

	t.Run("stored violating objects can still be relabelled", func(t *testing.T) {
		ns := h.namespace("e2e-legacy", map[string]string{"kordon.io/pss": "audit"})
		name := testenv.UniqueName("legacy")
		testenv.Eventually(t, "audited pod admitted", func() error {
			return createPod(alice, ns, pod(name, nil, goodImage, privileged))
		})
		// The namespace moves from audit to enforce.
		if _, err := env.Client.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(`{"metadata":{"labels":{"kordon.io/pss":null}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "spec change of the stored pod denied", func() error {
			_, err := alice.CoreV1().Pods(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":600}}`), metav1.PatchOptions{})
			if err == nil || !strings.Contains(err.Error(), "KOR-POD-001") {
				return fmt.Errorf("spec change: got %v, want a denial by KOR-POD-001", err)
			}
			return nil
		})
		_, err := alice.CoreV1().Pods(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"legacy"}}}`), metav1.PatchOptions{})
		wantAdmitted(t, "relabelling the stored pod", err)
	})

	t.Run("ephemeral containers", func(t *testing.T) {
		name := testenv.UniqueName("debugged")
		if err := createPod(alice, enforced, pod(name, nil, goodImage)); err != nil {
			t.Fatal(err)
		}
		p, err := alice.CoreV1().Pods(enforced).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debug", Image: goodImage, SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}}
		_, err = alice.CoreV1().Pods(enforced).UpdateEphemeralContainers(ctx, name, p, metav1.UpdateOptions{})
		wantDenied(t, "privileged debug container", err, "KOR-POD-001")
		p.Spec.EphemeralContainers[0].SecurityContext = pod("", nil, goodImage).Spec.Containers[0].SecurityContext
		_, err = alice.CoreV1().Pods(enforced).UpdateEphemeralContainers(ctx, name, p, metav1.UpdateOptions{})
		wantAdmitted(t, "restricted debug container", err)
	})

	t.Run("require NetworkPolicy", func(t *testing.T) {
		// The pod follows its namespace at once: a namespace the cache
		// does not know yet is read from the API server.
		ns := h.namespace("e2e-netpol", map[string]string{"kordon.io/netpol": "required"})
		err := createPod(alice, ns, pod(testenv.UniqueName("web"), map[string]string{"app": "web"}, goodImage))
		wantDenied(t, "pod without a NetworkPolicy", err, "KOR-GOV-001")
		if err != nil && !strings.Contains(err.Error(), "has no NetworkPolicy") {
			t.Errorf("message does not say what is missing: %v", err)
		}
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		}}
		if _, err := env.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Isolated for ingress only: egress is still open (KOR-NET-002, as
		// kordon scan and netpol lint judge it).
		testenv.Eventually(t, "pod isolated for ingress only denied for egress", func() error {
			err := createPod(alice, ns, pod(testenv.UniqueName("web"), map[string]string{"app": "web"}, goodImage))
			if err == nil || !strings.Contains(err.Error(), "for egress") {
				return fmt.Errorf("got %v, want a denial naming egress", err)
			}
			return nil
		})
		egress := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "egress"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		}}
		if _, err := env.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, egress, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "selected pod admitted", func() error {
			return createPod(alice, ns, pod(testenv.UniqueName("web"), map[string]string{"app": "web"}, goodImage))
		})
		err = createPod(alice, ns, pod("db", map[string]string{"app": "db"}, goodImage))
		wantDenied(t, "pod no policy selects", err, "KOR-GOV-001")
	})

	t.Run("protected labels", func(t *testing.T) {
		officer, _ := h.as("sam", "security-officers")
		ns := h.namespace("e2e-labels", nil)
		setLabel := func(c kubernetes.Interface, value *string) error {
			var patch string
			if value == nil {
				patch = `{"metadata":{"labels":{"network.kordon.io/internet":null}}}`
			} else {
				patch = fmt.Sprintf(`{"metadata":{"labels":{"network.kordon.io/internet":%q}}}`, *value)
			}
			_, err := c.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			return err
		}
		wantDenied(t, "developer sets the pair on a namespace", setLabel(alice, ptr.To("allowed")), "KOR-GOV-002")
		wantAdmitted(t, "officer sets the pair", setLabel(officer, ptr.To("allowed")))
		_, err := alice.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"shop"}}}`), metav1.PatchOptions{})
		wantAdmitted(t, "developer changes another label", err)
		wantDenied(t, "developer changes the pair", setLabel(alice, ptr.To("denied")), "KOR-GOV-002")
		wantDenied(t, "developer removes the pair", setLabel(alice, nil), "KOR-GOV-002")
		wantAdmitted(t, "officer removes the pair", setLabel(officer, nil))

		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "egress"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "egress"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "egress", "network.kordon.io/internet": "allowed"}},
					Spec:       pod("", nil, goodImage).Spec,
				},
			},
		}
		_, err = alice.AppsV1().Deployments(enforced).Create(ctx, d, metav1.CreateOptions{})
		wantDenied(t, "developer sets the pair on a pod template", err, "KOR-GOV-002")
		_, err = officer.AppsV1().Deployments(enforced).Create(ctx, d, metav1.CreateOptions{})
		wantAdmitted(t, "officer sets the pair on a pod template", err)
		// The ReplicaSet controller copies the approved template's labels.
		rsController, _ := h.as("system:serviceaccount:kube-system:replicaset-controller", "system:serviceaccounts", "system:serviceaccounts:kube-system")
		wantAdmitted(t, "the ReplicaSet controller creates a pod from the template",
			createPod(rsController, enforced, pod(testenv.UniqueName("egress"), map[string]string{"app": "egress", "network.kordon.io/internet": "allowed"}, goodImage)))
	})

	t.Run("namespace scoping", func(t *testing.T) {
		ann, _ := h.as("ann", "team-a")
		own := h.namespace("team-a", nil)
		other := h.namespace("payments", nil)
		wantAdmitted(t, "team member in its namespace", createPod(ann, own, pod("web", nil, goodImage)))
		wantDenied(t, "team member elsewhere", createPod(ann, other, pod("web", nil, goodImage)), "KOR-GOV-003")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}
		_, err := ann.CoreV1().ConfigMaps(other).Create(ctx, cm, metav1.CreateOptions{})
		wantDenied(t, "team member creates a ConfigMap elsewhere", err, "KOR-GOV-003")
		wantAdmitted(t, "other users are not scoped", createPod(alice, other, pod("web", nil, goodImage)))
	})

	t.Run("trusted images", func(t *testing.T) {
		wantDenied(t, "untrusted registry", createPod(alice, enforced, pod("quay", nil, "quay.io/shop/web:1.0")), "KOR-GOV-004")
		wantDenied(t, "latest tag", createPod(alice, enforced, pod("latest", nil, "registry.example.com/shop/web:latest")), "KOR-GOV-004")
		wantDenied(t, "untagged", createPod(alice, enforced, pod("untagged", nil, "registry.example.com/shop/web")), "KOR-GOV-004")
	})

	t.Run("creation rate", func(t *testing.T) {
		ns := h.namespace("e2e-rate", map[string]string{"kordon.io/rate": "counted"})
		burst, _ := h.as("burst", "developers")
		probe, _ := h.as("probe", "developers")
		testenv.Eventually(t, "namespace labels reach the cache", func() error {
			// Until the cache has the namespace's label, pods are not counted.
			if err := createPod(probe, ns, pod(testenv.UniqueName("probe"), nil, goodImage)); err != nil {
				return err
			}
			if strings.Contains(h.scrape(t), `kordon_admission_creation_rate_users{limit="default"} 0`) {
				return fmt.Errorf("the probe pod was not counted")
			}
			return nil
		})
		var last error
		admitted := 0
		for i := 0; i < 6 && last == nil; i++ {
			last = createPod(burst, ns, pod(fmt.Sprintf("p%d", i), nil, goodImage))
			if last == nil {
				admitted++
			}
		}
		if admitted != 3 {
			t.Errorf("admitted %d pods before the limit, want 3", admitted)
		}
		wantDenied(t, "fourth pod within the hour", last, "KOR-GOV-005")
		if text := h.scrape(t); !strings.Contains(text, `kordon_admission_creation_rate_users_over_limit{limit="default"} 1`) || strings.Contains(text, "burst") {
			t.Errorf("metrics: want one user over the limit, and no user name")
		}
	})

	t.Run("rotated certificate", func(t *testing.T) {
		before := h.servingSerial()
		next, err := h.ca.Sign("kordon-e2e", []string{"127.0.0.1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		h.writeServing(next)
		testenv.Eventually(t, "new certificate served", func() error {
			if got := h.servingSerial(); got == before {
				return fmt.Errorf("still serving %s", got)
			}
			return nil
		})
		wantDenied(t, "privileged pod after rotation", createPod(alice, enforced, pod("root2", nil, goodImage, privileged)), "KOR-POD-001")
		wantAdmitted(t, "restricted pod after rotation", createPod(alice, enforced, pod("web2", nil, goodImage)))
	})

	t.Run("webhook down", func(t *testing.T) {
		h.stop()
		err := createPod(alice, enforced, pod("down", nil, goodImage))
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("failurePolicy Fail with the webhook down: got %v, want the request rejected", err)
		}
		if _, err := env.Client.CoreV1().Pods("kube-system").Create(ctx, pod(testenv.UniqueName("sys"), nil, goodImage), metav1.CreateOptions{}); err != nil &&
			strings.Contains(err.Error(), "webhook") {
			t.Errorf("kube-system is excluded, yet the dead webhook blocked it: %v", err)
		}
		h.register(admissionregistrationv1.Ignore)
		testenv.Eventually(t, "failurePolicy Ignore admits", func() error {
			return createPod(alice, enforced, pod(testenv.UniqueName("ignored"), nil, goodImage, privileged))
		})
	})
}

func containsAll(list []string, prefixes ...string) bool {
	for _, p := range prefixes {
		found := false
		for _, s := range list {
			if strings.HasPrefix(s, p) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// logLine returns the decision log line about the object name.
func (h *harness) logLine(name string) string {
	for _, line := range strings.Split(h.logs.String(), "\n") {
		var l struct {
			Name string `json:"name"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Name == name {
			return line
		}
	}
	return ""
}

// scrape reads /metrics from the operations port (plain HTTP).
func (h *harness) scrape(t *testing.T) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + h.opsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func certsPool(b *certs.Bundle) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CA.CertPEM)
	return pool
}
