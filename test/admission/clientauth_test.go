package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// apiServerAdmissionConfig is the AdmissionConfiguration that gives the
// API server a kubeconfig for calling webhooks (docs/admission.md).
const apiServerAdmissionConfig = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: ValidatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: KUBECONFIG
`

// webhookKubeconfig gives the API server a client certificate for each
// host:port: the user's name is the webhook's host:port (service DNS name
// and port for in-cluster webhooks).
func webhookKubeconfig(users map[string]certs.Pair) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nusers:\n")
	for host, p := range users {
		b.WriteString("  - name: \"" + host + "\"\n    user:\n")
		b.WriteString("      client-certificate-data: " + b64(p.CertPEM) + "\n")
		b.WriteString("      client-key-data: " + b64(p.KeyPEM) + "\n")
	}
	return b.String()
}

// TestAPIServerAuthenticatesToWebhook starts an API server configured
// (--admission-control-config-file) to present a client certificate to the
// webhook, and a webhook that requires it: the API server's calls are
// served and decide requests, while a client without the certificate is
// refused during the TLS handshake. A second webhook to which the API
// server presents a certificate of a common name it does not allow
// refuses the API server, whose failurePolicy Fail then rejects the
// request.
func TestAPIServerAuthenticatesToWebhook(t *testing.T) {
	serving, err := certs.Generate("kordon-e2e", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := certs.Generate("kordon-client-ca", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	apiserver, err := clientCA.SignClient("kube-apiserver-kordon", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := clientCA.SignClient("someone-else", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	good, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "webhook-kubeconfig.yaml")
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(kubeconfig, webhookKubeconfig(map[string]certs.Pair{good.Addr().String(): apiserver, bad.Addr().String(): stranger}))
	admissionConfig := filepath.Join(dir, "admission-config.yaml")
	write(admissionConfig, strings.Replace(apiServerAdmissionConfig, "KUBECONFIG", kubeconfig, 1))
	env := testenv.StartWithOptions(t, testenv.Options{APIServerArgs: map[string][]string{"admission-control-config-file": {admissionConfig}}})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCA.CA.CertPEM)
	cfg := "rules: [{name: pss, select: {tags: [pss-baseline]}, action: enforce}]\n"
	t.Run("the API server's certificate is accepted", func(t *testing.T) {
		h := startWebhookWith(t, env, cfg, serveOptions{ln: good, ca: serving, clientCAs: pool, clientCNs: []string{"kube-apiserver-kordon"}})
		ns := h.namespace("e2e-auth", nil)
		alice, _ := h.as("alice")
		wantDenied(t, "privileged pod", createPod(alice, ns, pod("root", nil, "nginx:1", privileged)), "KOR-POD-001")
		wantAdmitted(t, "plain pod", createPod(alice, ns, pod("web", nil, "nginx:1")))
		if !strings.Contains(h.logs.String(), `"name":"root","result":"denied"`) {
			t.Errorf("the webhook logged no denial:\n%s", h.logs.String())
		}

		// An unauthenticated client is refused at the TLS layer.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certsPool(serving)}}, Timeout: 10 * time.Second}
		resp, err := c.Post("https://"+h.addr+admission.ValidatePath, "application/json", strings.NewReader(`{"request":{"uid":"x"}}`))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("client without a certificate: HTTP %d, want the handshake refused", resp.StatusCode)
		}
		if !strings.Contains(err.Error(), "certificate required") && !strings.Contains(err.Error(), "bad certificate") {
			t.Logf("refused with: %v", err)
		}
	})
	t.Run("another common name is refused", func(t *testing.T) {
		h := startWebhookWith(t, env, cfg, serveOptions{ln: bad, ca: serving, clientCAs: pool, clientCNs: []string{"kube-apiserver-kordon"}})
		// Namespaces are sent to the webhook: its refusal fails the call.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("e2e-auth-cn")}}
		_, err := h.env.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("namespace through a webhook that refuses the API server: got %v, want failed calling webhook (failurePolicy Fail)", err)
		}
		if strings.Contains(h.logs.String(), "admission decision") {
			t.Errorf("the webhook decided for a refused client:\n%s", h.logs.String())
		}
	})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
