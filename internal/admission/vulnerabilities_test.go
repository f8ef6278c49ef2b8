package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/image/findings"
	"github.com/kordon-dev/kordon/internal/image/vulnindex"
)

// TestDecideUnscannedAction: an image the scan cache has no record of is
// judged with the unscanned action, capped below the policy's: deny keeps
// the policy's action, warn warns at most, allow audits; a vulnerable
// image beside it is denied where the policy enforces.
func TestDecideUnscannedAction(t *testing.T) {
	dir := t.TempDir()
	vulnerable := "sha256:" + strings.Repeat("a", 64)
	unknown := "sha256:" + strings.Repeat("b", 64)
	if err := vulnindex.Put(dir, &vulnindex.Record{Digests: []string{vulnerable}, Scanned: time.Now(),
		Findings: []findings.JSONFinding{{ID: "DSA-1", Package: findings.Package{Name: "openssl", Version: "3.0.1"}, Severity: "critical", FixedVersion: "3.0.2"}}}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	for _, tc := range []struct {
		policy    config.Action
		unscanned string
		want      config.Action
		allowed   bool
	}{
		{config.Enforce, "deny", config.Enforce, false},
		{config.Enforce, "warn", config.Warn, true},
		{config.Enforce, "", config.Warn, true},
		{config.Enforce, "allow", config.Audit, true},
		{config.Audit, "warn", config.Audit, true},
	} {
		t.Run(string(tc.policy)+"/"+tc.unscanned, func(t *testing.T) {
			w := f.webhook(fmt.Sprintf("governance:\n  vulnerableImages: {action: %s, cacheDir: %q, unscanned: %q}\n", tc.policy, dir, tc.unscanned))
			pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers: [{name: new, image: \"r.example/new@%s\"}]\n", unknown)
			req, err := requestFrom(request(t, admissionv1.Create, "alice", nil, pod, ""))
			if err != nil {
				t.Fatal(err)
			}
			d := w.Decide(context.Background(), req)
			if len(d.Violations) != 1 || d.Violations[0].RuleID != "KOR-GOV-008" || d.Violations[0].Action != tc.want || d.Allowed != tc.allowed {
				t.Fatalf("got %+v (allowed %v), want KOR-GOV-008 with action %s (allowed %v)", d.Violations, d.Allowed, tc.want, tc.allowed)
			}
			if !strings.Contains(d.Violations[0].Message, "was not judged for vulnerabilities") {
				t.Errorf("message %q does not say the image was not judged", d.Violations[0].Message)
			}
		})
	}
	w := f.webhook(fmt.Sprintf("governance:\n  vulnerableImages: {action: enforce, cacheDir: %q}\n", dir))
	pod := fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: \"r.example/app@%s\"}, {name: new, image: \"r.example/new@%s\"}]\n", vulnerable, unknown)
	req, err := requestFrom(request(t, admissionv1.Create, "alice", nil, pod, ""))
	if err != nil {
		t.Fatal(err)
	}
	d := w.Decide(context.Background(), req)
	if d.Allowed || len(d.Violations) != 2 || d.Violations[0].RuleID != "KOR-GOV-007" || d.Violations[0].Action != config.Enforce || d.Violations[1].Action != config.Warn {
		t.Errorf("deployment: got %+v (allowed %v), want KOR-GOV-007 enforced and KOR-GOV-008 warned", d.Violations, d.Allowed)
	}
}
