package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
	st "github.com/kordon-dev/kordon/internal/image/signature/signaturetest"
)

// TestDecideVerifiedImagesRegistryDown: when one image's registry is down
// and another image is unsigned, the decision keeps the violation and
// reports that the policy could not decide; failureAction answers for the
// part it could not decide, never hiding the part it could.
func TestDecideVerifiedImagesRegistryDown(t *testing.T) {
	up, _ := st.StartRegistry(t)
	down, srv := st.StartRegistry(t)
	key := st.NewKeyPair(t)
	unsigned := st.PushImage(t, up, "app", "v1")
	gone := st.PushImage(t, down, "app", "v1")
	srv.Close()
	f := newFixture(t)
	for _, action := range []config.Action{config.Enforce, config.Warn} {
		t.Run(string(action), func(t *testing.T) {
			w := f.webhook(fmt.Sprintf(`
failureAction: allow
governance:
  verifiedImages:
    action: %s
    images: [{name: all, images: ["*"], authorities: [{name: k, publicKey: %q}]}]
`, action, key.PublicPEM))
			pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers: [{name: a, image: %q}, {name: b, image: %q}]\n", gone.String(), unsigned.String())
			req, err := requestFrom(request(t, admissionv1.Create, "alice", nil, pod, ""))
			if err != nil {
				t.Fatal(err)
			}
			d := w.Decide(context.Background(), req)
			if len(d.Violations) != 1 || d.Violations[0].RuleID != "KOR-GOV-006" || !strings.Contains(d.Violations[0].Message, "container b") {
				t.Errorf("violations: got %+v, want KOR-GOV-006 for container b", d.Violations)
			}
			if len(d.Errors) != 1 || !strings.Contains(d.Errors[0], "container a") {
				t.Errorf("errors: got %q, want container a's registry error", d.Errors)
			}
			if got, want := d.Failed != nil, action == config.Enforce; got != want {
				t.Errorf("failed: got %v, want %v", d.Failed, want)
			}
			if got, want := d.Allowed, action != config.Enforce; got != want {
				t.Errorf("allowed: got %v, want %v", got, want)
			}
		})
	}
}
