package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/admission/install"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestInstalledClientAuth runs what `kordon admission install
// --client-auth-dir` renders: a real API server started with the rendered
// AdmissionConfiguration (and its kubeconfig) calls the webhook through
// the rendered ValidatingWebhookConfiguration (a Service reference, as in
// a cluster), and the webhook runs with the rendered serving certificate,
// client CA and allowed common name. The API server's calls are served
// and decide requests; on the webhook's port, a client without a
// certificate, or with one of the right common name from another CA, is
// refused in the handshake, and the rendered client certificate is served.
//
// The Service is an ExternalName service pointing at localhost (no pod
// runs in the test control plane). The webhook listens on 127.0.0.1:443,
// the installed Service port, when it can; otherwise on a free port, and
// the kubeconfig's user name takes that port instead of 443 (the only
// change made to the rendered files).
func TestInstalledClientAuth(t *testing.T) {
	dir := t.TempDir()
	objs, files, err := install.RenderAll(install.Options{ClientAuth: &install.ClientAuth{APIServerDir: dir}}, "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		t.Logf("127.0.0.1:443 is not free (%v): using another port", err)
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	kubeconfig := string(files[install.WebhookKubeconfigFile])
	if port != 443 {
		kubeconfig = strings.Replace(kubeconfig, ".svc:443", ".svc:"+strconv.Itoa(port), 1)
	}
	files[install.WebhookKubeconfigFile] = []byte(kubeconfig)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := testenv.StartWithOptions(t, testenv.Options{APIServerArgs: map[string][]string{
		"admission-control-config-file": {filepath.Join(dir, install.AdmissionConfigFile)},
	}})

	// What the webhook's pod would mount and run with.
	var serving certs.Bundle
	var clientCA []byte
	var clientCN string
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	for _, o := range objs {
		name, _ := k8s.Map(o, "metadata")["name"].(string)
		switch kind := o["kind"]; {
		case kind == "Secret":
			data := k8s.Map(o, "data")
			serving.CA.CertPEM = b64decode(t, data["ca.crt"])
			serving.Serving = certs.Pair{CertPEM: b64decode(t, data["tls.crt"]), KeyPEM: b64decode(t, data["tls.key"])}
		case kind == "ConfigMap" && name == "kordon-admission-client-ca":
			clientCA = []byte(k8s.Map(o, "data")["ca.crt"].(string))
		case kind == "Deployment":
			c := k8s.Slice(k8s.Map(k8s.Map(k8s.Map(o, "spec"), "template"), "spec"), "containers")[0].(map[string]any)
			for _, a := range k8s.Slice(c, "args") {
				if s, _ := a.(string); strings.HasPrefix(s, "--client-cn=") {
					clientCN = strings.TrimPrefix(s, "--client-cn=")
				}
			}
		case kind == "ValidatingWebhookConfiguration":
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o, &vwc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if serving.Serving.CertPEM == nil || clientCA == nil || clientCN == "" || vwc.Name == "" {
		t.Fatalf("install rendered no serving Secret, client CA ConfigMap, --client-cn or webhook configuration")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(clientCA) {
		t.Fatal("client CA ConfigMap holds no certificate")
	}
	h := startWebhookWith(t, env, "rules: [{name: pss, select: {tags: [pss-baseline]}, action: enforce}]\n",
		serveOptions{ln: ln, ca: &serving, clientCAs: pool, clientCNs: []string{clientCN}})
	ctx := context.Background()
	// The harness registered the webhook by URL: replace that by the
	// rendered configuration, which names the Service.
	hooks := env.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if err := hooks.Delete(ctx, h.webhook, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kordon-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: install.Name, Namespace: "kordon-system"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
	}
	if _, err := env.Client.CoreV1().Services("kordon-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	vwc.Webhooks[0].ClientConfig.Service.Port = ptrInt32(int32(port))
	if _, err := hooks.Create(ctx, &vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hooks.Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) })

	ns := h.namespace("e2e-install-auth", nil)
	alice, _ := h.as("alice")
	// The configuration takes effect once the API server's webhook
	// informer has it: wait for the first denial.
	testenv.Eventually(t, "the installed webhook judges", func() error {
		err := createPod(alice, ns, pod(testenv.UniqueName("root"), nil, "nginx:1", privileged))
		if err == nil || !strings.Contains(err.Error(), "KOR-POD-001") {
			return fmt.Errorf("privileged pod: %v", err)
		}
		return nil
	})
	wantAdmitted(t, "plain pod", createPod(alice, ns, pod("web", nil, "nginx:1")))
	if !strings.Contains(h.logs.String(), `"result":"denied"`) {
		t.Errorf("the webhook logged no denial:\n%s", h.logs.String())
	}

	// Direct attacks on the webhook port.
	other, err := certs.Generate("other", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.SignClient(clientCN, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kc := string(files[install.WebhookKubeconfigFile])
	apiserver := certs.Pair{CertPEM: b64decode(t, field(kc, "client-certificate-data")), KeyPEM: b64decode(t, field(kc, "client-key-data"))}
	post := func(p *certs.Pair) (int, error) {
		cfg := &tls.Config{RootCAs: certsPool(&serving), ServerName: install.ServiceHost("kordon-system")}
		if p != nil {
			c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{c}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
		resp, err := c.Post("https://"+h.addr+admission.ValidatePath, "application/json", strings.NewReader(
			`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","kind":{"group":"","version":"v1","kind":"ConfigMap"},"operation":"CREATE","namespace":"`+ns+`","userInfo":{"username":"mallory"},"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"`+ns+`"}}}}`))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := post(nil); err == nil {
		t.Errorf("client without a certificate: HTTP %d, want the handshake refused", code)
	}
	if code, err := post(&forged); err == nil {
		t.Errorf("certificate with the right common name from another CA: HTTP %d, want the handshake refused", code)
	}
	if code, err := post(&apiserver); err != nil || code != http.StatusOK {
		t.Errorf("the rendered API server certificate: %d %v, want served", code, err)
	}
}

func b64decode(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// field returns the value of "key: value" in text.
func field(text, key string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+": "); ok {
			return v
		}
	}
	return ""
}

func ptrInt32(v int32) *int32 { return &v }
