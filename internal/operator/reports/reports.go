// Package reports keeps findings as OpenReports (openreports.io v1alpha1)
// Reports and ClusterReports: one set of reports per scope (posture,
// drift) and namespace, each bounded in results and bytes so that no
// object nears etcd's request size limit, written only when their content
// changed.
package reports

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Labels and annotations Kordon puts on the reports it owns.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelScope        = "reports.kordon.io/scope"
	AnnotationHash    = "reports.kordon.io/content-hash"
	AnnotationDropped = "reports.kordon.io/dropped-results"
	managedBy         = "kordon"
)

// Default bounds of a Layout.
const (
	// DefaultMaxResults bounds the results of one report object.
	DefaultMaxResults = 200
	// DefaultMaxBytes bounds the JSON size of one report object: far below
	// etcd's default request limit of 1.5 MiB.
	DefaultMaxBytes = 256 << 10
	// DefaultMaxReports bounds the report objects of one scope in one
	// namespace; results beyond them (the least severe) are dropped and
	// counted in the AnnotationDropped annotation.
	DefaultMaxReports = 20
	// maxMessage bounds one result's message in bytes.
	maxMessage = 1024
)

// Layout bounds the reports. Zero fields take the defaults.
type Layout struct {
	MaxResults int
	MaxBytes   int
	MaxReports int
}

func (l Layout) withDefaults() Layout {
	if l.MaxResults <= 0 {
		l.MaxResults = DefaultMaxResults
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxReports <= 0 {
		l.MaxReports = DefaultMaxReports
	}
	return l
}

// Desired is one report object as it should be: a Report when Namespace
// is set, else a ClusterReport.
type Desired struct {
	Namespace string
	Name      string
	Results   []reportsv1alpha1.ReportResult
	Summary   reportsv1alpha1.ReportSummary
	// Hash identifies the content (results without their timestamps).
	Hash string
	// Dropped counts the results of the namespace left out by the bounds
	// (set on the namespace's first report).
	Dropped int
}

// Build lays findings out as reports of one scope ("posture", "drift"):
// per namespace (cluster-scoped resources in ClusterReports), most severe
// first, split so that each object holds at most MaxResults results and
// MaxBytes of JSON. Report names are "kordon-<scope>" then
// "kordon-<scope>-2", "-3"... The result is deterministic for the same
// findings whatever their order.
func Build(scope string, findings []finding.Finding, now time.Time, layout Layout) []Desired {
	l := layout.withDefaults()
	byNS := map[string][]finding.Finding{}
	for _, f := range findings {
		byNS[f.Resource.Namespace] = append(byNS[f.Resource.Namespace], f)
	}
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	ts := metav1.Timestamp{Seconds: now.Unix()}
	var out []Desired
	for _, ns := range namespaces {
		fs := byNS[ns]
		slices.SortFunc(fs, func(a, b finding.Finding) int {
			return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.RuleID, b.RuleID),
				cmp.Compare(a.Resource.Kind, b.Resource.Kind), cmp.Compare(a.Resource.Name, b.Resource.Name),
				cmp.Compare(a.Resource.APIVersion, b.Resource.APIVersion), cmp.Compare(a.Message, b.Message))
		})
		var reports []Desired
		cur := Desired{Namespace: ns}
		size := baseSize
		dropped := 0
		for i, f := range fs {
			r := result(f, ts)
			n := resultSize(r)
			if len(cur.Results) > 0 && (len(cur.Results) >= l.MaxResults || size+n > l.MaxBytes) {
				reports = append(reports, cur)
				cur = Desired{Namespace: ns}
				size = baseSize
			}
			if len(reports) >= l.MaxReports {
				dropped = len(fs) - i
				break
			}
			cur.Results = append(cur.Results, r)
			size += n
		}
		if len(cur.Results) > 0 && len(reports) < l.MaxReports {
			reports = append(reports, cur)
		}
		for i := range reports {
			d := &reports[i]
			d.Name = ReportName(scope, i)
			d.Summary = summarize(d.Results)
			d.Hash = hash(d.Results)
			if i == 0 {
				d.Dropped = dropped
			}
		}
		out = append(out, reports...)
	}
	return out
}

// baseSize is a generous estimate of a report's JSON without results.
const baseSize = 2048

// ReportName names the i-th report (from 0) of a scope in a namespace.
func ReportName(scope string, i int) string {
	if i == 0 {
		return "kordon-" + scope
	}
	return "kordon-" + scope + "-" + strconv.Itoa(i+1)
}

func resultSize(r reportsv1alpha1.ReportResult) int {
	b, _ := json.Marshal(r)
	return len(b) + 1
}

func result(f finding.Finding, ts metav1.Timestamp) reportsv1alpha1.ReportResult {
	res := reportsv1alpha1.Result("fail")
	if f.Severity <= finding.Low {
		res = "warn"
	}
	msg := f.Message
	if len(msg) > maxMessage {
		msg = truncate(msg, maxMessage)
	}
	r := reportsv1alpha1.ReportResult{
		Source: "kordon", Policy: f.RuleID, Rule: f.RuleID, Category: f.Title,
		Severity: reportsv1alpha1.ResultSeverity(f.Severity.String()), Result: res,
		Timestamp: ts, Description: msg,
	}
	if len(f.Controls) > 0 {
		r.Properties = map[string]string{"controls": joinBounded(f.Controls, 256)}
	}
	if f.Resource.Name != "" {
		r.Subjects = []corev1.ObjectReference{{APIVersion: f.Resource.APIVersion, Kind: f.Resource.Kind,
			Namespace: f.Resource.Namespace, Name: f.Resource.Name}}
	}
	return r
}

func truncate(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

func joinBounded(items []string, n int) string {
	s := ""
	for i, it := range items {
		if i > 0 {
			s += ","
		}
		s += it
	}
	if len(s) > n {
		return truncate(s, n)
	}
	return s
}

func summarize(rs []reportsv1alpha1.ReportResult) reportsv1alpha1.ReportSummary {
	var s reportsv1alpha1.ReportSummary
	for _, r := range rs {
		switch r.Result {
		case "fail":
			s.Fail++
		case "warn":
			s.Warn++
		}
	}
	return s
}

// hash identifies results without their timestamps, so that a scan that
// finds the same as the last one writes nothing.
func hash(rs []reportsv1alpha1.ReportResult) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, r := range rs {
		r.Timestamp = metav1.Timestamp{}
		_ = enc.Encode(r)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Stats says what Sync did.
type Stats struct {
	Created, Updated, Unchanged, Deleted int
}

// Writer writes the reports of one scope. It is safe for concurrent use
// by different scopes; one scope must be synced by one caller at a time.
type Writer struct {
	Client client.Client
	Scope  string
}

// Sync makes the reports of the writer's scope those desired: creates
// missing ones, updates those whose content hash differs, leaves equal
// ones alone and deletes the scope's reports that are no longer desired.
// It goes on after an error with one report and returns the errors joined.
func (w *Writer) Sync(ctx context.Context, desired []Desired) (Stats, error) {
	var st Stats
	sel := client.MatchingLabels{LabelManagedBy: managedBy, LabelScope: w.Scope}
	var nsList reportsv1alpha1.ReportList
	if err := w.Client.List(ctx, &nsList, sel); err != nil {
		return st, fmt.Errorf("list reports: %w", err)
	}
	var clList reportsv1alpha1.ClusterReportList
	if err := w.Client.List(ctx, &clList, sel); err != nil {
		return st, fmt.Errorf("list clusterreports: %w", err)
	}
	existing := map[client.ObjectKey]client.Object{}
	for i := range nsList.Items {
		existing[client.ObjectKeyFromObject(&nsList.Items[i])] = &nsList.Items[i]
	}
	for i := range clList.Items {
		existing[client.ObjectKeyFromObject(&clList.Items[i])] = &clList.Items[i]
	}
	var errs []error
	for _, d := range desired {
		key := client.ObjectKey{Namespace: d.Namespace, Name: d.Name}
		old, ok := existing[key]
		delete(existing, key)
		if ok && old.GetAnnotations()[AnnotationHash] == d.Hash && old.GetAnnotations()[AnnotationDropped] == dropped(d) {
			st.Unchanged++
			continue
		}
		obj := w.object(d)
		var err error
		if ok {
			obj.SetResourceVersion(old.GetResourceVersion())
			err = w.Client.Update(ctx, obj)
			if err == nil {
				st.Updated++
			}
		} else {
			err = w.Client.Create(ctx, obj)
			if err == nil {
				st.Created++
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write report %s: %w", key, err))
		}
	}
	for key, old := range existing {
		if err := w.Client.Delete(ctx, old); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete report %s: %w", key, err))
			continue
		}
		st.Deleted++
	}
	if len(errs) > 0 {
		return st, errors.Join(errs...)
	}
	return st, nil
}

func dropped(d Desired) string {
	if d.Dropped == 0 {
		return ""
	}
	return strconv.Itoa(d.Dropped)
}

func (w *Writer) object(d Desired) client.Object {
	meta := metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace,
		Labels:      map[string]string{LabelManagedBy: managedBy, LabelScope: w.Scope},
		Annotations: map[string]string{AnnotationHash: d.Hash}}
	if s := dropped(d); s != "" {
		meta.Annotations[AnnotationDropped] = s
	}
	if d.Namespace == "" {
		return &reportsv1alpha1.ClusterReport{ObjectMeta: meta, Source: "kordon", Summary: d.Summary, Results: d.Results}
	}
	return &reportsv1alpha1.Report{ObjectMeta: meta, Source: "kordon", Summary: d.Summary, Results: d.Results}
}
