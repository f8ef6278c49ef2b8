package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// TestDecisionFindings checks that admission decisions are findings with
// the catalogue's metadata and the request's object as resource, and that
// they convert to events.
func TestDecisionFindings(t *testing.T) {
	f := newFixture(t)
	w := f.webhook(governanceConfig)
	ar := request(t, admissionv1.Create, "robot", nil, pod(restrictedPod, "shop", "quay.io/web:1"), "")
	req, err := requestFrom(ar)
	if err != nil {
		t.Fatal(err)
	}
	d := w.Decide(context.Background(), req)
	cat, err := rules.NewCatalogue(f.catalog)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Findings()
	if len(got) != 2 {
		t.Fatalf("got %d findings, want KOR-GOV-001 and KOR-GOV-004: %+v", len(got), got)
	}
	for _, fd := range got {
		r, ok := cat.Lookup(fd.RuleID)
		if !ok {
			t.Fatalf("finding %s is not in the catalogue", fd.RuleID)
		}
		if fd.Severity != r.Severity || !slices.Equal(fd.Controls, r.Controls) || fd.Title != r.Title {
			t.Errorf("%s: metadata differs from the catalogue's %s: %+v", fd.RuleID, r.ID, fd)
		}
		if want := (finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "web"}); fd.Resource != want {
			t.Errorf("%s: resource %+v, want %+v", fd.RuleID, fd.Resource, want)
		}
	}
	if r, _ := cat.Lookup("KOR-GOV-001"); r.ID != "KOR-NET-002" || !slices.Contains(got[0].Controls, "CIS:5.3.2") {
		t.Errorf("KOR-GOV-001 should be KOR-NET-002 with CIS:5.3.2, got %s %v", r.ID, got[0].Controls)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	events := d.Events(at, finding.Actor{User: "robot"})
	if len(events) != 2 || events[0].Action != finding.ActionDenied || events[1].Action != finding.ActionAudited {
		t.Fatalf("events: %+v", events)
	}
	b, err := json.Marshal(events[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"time":"2026-03-01T10:00:00Z"`, `"engine":"admission"`, `"action":"audited"`, `"ruleID":"KOR-GOV-004"`,
		`"severity":"high"`, `"controls":["CIS:5.5.1"`, `"actor":{"user":"robot"}`, `"kind":"Pod"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("event JSON lacks %s: %s", want, b)
		}
	}
}

// TestFailingCheckIsAnError checks that a governance policy that cannot
// decide (its cache fails) makes the webhook answer with an error, so that
// the API server's failurePolicy decides, instead of a violation.
func TestFailingCheckIsAnError(t *testing.T) {
	f := newFixture(t)
	cfg, err := config.Parse([]byte("governance:\n  requireNetworkPolicy:\n    action: enforce\n"))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := New(Options{Config: cfg, Catalogue: f.catalog, NetworkPolicies: governanceFailingLister{}})
	if err != nil {
		t.Fatal(err)
	}
	ar := request(t, admissionv1.Create, "alice", nil, pod(restrictedPod, "shop", "registry.example.com/web:1"), "")
	req, err := requestFrom(ar)
	if err != nil {
		t.Fatal(err)
	}
	d := w.Decide(context.Background(), req)
	if d.Failed == nil || len(d.Violations) != 0 {
		t.Fatalf("decision: failed %v, violations %+v; want an error and no violation", d.Failed, d.Violations)
	}
	review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: ar}
	body, err := json.Marshal(&review)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(w *Webhook) *admissionv1.AdmissionResponse {
		t.Helper()
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != http.StatusOK || err != nil || out.Response == nil {
			t.Fatalf("HTTP %d %q, want 200 and a response", rec.Code, rec.Body.String())
		}
		return out.Response
	}
	// failureAction deny (the default): denied, naming the failure.
	if r := serve(w); r.Allowed || r.UID != ar.UID || r.Result == nil || !strings.Contains(r.Result.Message, "could not decide") || !strings.Contains(r.Result.Message, "failureAction deny") {
		t.Errorf("failureAction deny: got %+v, want denied naming the failure", r)
	}
	// failureAction allow: admitted with a warning naming the failure.
	cfgAllow, err := config.Parse([]byte("failureAction: allow\ngovernance:\n  requireNetworkPolicy:\n    action: enforce\n"))
	if err != nil {
		t.Fatal(err)
	}
	wa, _, err := New(Options{Config: cfgAllow, Catalogue: f.catalog, NetworkPolicies: governanceFailingLister{}})
	if err != nil {
		t.Fatal(err)
	}
	if r := serve(wa); !r.Allowed || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "could not decide") || r.AuditAnnotations["undecided"] == "" {
		t.Errorf("failureAction allow: got %+v, want admitted with a warning and an audit annotation", r)
	}
	// An unknown failureAction is a configuration error.
	if _, _, err := New(Options{Config: &config.Config{FailureAction: "maybe"}, Catalogue: f.catalog}); err == nil || !strings.Contains(err.Error(), "failureAction") {
		t.Errorf("failureAction maybe: got %v, want an error naming failureAction", err)
	}

	// A policy that only warns does not fail the request when it cannot
	// decide: the error is logged and the request admitted.
	cfg, err = config.Parse([]byte("governance:\n  requireNetworkPolicy:\n    action: warn\n"))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err = New(Options{Config: cfg, Catalogue: f.catalog, NetworkPolicies: governanceFailingLister{}})
	if err != nil {
		t.Fatal(err)
	}
	if d := w.Decide(context.Background(), req); d.Failed != nil || !d.Allowed || len(d.Errors) != 1 {
		t.Errorf("warn policy: %+v, want admitted with one error", d)
	}
}

// governanceFailingLister is a NetworkPolicy lister whose cache fails.
type governanceFailingLister struct{}

func (governanceFailingLister) List(labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}

func (governanceFailingLister) NetworkPolicies(string) networkinglisters.NetworkPolicyNamespaceLister {
	return failingNamespaced{}
}

type failingNamespaced struct{}

func (failingNamespaced) List(labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}

func (failingNamespaced) Get(string) (*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}
