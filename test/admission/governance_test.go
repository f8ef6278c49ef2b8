package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kordon-dev/kordon/internal/testenv"
)

// rolloutConfig warns about missing NetworkPolicies everywhere and enforces
// them where a namespace is labelled ready; creations are limited per
// subject in namespaces named e2e-rate-*.
const rolloutConfig = `
governance:
  requireNetworkPolicy:
    bindings:
      - action: warn
      - action: enforce
        namespaceSelector: {matchLabels: {kordon.io/netpol: ready}}
  creationRate:
    namespaces: [e2e-rate-*]
    bindings:
      - action: enforce
    limit: 3
    window: 1h
    limits:
      - groups: [interns]
        exclude: {users: [lead]}
        limit: 1
`

func TestGovernanceRolloutEndToEnd(t *testing.T) {
	env := testenv.Start(t)
	h := startWebhook(t, env, rolloutConfig)
	ctx := context.Background()
	alice, aliceWarnings := h.as("alice", "developers")

	ready := h.namespace("e2e-team-a", map[string]string{"kordon.io/netpol": "ready"})
	warned := h.namespace("e2e-team-warn", nil)
	testenv.Eventually(t, "webhook in the admission chain", func() error {
		err := createPod(alice, ready, pod(testenv.UniqueName("probe"), nil, goodImage))
		if err == nil || !strings.Contains(err.Error(), "kordon denied") {
			return fmt.Errorf("pod without a NetworkPolicy: got %v, want a kordon denial", err)
		}
		return nil
	})

	t.Run("warn everywhere, enforce where ready", func(t *testing.T) {
		err := createPod(alice, ready, pod("web", map[string]string{"app": "web"}, goodImage))
		wantDenied(t, "pod without a NetworkPolicy in a ready namespace", err, "KOR-GOV-001")
		before := len(aliceWarnings.all())
		wantAdmitted(t, "pod without a NetworkPolicy elsewhere", createPod(alice, warned, pod("web", map[string]string{"app": "web"}, goodImage)))
		if got := aliceWarnings.all()[before:]; !containsAll(got, "kordon KOR-GOV-001:") {
			t.Errorf("warnings: got %q, want KOR-GOV-001", got)
		}
		// The namespace becomes ready: the enforcing binding takes over.
		nsObj, err := env.Client.CoreV1().Namespaces().Get(ctx, warned, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nsObj.Labels["kordon.io/netpol"] = "ready"
		if _, err := env.Client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "enforced once ready", func() error {
			err := createPod(alice, warned, pod(testenv.UniqueName("web"), map[string]string{"app": "web"}, goodImage))
			if err == nil || !strings.Contains(err.Error(), "KOR-GOV-001") {
				return fmt.Errorf("got %v, want a KOR-GOV-001 denial", err)
			}
			return nil
		})
	})

	// Pods in rateNS (no NetworkPolicy, not ready) are only warned about
	// by KOR-GOV-001; the creation rate enforces.
	rateNS := h.namespace("e2e-rate", nil)

	t.Run("per-group limit", func(t *testing.T) {
		ivan, _ := h.as("ivan", "interns")
		wantAdmitted(t, "first creation of an intern", createPod(ivan, rateNS, pod("ivan-1", nil, goodImage)))
		err := createPod(ivan, rateNS, pod("ivan-2", nil, goodImage))
		wantDenied(t, "second creation of an intern", err, "KOR-GOV-005")
		if err != nil && (!strings.Contains(err.Error(), "limit 1: limits[0], group interns") || !strings.Contains(err.Error(), "counted: creations this webhook replica admitted")) {
			t.Errorf("message does not say which limit applied and what is counted: %v", err)
		}
		lead, _ := h.as("lead", "interns")
		for i := 0; i < 3; i++ {
			wantAdmitted(t, "the excluded lead has the default limit", createPod(lead, rateNS, pod(fmt.Sprintf("lead-%d", i), nil, goodImage)))
		}
		wantDenied(t, "fourth creation of the lead", createPod(lead, rateNS, pod("lead-3", nil, goodImage)), "KOR-GOV-005")
	})

	t.Run("dry runs do not count", func(t *testing.T) {
		dry, _ := h.as("dry", "developers")
		for i := 0; i < 5; i++ {
			_, err := dry.CoreV1().Pods(rateNS).Create(ctx, pod(fmt.Sprintf("dry-%d", i), nil, goodImage), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			wantAdmitted(t, "dry run", err)
		}
		for i := 0; i < 3; i++ {
			wantAdmitted(t, "creation after dry runs", createPod(dry, rateNS, pod(fmt.Sprintf("dry-%d", i), nil, goodImage)))
		}
		wantDenied(t, "fourth creation", createPod(dry, rateNS, pod("dry-3", nil, goodImage)), "KOR-GOV-005")
	})

	t.Run("a creation the API server rejects after admission still counts", func(t *testing.T) {
		// Documented limit: a validating webhook is not told that the
		// object was not stored (here, its name was taken).
		dup, _ := h.as("dup", "developers")
		wantAdmitted(t, "first creation", createPod(dup, rateNS, pod("same", nil, goodImage)))
		if err := createPod(dup, rateNS, pod("same", nil, goodImage)); !apierrors.IsAlreadyExists(err) {
			t.Fatalf("second creation of the same name: got %v, want AlreadyExists", err)
		}
		wantAdmitted(t, "third creation", createPod(dup, rateNS, pod("other", nil, goodImage)))
		wantDenied(t, "fourth creation (the conflict counted)", createPod(dup, rateNS, pod("another", nil, goodImage)), "KOR-GOV-005")
	})
}
