package operator_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/operator"
	"github.com/kordon-dev/kordon/internal/operator/drift"
	"github.com/kordon-dev/kordon/internal/operator/reports"
	"github.com/kordon-dev/kordon/internal/operator/sink"
	"github.com/kordon-dev/kordon/internal/store"
)

const baselineApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: strict
`

const baselineBad = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: nobody-serves-me
`

// gitBaseline makes a repository with the baseline under base/ and
// returns its file:// URL and folder.
func gitBaseline(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"base/app.yaml": baselineApp, "base/widget.yaml": baselineBad, "README.md": "baseline\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("baseline", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	return "file://" + dir, filepath.Join(dir, "base")
}

// createLive creates the baseline's Deployment and Service in ns the way
// kubectl create would (not by apply): the server defaults many fields
// the baseline leaves out.
func createLive(t *testing.T, c client.Client, ns string) {
	t.Helper()
	docs := strings.Split(baselineApp, "---\n")
	var d appsv1.Deployment
	var s corev1.Service
	if err := yaml.Unmarshal([]byte(docs[0]), &d); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &s); err != nil {
		t.Fatal(err)
	}
	d.Namespace, s.Namespace = ns, ns
	for _, o := range []client.Object{&d, &s} {
		if err := c.Create(t.Context(), o, client.FieldOwner("kubectl-create")); err != nil {
			t.Fatal(err)
		}
	}
}

func ruleOf(fs []finding.Finding) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Resource.Kind+"/"+f.Resource.Name] = f.RuleID
	}
	return out
}

func states(es []finding.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Resource.Kind+"/"+e.Resource.Name+"="+e.Attributes["drift.state"])
	}
	slices.Sort(out)
	return out
}

// TestDriftAgainstGitBaseline compares live objects with a Git baseline
// (a real repository cloned over file://) on a real API server: defaults,
// fields set by others and status are not drift; a changed image is, with
// its path; a missing object is; events mark changes of state; reports
// follow.
func TestDriftAgainstGitBaseline(t *testing.T) {
	e, c := env(t)
	ctx := t.Context()
	cat, _ := checks(t)
	url, folder := gitBaseline(t)
	ns := e.CreateNamespace(t, "drift")
	createLive(t, c, ns)

	// A controller and a person change fields the baseline does not set.
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatal(err)
	}
	if dep.Spec.ProgressDeadlineSeconds == nil || dep.Spec.Template.Spec.Containers[0].TerminationMessagePath == "" {
		t.Fatal("the server did not default the Deployment: a naive diff would not be tested")
	}
	dep.Annotations = map[string]string{"deployment.kubernetes.io/revision": "3"}
	dep.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "INJECTED", Value: "by-webhook"}}
	if err := c.Update(ctx, &dep, client.FieldOwner("some-controller")); err != nil {
		t.Fatal(err)
	}

	st := openStore(t)
	loop := &operator.DriftLoop{
		Baseline:  drift.Git{URL: url, Branch: "main", Path: "base", Options: k8s.LoadOptions{Namespace: ns}},
		Detector:  &drift.Detector{Dynamic: e.Dynamic, Mapper: e.Mapper},
		Catalogue: cat,
		Sink:      sink.Store{Store: st},
		Reports:   &reports.Writer{Client: c, Scope: "drift"},
	}
	res, err := loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleOf(res.Findings); len(got) != 1 || got["ConfigMap/settings"] != drift.RuleMissing {
		t.Errorf("first cycle: findings %v, want only ConfigMap/settings %s (defaults and others' fields are not drift)", got, drift.RuleMissing)
	}
	if res.InSync != 2 {
		t.Errorf("first cycle: %d objects in sync, want 2", res.InSync)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].File, "base/widget.yaml") || res.Errors[0].Line != 1 {
		t.Errorf("the unserved Widget should be one error naming base/widget.yaml:1, got %+v", res.Errors)
	}
	if len(res.Revision) != 40 {
		t.Errorf("revision %q is not a commit hash", res.Revision)
	}
	if got := states(res.Events); !slices.Equal(got, []string{"ConfigMap/settings=missing"}) {
		t.Errorf("first cycle events %v", got)
	}

	// Someone changes the image, which the baseline sets.
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatal(err)
	}
	dep.Spec.Template.Spec.Containers[0].Image = "nginx:1.28-hotfix"
	if err := c.Update(ctx, &dep, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	res, err = loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := ruleOf(res.Findings)
	if got["Deployment/web"] != drift.RuleDiffers || got["ConfigMap/settings"] != drift.RuleMissing || len(got) != 2 {
		t.Fatalf("second cycle findings %v", got)
	}
	for _, f := range res.Findings {
		if f.RuleID != drift.RuleDiffers {
			continue
		}
		if !strings.Contains(f.Message, "spec.template.spec.containers[name=app].image") || strings.Contains(f.Message, "env") {
			t.Errorf("drift message %q should name the image path only", f.Message)
		}
		if strings.Contains(f.Message, "1.28-hotfix") {
			t.Errorf("drift message %q must not carry values", f.Message)
		}
		if f.Location == nil || !strings.HasSuffix(f.Location.File, "//base/app.yaml") || f.Location.Line != 1 {
			t.Errorf("location %+v, want the baseline file in the repository", f.Location)
		}
	}
	if got := states(res.Events); !slices.Equal(got, []string{"Deployment/web=drifted"}) {
		t.Errorf("second cycle events %v, want only the new drift", got)
	}
	var rep reportsv1alpha1.Report
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kordon-drift"}, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 {
		t.Errorf("drift report has %d results, want 2", len(rep.Results))
	}

	// The image is put back and the ConfigMap created: all in sync.
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &dep); err != nil {
		t.Fatal(err)
	}
	dep.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	if err := c.Update(ctx, &dep); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"mode": "strict"}}); err != nil {
		t.Fatal(err)
	}
	res, err = loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.InSync != 3 {
		t.Errorf("third cycle: findings %v, in sync %d; want none and 3", ruleOf(res.Findings), res.InSync)
	}
	if got := states(res.Events); !slices.Equal(got, []string{"ConfigMap/settings=resolved", "Deployment/web=resolved"}) {
		t.Errorf("third cycle events %v", got)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kordon-drift"}, &rep); err == nil {
		t.Errorf("drift report still there with %d results after drift was resolved", len(rep.Results))
	}
	events, err := st.Count(ctx, store.Filter{Types: []store.Type{store.TypeEvent}, Engines: []string{"drift"}, Namespaces: []string{ns}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Count != 4 {
		t.Errorf("store holds %v drift events, want 4", events)
	}

	// The same baseline as a folder gives the same verdict.
	loop.Baseline = drift.Folder{Path: folder, Options: k8s.LoadOptions{Namespace: ns}}
	res, err = loop.Cycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.InSync != 3 {
		t.Errorf("folder baseline: findings %v, in sync %d", ruleOf(res.Findings), res.InSync)
	}
}
