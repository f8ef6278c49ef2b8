package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// harness is a running webhook registered with a real API server.
type harness struct {
	t        *testing.T
	env      *testenv.Env
	addr     string
	opsAddr  string // plain HTTP: /healthz, /readyz, /metrics
	ca       *certs.Bundle
	certDir  string
	logs     *syncBuffer
	registry *prometheus.Registry
	stop     func()
	webhook  string // the ValidatingWebhookConfiguration's name
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWebhook starts the webhook with cfgYAML, serving on 127.0.0.1 with a
// fresh CA, and registers it with the API server (failurePolicy Fail).
func startWebhook(t *testing.T, env *testenv.Env, cfgYAML string) *harness {
	t.Helper()
	return startWebhookWith(t, env, cfgYAML, serveOptions{})
}

// serveOptions change how startWebhookWith serves.
type serveOptions struct {
	// ln is the webhook's listener; nil listens on 127.0.0.1:0.
	ln net.Listener
	// ca signs the serving certificate; nil generates one.
	ca *certs.Bundle
	// clientCAs and clientCNs require the API server's client certificate.
	clientCAs *x509.CertPool
	clientCNs []string
}

// startWebhookWith is startWebhook with serving options.
func startWebhookWith(t *testing.T, env *testenv.Env, cfgYAML string, so serveOptions) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	catalogue, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	caches := admission.StartCaches(ctx, env.Client, 0)
	h := &harness{t: t, env: env, logs: &syncBuffer{}, registry: prometheus.NewRegistry(), webhook: testenv.UniqueName("kordon")}
	w, _, err := admission.New(admission.Options{
		Config:          cfg,
		Catalogue:       catalogue,
		OwnNamespace:    "kordon-system",
		NetworkPolicies: caches.NetworkPolicies,
		Namespaces:      caches.Namespaces,
		NamespaceGetter: caches.GetNamespace,
		// Every decision, admitted ones without violations too (debug).
		Logger:  slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: admission.NewMetrics(h.registry),
	})
	if err != nil {
		cancel()
		t.Fatalf("webhook: %v", err)
	}
	h.ca = so.ca
	if h.ca == nil {
		if h.ca, err = certs.Generate("kordon-e2e", []string{"127.0.0.1"}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	h.certDir = t.TempDir()
	h.writeServing(h.ca.Serving)
	reloader, err := certs.NewReloader(filepath.Join(h.certDir, "tls.crt"), filepath.Join(h.certDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	go reloader.Run(ctx, 50*time.Millisecond, nil, nil)
	ln := so.ln
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr, h.opsAddr = ln.Addr().String(), opsLn.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- admission.Serve(ctx, ln, admission.ServerOptions{
			Webhook: w, GetCertificate: reloader.GetCertificate, OpsListener: opsLn, Gatherer: h.registry, Ready: caches.Synced,
			ClientCAs: so.clientCAs, ClientCNs: so.clientCNs, ShutdownTimeout: 5 * time.Second,
		})
	}()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	testenv.Eventually(t, "caches sync", func() error {
		if !caches.Synced() {
			return fmt.Errorf("not synced")
		}
		return nil
	})
	h.grantEveryoneAdmin()
	h.register(admissionregistrationv1.Fail)
	return h
}

func (h *harness) writeServing(p certs.Pair) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.certDir, "tls.key"), p.KeyPEM, 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.certDir, "tls.crt"), p.CertPEM, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// register creates or updates the ValidatingWebhookConfiguration.
func (h *harness) register(policy admissionregistrationv1.FailurePolicyType) {
	h.t.Helper()
	url := "https://" + h.addr + admission.ValidatePath
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(5)
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources,
		}}
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: h.webhook},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.kordon.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: h.ca.CA.CertPEM},
			FailurePolicy:           &policy,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", "kordon-system"},
			}}},
			Rules: []admissionregistrationv1.RuleWithOperations{
				rule("", "pods", "pods/ephemeralcontainers", "services", "namespaces", "configmaps", "replicationcontrollers"),
				rule("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
				rule("batch", "jobs", "cronjobs"),
				rule("networking.k8s.io", "networkpolicies", "ingresses"),
				rule("rbac.authorization.k8s.io", "roles", "rolebindings", "clusterroles", "clusterrolebindings"),
			},
		}},
	}
	ctx := context.Background()
	api := h.env.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	existing, err := api.Get(ctx, h.webhook, metav1.GetOptions{})
	if err == nil {
		vwc.ResourceVersion = existing.ResourceVersion
		_, err = api.Update(ctx, vwc, metav1.UpdateOptions{})
	} else {
		_, err = api.Create(ctx, vwc, metav1.CreateOptions{})
	}
	if err != nil {
		h.t.Fatalf("register webhook: %v", err)
	}
	h.t.Cleanup(func() { _ = api.Delete(context.Background(), h.webhook, metav1.DeleteOptions{}) })
}

// grantEveryoneAdmin binds cluster-admin to every authenticated user, so
// that only the webhook stands between the test users and the API.
func (h *harness) grantEveryoneAdmin() {
	h.t.Helper()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-everyone-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "system:authenticated"}},
	}
	_, err := h.env.Client.RbacV1().ClusterRoleBindings().Create(context.Background(), crb, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		h.t.Fatalf("bind cluster-admin: %v", err)
	}
}

// warnings collects the warnings a client receives.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

// as returns a client acting as user with groups, and the warnings it receives.
func (h *harness) as(user string, groups ...string) (kubernetes.Interface, *warnings) {
	h.t.Helper()
	cfg := h.env.ImpersonatedConfig(user, groups...)
	ws := &warnings{}
	cfg.WarningHandler = ws
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return c, ws
}

// namespace creates a namespace with labels and its default service
// account (no controller makes it in the test control plane).
func (h *harness) namespace(prefix string, labels map[string]string) string {
	h.t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName(prefix), Labels: labels}}
	if _, err := h.env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		h.t.Fatalf("create namespace: %v", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
	if _, err := h.env.Client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		h.t.Fatalf("create service account: %v", err)
	}
	return ns.Name
}

// servingSerial returns the serial number of the certificate the webhook serves.
func (h *harness) servingSerial() string {
	h.t.Helper()
	pool := certsPool(h.ca)
	conn, err := tls.Dial("tcp", h.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		h.t.Fatalf("dial webhook: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

var _ rest.WarningHandler = (*warnings)(nil)
