package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/decisionlog"
	"github.com/kordon-dev/kordon/internal/admission/governance"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// maxReviewBytes bounds the body of one AdmissionReview (the API server's
// own request limit is 3 MiB; a review carries object and old object).
const maxReviewBytes = 7 << 20

// ServeHTTP answers an AdmissionReview posted by the API server.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		http.Error(rw, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	if err != nil || len(body) > maxReviewBytes {
		http.Error(rw, "cannot read the request body", http.StatusBadRequest)
		return
	}
	// One pass over the body: the review, object and old object decode
	// into maps together (numbers as internal/k8s keeps them).
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var review map[string]any
	if err := dec.Decode(&review); err != nil {
		http.Error(rw, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	ar, obj, old, ok := requestFromMap(review)
	if !ok {
		http.Error(rw, "not an AdmissionReview: no request", http.StatusBadRequest)
		return
	}
	resp, err := w.review(r.Context(), ar, obj, old, start)
	if err != nil {
		// An enforcing check could not decide: fail the call, so that the
		// API server's failurePolicy decides (Fail rejects, Ignore admits).
		http.Error(rw, "kordon could not decide: "+err.Error(), http.StatusInternalServerError)
		return
	}
	apiVersion, _ := review["apiVersion"].(string)
	kind, _ := review["kind"].(string)
	out := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}, Response: resp}
	if out.APIVersion == "" {
		out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
	}
	rw.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(rw).Encode(&out); err != nil {
		w.log.Warn("write admission response", "error", err)
	}
}

// review judges a request whose objects are decoded (nil when absent),
// logs and counts the decision, and returns the response. It returns an
// error instead when an enforcing check could not decide. start is when the
// request arrived (for latency).
func (w *Webhook) review(ctx context.Context, ar *admissionv1.AdmissionRequest, obj, old map[string]any, start time.Time) (*admissionv1.AdmissionResponse, error) {
	resp := &admissionv1.AdmissionResponse{UID: ar.UID, Allowed: true}
	req := requestFromObjects(ar, obj, old)
	var d *Decision
	if ar.SubResource != "" && !judgedSubresource(ar) {
		d = &Decision{Allowed: true, Excluded: "subresource " + ar.SubResource + " is not judged"}
	} else {
		d = w.Decide(ctx, req)
	}
	if d.Failed != nil {
		resp.Allowed = false
		w.record(ctx, ar, d, resp, time.Since(start), d.Failed)
		return nil, d.Failed
	}
	resp.Allowed = d.Allowed
	var denied, audit []string
	for _, v := range d.Violations {
		line := v.RuleID + ": " + v.Message
		switch v.Action {
		case config.Enforce:
			denied = append(denied, fmt.Sprintf("- %s (fix: %s)", line, v.Remediation))
		case config.Warn:
			resp.Warnings = append(resp.Warnings, "kordon "+line)
			audit = append(audit, "warn "+line)
		case config.Audit:
			audit = append(audit, "audit "+line)
		}
	}
	if !d.Allowed {
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: fmt.Sprintf("kordon denied %s %s: %d violation(s)\n%s", strings.ToLower(req.Operation), describe(req), len(denied), strings.Join(denied, "\n")),
		}
	}
	if len(audit) > 0 {
		resp.AuditAnnotations = map[string]string{"violations": strings.Join(audit, "; ")}
	}
	w.record(ctx, ar, d, resp, time.Since(start), nil)
	return resp, nil
}

// requestFromObjects builds the policy view of a request from its decoded
// object and old object (nil when absent).
func requestFromObjects(ar *admissionv1.AdmissionRequest, obj, old map[string]any) *governance.Request {
	req := &governance.Request{
		Operation: string(ar.Operation),
		User:      ar.UserInfo.Username,
		Groups:    ar.UserInfo.Groups,
		Namespace: ar.Namespace,
		Group:     ar.Kind.Group,
		Kind:      ar.Kind.Kind,
		Name:      ar.Name,
		DryRun:    ar.DryRun != nil && *ar.DryRun,
	}
	apiVersion := ar.Kind.Version
	if ar.Kind.Group != "" {
		apiVersion = ar.Kind.Group + "/" + ar.Kind.Version
	}
	req.Object = asObject(obj, apiVersion, ar.Kind.Kind)
	req.OldObject = asObject(old, apiVersion, ar.Kind.Kind)
	if req.Name == "" && req.Object != nil {
		req.Name = req.Object.Name()
	}
	return req
}

// asObject normalizes numbers (json.Number to int64 or float64) and fills
// apiVersion and kind when the object lacks them.
func asObject(m map[string]any, apiVersion, kind string) *k8s.Object {
	if m == nil {
		return nil
	}
	k8s.Normalize(m)
	if _, ok := m["apiVersion"]; !ok {
		m["apiVersion"] = apiVersion
	}
	if _, ok := m["kind"]; !ok {
		m["kind"] = kind
	}
	return &k8s.Object{Content: m}
}

// requestFromMap reads an AdmissionReview decoded as a map: the request's
// fields, and its object and old object (nil when absent). ok is false
// without a request.
func requestFromMap(review map[string]any) (ar *admissionv1.AdmissionRequest, obj, old map[string]any, ok bool) {
	r := k8s.Map(review, "request")
	if r == nil {
		return nil, nil, nil, false
	}
	kind := k8s.Map(r, "kind")
	user := k8s.Map(r, "userInfo")
	ar = &admissionv1.AdmissionRequest{
		UID:         types.UID(k8s.String(r, "uid")),
		Kind:        metav1.GroupVersionKind{Group: k8s.String(kind, "group"), Version: k8s.String(kind, "version"), Kind: k8s.String(kind, "kind")},
		SubResource: k8s.String(r, "subResource"),
		Operation:   admissionv1.Operation(k8s.String(r, "operation")),
		Namespace:   k8s.String(r, "namespace"),
		Name:        k8s.String(r, "name"),
		UserInfo:    authenticationv1.UserInfo{Username: k8s.String(user, "username")},
	}
	for _, g := range k8s.Slice(user, "groups") {
		if s, ok := g.(string); ok {
			ar.UserInfo.Groups = append(ar.UserInfo.Groups, s)
		}
	}
	if dry, ok := r["dryRun"].(bool); ok {
		ar.DryRun = &dry
	}
	return ar, k8s.Map(r, "object"), k8s.Map(r, "oldObject"), true
}

func describe(req *governance.Request) string {
	name := req.Name
	if name == "" {
		name = "(generated name)"
	}
	if req.Namespace != "" {
		return req.Kind + " " + req.Namespace + "/" + name
	}
	return req.Kind + " " + name
}

// record writes the decision's log line and metrics.
func (w *Webhook) record(ctx context.Context, ar *admissionv1.AdmissionRequest, d *Decision, resp *admissionv1.AdmissionResponse, latency time.Duration, reqErr error) {
	kind, apiVersion := ar.Kind.Kind, ar.Kind.Version
	if ar.Kind.Group != "" {
		kind = ar.Kind.Group + "/" + kind
		apiVersion = ar.Kind.Group + "/" + apiVersion
	}
	result := "allowed"
	if !resp.Allowed {
		result = "denied"
	}
	if reqErr != nil {
		result = "error"
	}
	if w.metrics != nil {
		w.metrics.observe(string(ar.Operation), kind, result, d, latency)
	}
	attrs := []slog.Attr{
		slog.String("uid", string(ar.UID)),
		slog.String("user", ar.UserInfo.Username),
		slog.Any("groups", ar.UserInfo.Groups),
		slog.String("operation", string(ar.Operation)),
		slog.String("kind", kind),
		slog.String("apiVersion", apiVersion),
		slog.String("namespace", ar.Namespace),
		slog.String("name", ar.Name),
		slog.String("result", result),
		slog.Float64("latencyMs", float64(latency.Microseconds())/1000),
	}
	if ar.DryRun != nil && *ar.DryRun {
		attrs = append(attrs, slog.Bool("dryRun", true))
	}
	if reqErr != nil {
		attrs = append(attrs, slog.String("error", reqErr.Error()))
	}
	if d != nil {
		if d.Excluded != "" {
			attrs = append(attrs, slog.String("excluded", d.Excluded))
		}
		if len(d.Violations) > 0 {
			rs := make([]decisionlog.Rule, len(d.Violations))
			for i, v := range d.Violations {
				rs[i] = decisionlog.Rule{ID: v.RuleID, Action: v.Action, Source: v.Source, Severity: v.Severity, Message: v.Message}
				if r, ok := w.catalogue.Lookup(v.RuleID); !ok || r.Remediation != v.Remediation {
					rs[i].Remediation = v.Remediation
				}
			}
			attrs = append(attrs, slog.Any("rules", rs))
		}
		if len(d.Errors) > 0 {
			attrs = append(attrs, slog.Any("ruleErrors", d.Errors))
		}
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, decisionlog.Message, attrs...)
}

// judgedSubresource reports whether a subresource request carries a whole
// object to judge: pods/ephemeralcontainers (a debug container added to a
// running pod must meet the same rules as the pod's other containers).
func judgedSubresource(ar *admissionv1.AdmissionRequest) bool {
	return ar.SubResource == "ephemeralcontainers" && ar.Kind.Group == "" && ar.Kind.Kind == "Pod"
}
