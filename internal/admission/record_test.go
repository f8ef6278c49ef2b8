package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/decisionlog"
	"github.com/kordon-dev/kordon/internal/finding"
)

// TestDecisionLogReadsBack checks that the decision lines the webhook
// writes are what package decisionlog reads: the object with its API
// version, and every violation with its action, binding and — for
// governance, whose fix names the object — its remediation.
func TestDecisionLogReadsBack(t *testing.T) {
	f := newFixture(t)
	cfg, err := config.Parse([]byte(`
rules:
  - name: pss-audit
    select: {ids: [KOR-POD-001]}
    action: audit
governance:
  trustedImages:
    action: warn
    allow: [registry.example.com/*]
`))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, _, err := New(Options{
		Config: cfg, Catalogue: f.catalog, OwnNamespace: "kordon-system",
		NetworkPolicies: networkinglisters.NewNetworkPolicyLister(f.npIdx),
		Namespaces:      corelisters.NewNamespaceLister(f.nsIdx),
		// Admitted requests without violations are logged at debug.
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	deployment := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: lab}
spec:
  template:
    spec:
      containers:
        - {name: shell, image: quay.io/tools/shell:1.0, securityContext: {privileged: true}}
`
	for _, req := range []*admissionv1.AdmissionRequest{
		request(t, admissionv1.Create, "alice", []string{"dev"}, deployment, ""),
		request(t, admissionv1.Create, "alice", nil, pod(privilegedPod, "kube-system", ""), ""),
	} {
		body, err := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req,
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}

	r := decisionlog.NewReader(strings.NewReader(logs.String()), "log")
	var got []*decisionlog.Line
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read the decision log: %v\n%s", err, logs.String())
		}
		got = append(got, l)
	}
	if len(got) != 2 {
		t.Fatalf("got %d decision lines, want 2:\n%s", len(got), logs.String())
	}
	d := got[0]
	if d.Time.IsZero() || d.UID != "uid-1" || d.Operation != "CREATE" || d.Result != "allowed" || !d.Judged() {
		t.Errorf("decision: got %+v", d)
	}
	if res := d.Resource(); res != (finding.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "lab", Name: "api"}) {
		t.Errorf("resource: got %+v", res)
	}
	if !strings.Contains(logs.String(), `"kind":"apps/Deployment","apiVersion":"apps/v1"`) {
		t.Errorf("log line lacks kind and apiVersion:\n%s", logs.String())
	}
	byID := map[string]decisionlog.Rule{}
	for _, v := range d.Rules {
		byID[v.ID] = v
	}
	if v := byID["KOR-POD-001"]; v.Action != config.Audit || v.Source != "pss-audit" || v.Severity != finding.Critical ||
		!strings.Contains(v.Message, "shell") || v.Remediation != "" {
		t.Errorf("KOR-POD-001: got %+v, want audit by pss-audit with the catalogue's remediation left out", v)
	}
	if v := byID["KOR-GOV-004"]; v.Action != config.Warn || v.Source != "governance" || v.Remediation == "" {
		t.Errorf("KOR-GOV-004: got %+v, want warn by governance with its remediation", v)
	}
	if e := got[1]; e.Judged() || e.Excluded == "" || len(e.Rules) != 0 || e.APIVersion != "v1" {
		t.Errorf("excluded decision: got %+v", e)
	}
}
