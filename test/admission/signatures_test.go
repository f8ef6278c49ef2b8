package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// TestVerifiedImagesEndToEnd registers the webhook with a real API server
// and checks pods against images in a registry inside the test process
// (the webhook reads it; the API server never does), signed in the test:
// keyless with a virtual sigstore and its trusted root, and with a key.
func TestVerifiedImagesEndToEnd(t *testing.T) {
	host, _ := st.StartRegistry(t)
	down, downSrv := st.StartRegistry(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	key := st.NewKeyPair(t)
	dir := t.TempDir()
	rootFile, keyFile := filepath.Join(dir, "trusted_root.json"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(rootFile, st.TrustedRootJSON(t, vs), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key.PublicPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keyless := st.PushImage(t, host, "shop/web", "1.0")
	st.PushClassic(t, keyless, "sig", st.SignKeyless(t, vs, st.Identity, keyless, true))
	keyed := st.PushImage(t, host, "shop/worker", "2.0")
	st.PushClassic(t, keyed, "sig", st.SignKeyed(t, key, keyed))
	unsigned := st.PushImage(t, host, "shop/debug", "0.1")
	mallory := st.PushImage(t, host, "shop/evil", "6.6")
	st.PushClassic(t, mallory, "sig", st.SignKeyless(t, vs, "mallory@example.com", mallory, true))
	gone := st.PushImage(t, down, "shop/web", "1.0")
	downSrv.Close()

	cfg := fmt.Sprintf(`
failureAction: deny
governance:
  verifiedImages:
    bindings:
      - action: enforce
        namespaceSelector: {matchLabels: {kordon.io/signatures: enforce}}
      - action: warn
        namespaceSelector: {matchLabels: {kordon.io/signatures: warn}}
    images:
      - name: shop
        images: [%q, %q]
        authorities:
          - name: ci
            trustedRoot: %s
            keyless: {issuer: %q, subject: %q}
            signedCertificateTimestamps: 0
          - name: release
            key: %s
`, host+"/shop/*", down+"/shop/*", rootFile, st.Issuer, st.Identity, keyFile)
	env := testenv.Start(t)
	h := startWebhook(t, env, cfg)
	alice, warned := h.as("alice", "developers")
	enforced := h.namespace("e2e-sig-enforce", map[string]string{"kordon.io/signatures": "enforce"})
	warnNS := h.namespace("e2e-sig-warn", map[string]string{"kordon.io/signatures": "warn"})

	testenv.Eventually(t, "webhook in the admission chain", func() error {
		err := createPod(alice, enforced, pod(testenv.UniqueName("probe"), nil, unsigned.String()))
		if err == nil || !strings.Contains(err.Error(), "kordon denied") {
			return fmt.Errorf("unsigned image: got %v, want a kordon denial", err)
		}
		return nil
	})
	wantAdmitted(t, "keyless-signed image by digest", createPod(alice, enforced, pod("web", nil, keyless.String())))
	wantAdmitted(t, "key-signed image by tag", createPod(alice, enforced, pod("worker", nil, host+"/shop/worker:2.0")))
	// kubectl debug: an ephemeral container with an unsigned image.
	web, err := alice.CoreV1().Pods(enforced).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web.Spec.EphemeralContainers = append(web.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: unsigned.String()}})
	_, err = alice.CoreV1().Pods(enforced).UpdateEphemeralContainers(context.Background(), "web", web, metav1.UpdateOptions{})
	wantDenied(t, "ephemeral container with an unsigned image", err, "KOR-GOV-006")
	err = createPod(alice, enforced, pod("debug", nil, unsigned.String()))
	wantDenied(t, "unsigned image", err, "KOR-GOV-006")
	if err != nil && !strings.Contains(err.Error(), "no signature found") {
		t.Errorf("unsigned image: denial does not say why:\n%v", err)
	}
	err = createPod(alice, enforced, pod("evil", nil, mallory.String()))
	wantDenied(t, "image signed by another identity", err, "KOR-GOV-006")
	if err != nil && !strings.Contains(err.Error(), "mallory@example.com") {
		t.Errorf("other identity: denial does not name the identity found:\n%v", err)
	}
	err = createPod(alice, enforced, pod("gone", nil, gone.String()))
	if err == nil || !strings.Contains(err.Error(), "kordon could not decide") || !strings.Contains(err.Error(), "KOR-GOV-006") {
		t.Errorf("registry down: got %v, want failureAction deny naming KOR-GOV-006", err)
	}

	before := len(warned.all())
	wantAdmitted(t, "unsigned image where signatures only warn", createPod(alice, warnNS, pod("debug", nil, unsigned.String())))
	if got := warned.all()[before:]; !containsAll(got, "kordon KOR-GOV-006:") {
		t.Errorf("warnings: got %q, want KOR-GOV-006", got)
	}
	wantAdmitted(t, "outside every binding", createPod(alice, h.namespace("e2e-sig-none", nil), pod("debug", nil, unsigned.String())))
}
