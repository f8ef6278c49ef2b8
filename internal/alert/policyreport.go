package alert

import (
	"context"
	"fmt"
	"slices"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ReportName is the name of the OpenReports Report (in the alert's
// namespace) or ClusterReport (for cluster-scoped resources) that holds
// Kordon's alerts.
const ReportName = "kordon-alerts"

// DefaultMaxResults bounds the results of one report: each alert replaces
// the result of the same rule and resource, and beyond the bound the
// oldest results go, so reports stay far below etcd's request size limit.
const DefaultMaxResults = 100

// PolicyReport keeps alerts as results of OpenReports (openreports.io
// v1alpha1) Reports, one per namespace, and a ClusterReport for
// cluster-scoped resources.
type PolicyReport struct {
	Client     client.Client
	MaxResults int
}

var _ Notifier = (*PolicyReport)(nil)

// NewPolicyReport returns a notifier writing through a REST config.
func NewPolicyReport(cfg *rest.Config) (*PolicyReport, error) {
	scheme := runtime.NewScheme()
	if err := reportsv1alpha1.Install(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("policyreport: %w", err)
	}
	return &PolicyReport{Client: c}, nil
}

// Name returns "policyreport".
func (p *PolicyReport) Name() string { return "policyreport" }

// Result renders the alert as a report result.
func Result(a Alert) reportsv1alpha1.ReportResult {
	e := a.Event
	res := reportsv1alpha1.Result("fail")
	if a.Severity <= 1 {
		res = "warn"
	}
	r := reportsv1alpha1.ReportResult{
		Source: "kordon", Policy: a.Rule, Rule: e.RuleID, Category: e.Engine,
		Severity: reportsv1alpha1.ResultSeverity(a.Severity.String()), Result: res,
		Timestamp:   metav1.Timestamp{Seconds: a.Last.Unix(), Nanos: int32(a.Last.Nanosecond())},
		Description: a.Summary(),
		Properties:  map[string]string{"count": fmt.Sprint(a.Count), "window": a.Window, "action": e.Action},
	}
	if e.Resource.Name != "" {
		r.Subjects = []corev1.ObjectReference{{APIVersion: e.Resource.APIVersion, Kind: e.Resource.Kind, Namespace: e.Resource.Namespace, Name: e.Resource.Name}}
	}
	return r
}

func sameResult(a, b reportsv1alpha1.ReportResult) bool {
	return a.Policy == b.Policy && a.Rule == b.Rule && slices.Equal(a.Subjects, b.Subjects)
}

// merge puts r into results (replacing the result of the same rule and
// resource), keeps the newest max, and returns them with their summary.
func merge(results []reportsv1alpha1.ReportResult, r reportsv1alpha1.ReportResult, max int) ([]reportsv1alpha1.ReportResult, reportsv1alpha1.ReportSummary) {
	results = slices.DeleteFunc(results, func(x reportsv1alpha1.ReportResult) bool { return sameResult(x, r) })
	results = append(results, r)
	if len(results) > max {
		results = results[len(results)-max:]
	}
	var s reportsv1alpha1.ReportSummary
	for _, x := range results {
		switch x.Result {
		case "fail":
			s.Fail++
		case "warn":
			s.Warn++
		}
	}
	return results, s
}

// Notify creates or updates the report of the alert's namespace.
func (p *PolicyReport) Notify(ctx context.Context, a Alert) error {
	max := p.MaxResults
	if max <= 0 {
		max = DefaultMaxResults
	}
	r := Result(a)
	ns := a.Event.Resource.Namespace
	// A concurrent writer makes Update conflict or Create find the report
	// made: read it again and retry.
	again := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	return retry.OnError(retry.DefaultRetry, again, func() error {
		if ns == "" {
			var rep reportsv1alpha1.ClusterReport
			err := p.Client.Get(ctx, client.ObjectKey{Name: ReportName}, &rep)
			if apierrors.IsNotFound(err) {
				rep = reportsv1alpha1.ClusterReport{ObjectMeta: metav1.ObjectMeta{Name: ReportName, Labels: map[string]string{"app.kubernetes.io/managed-by": "kordon"}}, Source: "kordon"}
				rep.Results, rep.Summary = merge(nil, r, max)
				return p.Client.Create(ctx, &rep)
			}
			if err != nil {
				return fmt.Errorf("clusterreport %s: %w", ReportName, err)
			}
			rep.Results, rep.Summary = merge(rep.Results, r, max)
			return p.Client.Update(ctx, &rep)
		}
		var rep reportsv1alpha1.Report
		err := p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ReportName}, &rep)
		if apierrors.IsNotFound(err) {
			rep = reportsv1alpha1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ReportName, Labels: map[string]string{"app.kubernetes.io/managed-by": "kordon"}}, Source: "kordon"}
			rep.Results, rep.Summary = merge(nil, r, max)
			return p.Client.Create(ctx, &rep)
		}
		if err != nil {
			return fmt.Errorf("report %s/%s: %w", ns, ReportName, err)
		}
		rep.Results, rep.Summary = merge(rep.Results, r, max)
		return p.Client.Update(ctx, &rep)
	})
}
