package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Config is the benchmark's configuration: the Pod Security Standards
// restricted profile (with baseline) enforced, and every governance policy on.
const Config = `
rules:
  - name: pss-restricted
    select: {tags: [pss-baseline, pss-restricted]}
    action: enforce
governance:
  requireNetworkPolicy:
    action: enforce
    namespaceSelector: {matchLabels: {kordon.io/netpol: required}}
  protectedLabels:
    action: enforce
    labels:
      - {key: network.kordon.io/internet, value: allowed, allowed: {groups: [security-officers]}}
      - {key: security.kordon.io/*, allowed: {serviceAccounts: [platform/gitops]}}
  namespaceScoping:
    action: enforce
    subjects:
      - {groups: [team-a], namespaces: [team-a-*]}
  trustedImages:
    action: enforce
    allow: [registry.example.com/*]
  creationRate:
    action: warn
    limit: 100
    window: 1h
    exempt: {serviceAccounts: [kube-system/*]}
`

// Server is a webhook served on 127.0.0.1 for load tests, with caches
// filled as informers would fill them: ten namespaces that require
// NetworkPolicies, each with policies for the benchmark's apps.
type Server struct {
	URL       string
	TLSConfig *tls.Config
	done      chan error
}

// NewWebhook builds the webhook with cfgYAML over caches filled as
// informers would fill them: ten namespaces ns-0..ns-9 that require
// NetworkPolicies, each with policies for the benchmark's apps.
func NewWebhook(cfgYAML string) (*admission.Webhook, error) {
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		return nil, err
	}
	catalogue, err := rules.Builtin()
	if err != nil {
		return nil, err
	}
	nsIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	npIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for i := 0; i < 10; i++ {
		ns := fmt.Sprintf("ns-%d", i)
		if err := nsIdx.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kordon.io/netpol": "required"}}}); err != nil {
			return nil, err
		}
		for j, sel := range []map[string]string{{"tier": "frontend"}, {"tier": "backend"}, {"app": "db"}} {
			np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("np-%d", j)},
				Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: sel},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
			if err := npIdx.Add(np); err != nil {
				return nil, err
			}
		}
	}
	w, _, err := admission.New(admission.Options{
		Config:          cfg,
		Catalogue:       catalogue,
		OwnNamespace:    "kordon-system",
		NetworkPolicies: networkinglisters.NewNetworkPolicyLister(npIdx),
		Namespaces:      corelisters.NewNamespaceLister(nsIdx),
		Metrics:         admission.NewMetrics(prometheus.NewRegistry()),
	})
	return w, err
}

// StartServer serves the webhook with cfgYAML until ctx ends.
func StartServer(ctx context.Context, cfgYAML string) (*Server, error) {
	w, err := NewWebhook(cfgYAML)
	if err != nil {
		return nil, err
	}
	return StartHandler(ctx, w)
}

// StartHandler serves h (kordon's webhook, or Floor) as StartServer does:
// the same TLS and HTTP server, until ctx ends.
func StartHandler(ctx context.Context, w http.Handler) (*Server, error) {
	b, err := certs.Generate("kordon-load", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(b.Serving.CertPEM, b.Serving.KeyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CA.CertPEM)
	s := &Server{URL: "https://" + ln.Addr().String() + admission.ValidatePath, TLSConfig: &tls.Config{RootCAs: pool}, done: make(chan error, 1)}
	go func() {
		s.done <- admission.Serve(ctx, ln, admission.ServerOptions{
			Webhook:        w,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pair, nil },
		})
	}()
	return s, nil
}

// Wait returns when the server has stopped (after ctx ended).
func (s *Server) Wait() error { return <-s.done }
