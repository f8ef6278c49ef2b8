package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// MaxObjectBytes is the largest object the API server accepts in one
// request (its request body limit, 3 MiB).
const MaxObjectBytes = 3 << 20

// MaxReviewBytes bounds the body of one AdmissionReview: an object and an
// old object of MaxObjectBytes each, plus the envelope (request fields,
// user info). A larger body is refused (HTTP 413) before it is read.
const MaxReviewBytes = 2*MaxObjectBytes + 256<<10

// Results of a review, as logged (result) and counted
// (kordon_admission_responses_total{result}).
const (
	resultAllowed   = "allowed"
	resultDenied    = "denied"
	resultError     = "error"     // could not decide; failureAction answered
	resultMalformed = "malformed" // not a review the API server sends
	resultShed      = "shed"      // refused unread: overloaded or too large
)

// errMalformed marks a review the API server would not send: it is
// answered allowed=false with code 400, logged and counted, never judged.
var errMalformed = errors.New("malformed AdmissionReview")

// ServeHTTP answers an AdmissionReview posted by the API server.
//
// Answers: HTTP 405 for another method; 413 for a body larger than
// MaxReviewBytes; 429 when the webhook is saturated (see Limits); 400 for a
// body that is not an AdmissionReview with a request and a request.uid
// (there is no uid to answer). Every other review is answered HTTP 200
// with an AdmissionResponse echoing the uid: a malformed review (objects
// missing or not objects, an object whose kind, apiVersion, name or
// namespace contradicts the request) is refused with code 400; a review
// not decided within the budget, or on which an enforcing check failed,
// is answered per the configuration's failureAction.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		http.Error(rw, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxReviewBytes {
		w.shed(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("kordon: AdmissionReview of %d bytes is larger than %d bytes (two objects of at most %d bytes)", r.ContentLength, MaxReviewBytes, MaxObjectBytes))
		return
	}
	budget := w.budget(r)
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	defer cancel()
	weight := r.ContentLength
	if weight <= 0 {
		weight = MaxReviewBytes // unknown length: assume the largest
	}
	release, err := w.limiter.acquire(ctx, weight)
	if err != nil {
		w.shed(rw, http.StatusTooManyRequests, "kordon: overloaded ("+err.Error()+"); the API server's failurePolicy decides")
		return
	}
	handedOff := false
	defer func() {
		if !handedOff {
			release()
		}
	}()
	// The body is read within the budget: a slow sender holds its slot
	// no longer than a review may take.
	_ = http.NewResponseController(rw).SetReadDeadline(start.Add(budget))
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxReviewBytes+1))
	if err != nil {
		http.Error(rw, "cannot read the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > MaxReviewBytes {
		w.shed(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("kordon: AdmissionReview larger than %d bytes", MaxReviewBytes))
		return
	}
	// One pass over the body: the review, object and old object decode
	// into maps together (numbers as internal/k8s keeps them).
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var review map[string]any
	if err := dec.Decode(&review); err != nil {
		w.badRequest(rw, fmt.Sprintf("not an AdmissionReview: %v", err))
		return
	}
	body = nil
	ar, obj, old, err := requestFromMap(review)
	if ar == nil || ar.UID == "" {
		w.badRequest(rw, "not an AdmissionReview: "+err.Error())
		return
	}
	apiVersion, _ := review["apiVersion"].(string)
	kind, _ := review["kind"].(string)
	if err != nil {
		resp := &admissionv1.AdmissionResponse{UID: ar.UID, Result: &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest,
			Message: "kordon refused a " + err.Error(),
		}}
		w.record(ctx, ar, nil, resp, resultMalformed, time.Since(start), err)
		w.write(rw, apiVersion, kind, resp)
		return
	}

	// The evaluation runs on its own goroutine so that the answer leaves
	// within the budget even if a check overruns it; the limiter slot (and
	// the memory it stands for) is released only when the evaluation ends.
	handedOff = true
	decided := make(chan *Decision, 1)
	go func() {
		defer release()
		decided <- w.decideReview(ctx, ar, requestFromObjects(ar, obj, old))
	}()
	var d *Decision
	select {
	case d = <-decided:
	case <-ctx.Done():
		select {
		case d = <-decided:
		default:
			d = &Decision{Failed: fmt.Errorf("no decision within %s: %w", budget, ctx.Err())}
		}
	}
	resp, result := w.respond(ar, d)
	w.record(ctx, ar, d, resp, result, time.Since(start), d.Failed)
	w.write(rw, apiVersion, kind, resp)
}

// budget is how long one review may take: the configuration's timeout,
// shortened to four fifths of the API server's own timeout when the
// request names it (the API server adds ?timeout=Ns), so that the answer
// arrives before the API server gives up.
func (w *Webhook) budget(r *http.Request) time.Duration {
	b := w.timeout
	if s := r.URL.Query().Get("timeout"); s != "" {
		if t, err := time.ParseDuration(s); err == nil && t > 0 && t-t/5 < b {
			b = t - t/5
		}
	}
	return b
}

// decideReview judges a parsed review (subresources other than
// pods/ephemeralcontainers are not judged).
func (w *Webhook) decideReview(ctx context.Context, ar *admissionv1.AdmissionRequest, req *governance.Request) *Decision {
	if ar.SubResource != "" && !judgedSubresource(ar) {
		return &Decision{Allowed: true, Excluded: "subresource " + ar.SubResource + " is not judged"}
	}
	return w.Decide(ctx, req)
}

// respond turns a decision into the response and its result.
func (w *Webhook) respond(ar *admissionv1.AdmissionRequest, d *Decision) (*admissionv1.AdmissionResponse, string) {
	resp := &admissionv1.AdmissionResponse{UID: ar.UID, Allowed: d.Allowed}
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
	if len(audit) > 0 {
		resp.AuditAnnotations = map[string]string{"violations": strings.Join(audit, "; ")}
	}
	if d.Failed != nil {
		// Undecided: failureAction answers, and violations found so far
		// are not shown as the reason.
		msg := "kordon could not decide " + strings.ToLower(string(ar.Operation)) + " " + describeRequest(ar) + ": " + d.Failed.Error()
		if resp.AuditAnnotations == nil {
			resp.AuditAnnotations = map[string]string{}
		}
		resp.AuditAnnotations["undecided"] = d.Failed.Error()
		if w.failureAction == config.FailAllow {
			resp.Allowed = true
			resp.Warnings = append(resp.Warnings, msg+" (admitted: failureAction allow)")
		} else {
			resp.Allowed = false
			resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
				Reason: metav1.StatusReasonInternalError, Message: msg + " (denied: failureAction deny)"}
		}
		return resp, resultError
	}
	if !d.Allowed {
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: fmt.Sprintf("kordon denied %s %s: %d violation(s)\n%s", strings.ToLower(string(ar.Operation)), describeRequest(ar), len(denied), strings.Join(denied, "\n")),
		}
		return resp, resultDenied
	}
	return resp, resultAllowed
}

func (w *Webhook) write(rw http.ResponseWriter, apiVersion, kind string, resp *admissionv1.AdmissionResponse) {
	out := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}, Response: resp}
	if out.APIVersion == "" {
		out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
	}
	rw.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(rw).Encode(&out); err != nil {
		w.log.Warn("write admission response", "error", err)
	}
}

// badRequest answers a body that is no AdmissionReview one could answer.
func (w *Webhook) badRequest(rw http.ResponseWriter, msg string) {
	w.log.Warn("admission request refused", "status", http.StatusBadRequest, "error", msg)
	if w.metrics != nil {
		w.metrics.responses.WithLabelValues(resultMalformed).Inc()
	}
	http.Error(rw, msg, http.StatusBadRequest)
}

// shed refuses a request unread.
func (w *Webhook) shed(rw http.ResponseWriter, status int, msg string) {
	w.log.Warn("admission request refused", "status", status, "error", msg)
	if w.metrics != nil {
		w.metrics.responses.WithLabelValues(resultShed).Inc()
	}
	if status == http.StatusTooManyRequests {
		rw.Header().Set("Retry-After", "1")
	}
	http.Error(rw, msg, status)
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
	apiVersion := requestAPIVersion(ar)
	req.Object = asObject(obj, apiVersion, ar.Kind.Kind)
	req.OldObject = asObject(old, apiVersion, ar.Kind.Kind)
	if req.Name == "" && req.Object != nil {
		req.Name = req.Object.Name()
	}
	return req
}

func requestAPIVersion(ar *admissionv1.AdmissionRequest) string {
	if ar.Kind.Group != "" {
		return ar.Kind.Group + "/" + ar.Kind.Version
	}
	return ar.Kind.Version
}

// asObject normalizes numbers (json.Number to int64 or float64) and sets
// apiVersion and kind from the request: the request, not the object,
// says what is judged (checkObject refused a contradiction).
func asObject(m map[string]any, apiVersion, kind string) *k8s.Object {
	if m == nil {
		return nil
	}
	k8s.Normalize(m)
	m["apiVersion"] = apiVersion
	m["kind"] = kind
	return &k8s.Object{Content: m}
}

// requestFromMap reads an AdmissionReview decoded as a map: the request's
// fields, and its object and old object (nil when absent). ar is nil
// without a request; err says why the review is malformed (wrapping
// errMalformed when ar is set).
func requestFromMap(review map[string]any) (ar *admissionv1.AdmissionRequest, obj, old map[string]any, err error) {
	r, ok := review["request"].(map[string]any)
	if !ok {
		return nil, nil, nil, errors.New("no request")
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
	if ar.UID == "" {
		return ar, nil, nil, errors.New("no request.uid")
	}
	for _, g := range k8s.Slice(user, "groups") {
		if s, ok := g.(string); ok {
			ar.UserInfo.Groups = append(ar.UserInfo.Groups, s)
		}
	}
	if dry, ok := r["dryRun"].(bool); ok {
		ar.DryRun = &dry
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
	}
	if ar.Kind.Kind == "" || ar.Kind.Version == "" {
		return ar, nil, nil, bad("request.kind names no kind and version")
	}
	switch ar.Operation {
	case admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect:
	default:
		return ar, nil, nil, bad("request.operation %q is not CREATE, UPDATE, DELETE or CONNECT", ar.Operation)
	}
	obj, err = objectField(r, "object")
	if err != nil {
		return ar, nil, nil, bad("%v", err)
	}
	old, err = objectField(r, "oldObject")
	if err != nil {
		return ar, nil, nil, bad("%v", err)
	}
	switch {
	case obj == nil && (ar.Operation == admissionv1.Create || ar.Operation == admissionv1.Update):
		return ar, nil, nil, bad("%s without request.object", ar.Operation)
	case old == nil && ar.Operation == admissionv1.Update:
		return ar, nil, nil, bad("UPDATE without request.oldObject")
	}
	if ar.Operation != admissionv1.Connect {
		// CONNECT carries options (PodExecOptions, ...), not the object.
		for _, o := range []struct {
			field string
			m     map[string]any
		}{{"object", obj}, {"oldObject", old}} {
			if err := checkObject(ar, o.field, o.m); err != nil {
				return ar, nil, nil, bad("%v", err)
			}
		}
		if obj != nil && old != nil {
			u, ou := k8s.String(k8s.Map(obj, "metadata"), "uid"), k8s.String(k8s.Map(old, "metadata"), "uid")
			if u != "" && ou != "" && u != ou {
				return ar, nil, nil, bad("request.object (uid %s) and request.oldObject (uid %s) are different objects", u, ou)
			}
		}
	}
	return ar, obj, old, nil
}

// objectField returns a request's object field: nil when absent or null,
// an error when it is not a JSON object.
func objectField(r map[string]any, field string) (map[string]any, error) {
	v, ok := r[field]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("request.%s is a %T, not an object", field, v)
	}
	return m, nil
}

// checkObject refuses an object that contradicts the request: another
// kind or apiVersion, name or namespace.
func checkObject(ar *admissionv1.AdmissionRequest, field string, m map[string]any) error {
	if m == nil {
		return nil
	}
	apiVersion := requestAPIVersion(ar)
	if k, ok := m["kind"]; ok && k != ar.Kind.Kind {
		return fmt.Errorf("request.%s.kind %v is not request.kind %s", field, k, ar.Kind.Kind)
	}
	if v, ok := m["apiVersion"]; ok && v != apiVersion {
		return fmt.Errorf("request.%s.apiVersion %v is not request.kind's %s", field, v, apiVersion)
	}
	md := k8s.Map(m, "metadata")
	if n := k8s.String(md, "name"); n != "" && ar.Name != "" && n != ar.Name {
		return fmt.Errorf("request.%s.metadata.name %q is not request.name %q", field, n, ar.Name)
	}
	if ns := k8s.String(md, "namespace"); ns != "" && ar.Namespace != "" && ns != ar.Namespace {
		return fmt.Errorf("request.%s.metadata.namespace %q is not request.namespace %q", field, ns, ar.Namespace)
	}
	return nil
}

// describeRequest names the request's object in messages.
func describeRequest(ar *admissionv1.AdmissionRequest) string {
	name := ar.Name
	if name == "" {
		name = "(generated name)"
	}
	if ar.Namespace != "" {
		return ar.Kind.Kind + " " + ar.Namespace + "/" + name
	}
	return ar.Kind.Kind + " " + name
}

// record writes the decision's log line and metrics. d is nil for a
// malformed review. Denials, errors and malformed reviews are logged at
// warn, admitted requests with violations at info, and other admitted
// requests at debug (or info for one in every Options.LogAllowedEvery).
func (w *Webhook) record(ctx context.Context, ar *admissionv1.AdmissionRequest, d *Decision, resp *admissionv1.AdmissionResponse, result string, latency time.Duration, reqErr error) {
	kind, apiVersion := ar.Kind.Kind, requestAPIVersion(ar)
	if ar.Kind.Group != "" {
		kind = ar.Kind.Group + "/" + kind
	}
	if w.metrics != nil {
		w.metrics.observe(string(ar.Operation), ar.Kind.Group, ar.Kind.Kind, result, d, latency)
	}
	level := slog.LevelWarn
	switch {
	case result != resultAllowed:
	case d != nil && (len(d.Violations) > 0 || len(d.Errors) > 0):
		level = slog.LevelInfo
	case w.sampleAllowed():
		level = slog.LevelInfo
	default:
		level = slog.LevelDebug
	}
	if !w.log.Enabled(ctx, level) {
		return
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
		slog.String("result", strings.Replace(result, resultMalformed, resultError, 1)),
		slog.Float64("latencyMs", float64(latency.Microseconds())/1000),
	}
	if ar.DryRun != nil && *ar.DryRun {
		attrs = append(attrs, slog.Bool("dryRun", true))
	}
	if reqErr != nil {
		attrs = append(attrs, slog.String("error", reqErr.Error()))
		if result == resultError {
			attrs = append(attrs, slog.String("failureAction", string(w.failureAction)), slog.Bool("allowed", resp.Allowed))
		}
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
	w.log.LogAttrs(ctx, level, decisionlog.Message, attrs...)
}

// sampleAllowed reports whether this admitted request without violations
// is one of the sampled ones.
func (w *Webhook) sampleAllowed() bool {
	if w.logAllowedEvery <= 0 {
		return false
	}
	return w.allowedSeen.Add(1)%uint64(w.logAllowedEvery) == 1%uint64(w.logAllowedEvery)
}

// judgedSubresource reports whether a subresource request carries a whole
// object to judge: pods/ephemeralcontainers (a debug container added to a
// running pod must meet the same rules as the pod's other containers).
func judgedSubresource(ar *admissionv1.AdmissionRequest) bool {
	return ar.SubResource == "ephemeralcontainers" && ar.Kind.Group == "" && ar.Kind.Kind == "Pod"
}
