package install

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// TestRenderAPIServerFiles checks the files install writes for the API
// server: an AdmissionConfiguration naming the kubeconfig in the chosen
// folder, a kubeconfig whose user is the webhook Service's host:port with
// a client certificate the webhook's CA and common name accept, and the
// CA the webhook's ConfigMap holds.
func TestRenderAPIServerFiles(t *testing.T) {
	objs, files, err := RenderAll(Options{Namespace: "sec", ClientAuth: &ClientAuth{APIServerDir: "/srv/k8s/kordon"}}, "v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	var ac struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Plugins    []struct {
			Name          string
			Configuration struct {
				APIVersion     string `json:"apiVersion"`
				Kind           string
				KubeConfigFile string `json:"kubeConfigFile"`
			}
		}
	}
	if err := yaml.UnmarshalStrict(files[AdmissionConfigFile], &ac); err != nil {
		t.Fatalf("%s: %v", AdmissionConfigFile, err)
	}
	if ac.Kind != "AdmissionConfiguration" || len(ac.Plugins) != 1 || ac.Plugins[0].Name != "ValidatingAdmissionWebhook" ||
		ac.Plugins[0].Configuration.KubeConfigFile != "/srv/k8s/kordon/"+WebhookKubeconfigFile {
		t.Errorf("%s: got %+v", AdmissionConfigFile, ac)
	}
	kc, err := clientcmd.Load(files[WebhookKubeconfigFile])
	if err != nil {
		t.Fatalf("%s: %v", WebhookKubeconfigFile, err)
	}
	user := kc.AuthInfos["kordon-admission.sec.svc:443"]
	if len(kc.AuthInfos) != 1 || user == nil {
		t.Fatalf("%s: users %v, want kordon-admission.sec.svc:443", WebhookKubeconfigFile, kc.AuthInfos)
	}
	block, _ := pem.Decode(user.ClientCertificateData)
	if block == nil {
		t.Fatal("no client certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != DefaultClientCN {
		t.Errorf("client certificate CN %q, want %q", cert.Subject.CommonName, DefaultClientCN)
	}
	// The CA in the webhook's ConfigMap verifies the client certificate.
	var cmCA string
	for _, o := range objs {
		if o["kind"] == "ConfigMap" && k8s.Map(o, "metadata")["name"] == "kordon-admission-client-ca" {
			cmCA, _ = k8s.Map(o, "data")["ca.crt"].(string)
		}
		if o["kind"] == "Deployment" {
			args := strings.Join(toStrings(k8s.Slice(k8s.Slice(k8s.Map(k8s.Map(k8s.Map(o, "spec"), "template"), "spec"), "containers")[0].(map[string]any), "args")), " ")
			if !strings.Contains(args, "--client-ca=/etc/kordon/client-ca/ca.crt") || !strings.Contains(args, "--client-cn="+DefaultClientCN) {
				t.Errorf("Deployment args %q lack --client-ca and --client-cn", args)
			}
		}
	}
	if cmCA == "" || cmCA != string(files[ClientCAFile]) {
		t.Fatalf("client CA ConfigMap %q differs from %s", cmCA, ClientCAFile)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cmCA))
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the client CA: %v", err)
	}
	if strings.Contains(string(files[ClientCAFile]), "PRIVATE KEY") {
		t.Error("client-ca.crt holds a private key")
	}

	if _, _, err := RenderAll(Options{ClientAuth: &ClientAuth{APIServerDir: "relative"}}, "v"); err == nil {
		t.Error("relative API server folder: no error")
	}
	// Without client auth there is nothing for the API server.
	if _, files, err := RenderAll(Options{}, "v"); err != nil || files != nil {
		t.Errorf("without client auth: files %v, err %v", files, err)
	}
}

func toStrings(in []any) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i], _ = v.(string)
	}
	return out
}

func TestChartClientAuthNeedsCA(t *testing.T) {
	_, errs, err := k8s.RenderChart(context.Background(), chartDir, k8s.HelmOptions{ReleaseName: "kordon", Namespace: "kordon-system",
		Set: []string{"clientAuth.enabled=true"}})
	if err == nil && len(errs) == 0 {
		t.Fatal("clientAuth.enabled without caCert rendered")
	}
}
