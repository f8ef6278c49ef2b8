package vap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/packs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// fixtureFile is one fixture file of a rule, decoded.
type fixtureFile struct {
	name string // pass-x.yaml
	want string // pass or fail
	objs []*k8s.Object
	// params are the rule parameters the fixture is judged with (a
	// "# params:" line); nil for the defaults.
	params []rules.ParamSetting
}

func loadFixtures(t *testing.T, id string) []fixtureFile {
	t.Helper()
	dir := path.Join(rules.FixturesDir, id)
	entries, err := fs.ReadDir(packs.FS, dir)
	if err != nil {
		t.Fatalf("fixtures of %s: %v", id, err)
	}
	var out []fixtureFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (path.Ext(name) != ".yaml" && path.Ext(name) != ".yml") {
			continue
		}
		want := ""
		switch {
		case strings.HasPrefix(name, "pass"):
			want = "pass"
		case strings.HasPrefix(name, "fail"):
			want = "fail"
		default:
			continue
		}
		data, err := fs.ReadFile(packs.FS, path.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		objs, ierrs := k8s.Decode(data, path.Join(dir, name))
		if len(ierrs) > 0 {
			t.Fatalf("decode %s/%s: %v", dir, name, ierrs[0])
		}
		params, err := rules.FixtureParams(data, id, path.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixtureFile{name: name, want: want, objs: objs, params: params})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// loadFile decodes a YAML file of objects; want is "pass", "fail" or ""
// (no expectation: only agreement with the scanner is checked).
func loadFile(t *testing.T, file, want string) fixtureFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, ierrs := k8s.Decode(data, file)
	if len(ierrs) > 0 {
		t.Fatalf("decode %s: %v", file, ierrs[0])
	}
	return fixtureFile{name: path.Base(file), want: want, objs: objs}
}

// applies reports whether rule r applies to obj, as the scanner decides.
func applies(r *rules.Rule, obj *k8s.Object) bool {
	if r.Match.Workloads && k8s.IsWorkload(obj.Group(), obj.Kind()) {
		return true
	}
	in := func(list []string, s string) bool { return slices.Contains(list, "*") || slices.Contains(list, s) }
	for _, rm := range r.Match.Resources {
		if in(rm.APIGroups, obj.Group()) && in(rm.Kinds, obj.Kind()) {
			return true
		}
	}
	return false
}

// scannerVerdict evaluates one rule on one object with Kordon's engine.
func scannerVerdict(ctx context.Context, rs *rules.RuleSet, obj *k8s.Object) (failed bool, msg string, err error) {
	res, err := rs.Evaluate(ctx, []*k8s.Object{obj}, rules.EvalOptions{Workers: 1})
	if err != nil {
		return false, "", err
	}
	if len(res.Errors) > 0 {
		return false, "", errors.New(res.Errors[0].Message)
	}
	if len(res.Findings) > 0 {
		return true, res.Findings[0].Message, nil
	}
	return false, "", nil
}

// TestIntegrationBuiltinRules applies the export of every exportable
// built-in rule to a real API server and checks, object by object, that
// the API server judges each rule's pass and fail fixtures as Kordon's
// scanner does. Policies are bound one at a time with action Warn, so
// that the verdict of exactly that policy can be read from the response
// warnings (a Deny stops at the first denying policy, and the API server
// caps the size of warnings).
func TestIntegrationBuiltinRules(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()

	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(rs, Options{Actions: []admissionv1.ValidationAction{admissionv1.Warn}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range exp.Skipped {
		t.Logf("skipped %s: %s", s.RuleID, s.Reason)
	}
	t.Logf("%d rules exported, %d skipped", len(exp.Policies), len(exp.Skipped))

	// Every policy also sees ordinary objects and the example application
	// (examples/plain, without the control-plane node files).
	ordinary := loadFile(t, "testdata/admission-objects.yaml", "")
	examples, err := filepath.Glob("../../../examples/plain/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("examples/plain: %v (%d files)", err, len(examples))
	}
	for _, f := range examples {
		ordinary.objs = append(ordinary.objs, loadFile(t, f, "").objs...)
	}
	ordinary.name = "ordinary objects and examples/plain"

	fixtures := map[string][]fixtureFile{}
	namespaces := map[string]bool{}
	for _, o := range ordinary.objs {
		if ns := o.Namespace(); ns != "" {
			namespaces[ns] = true
		}
	}
	for _, p := range exp.Policies {
		fixtures[p.Rule.ID] = loadFixtures(t, p.Rule.ID)
		for _, f := range fixtures[p.Rule.ID] {
			for _, o := range f.objs {
				if ns := o.Namespace(); ns != "" {
					namespaces[ns] = true
				}
			}
		}
	}
	namespaces[unsetNamespace] = true
	for ns := range namespaces {
		createNamespace(t, c, ns)
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, sentinelPolicy(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("kinds", func(t *testing.T) { checkKindTable(t, c) })

	info, err := c.client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	server, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range exp.Policies {
		if p.MinKubernetes.GreaterThan(server) {
			t.Errorf("%s: needs Kubernetes %s, newer than the test's API server %s", p.Rule.ID, p.MinKubernetes, server)
		}
		if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, p.Policy, metav1.CreateOptions{}); err != nil {
			t.Errorf("%s: the API server refused the policy: %v", p.Rule.ID, err)
		}
	}
	t.Run("typechecking", func(t *testing.T) {
		for _, p := range exp.Policies {
			if !selected(p.Rule.ID) {
				continue
			}
			for _, w := range c.typeCheck(p.Policy) {
				// The API server publishes warnings of validations in
				// the policy's status; those of variables and match
				// conditions only make them dynamic, so they are
				// reported, not failed.
				report := t.Errorf
				if !strings.HasPrefix(w.FieldRef, "spec.validations") {
					report = t.Logf
				}
				report("%s: %s: API server type checking: %s", p.Rule.ID, w.FieldRef, w.Warning)
			}
		}
	})

	for _, p := range exp.Policies {
		if !selected(p.Rule.ID) {
			continue
		}
		t.Run(p.Rule.ID, func(t *testing.T) {
			one, err := rules.Compile([]*rules.Rule{p.Rule})
			if err != nil {
				t.Fatal(err)
			}
			var defaults []fixtureFile
			for _, f := range fixtures[p.Rule.ID] {
				if f.params == nil {
					defaults = append(defaults, f)
				}
			}
			checkRule(t, c, one, p, append(defaults, ordinary))
			for i, f := range fixtures[p.Rule.ID] {
				if f.params != nil {
					checkWithParams(t, c, p.Rule, f, i)
				}
			}
		})
	}

	var objs []*k8s.Object
	for _, p := range exp.Policies {
		for _, f := range fixtures[p.Rule.ID] {
			if f.params == nil {
				objs = append(objs, f.objs...)
			}
		}
	}
	objs = append(objs, ordinary.objs...)
	t.Run("all-bound-deny", func(t *testing.T) { checkAllDeny(t, c, exp, objs) })
}

// deniedBy finds the policy named in a denial.
var deniedBy = regexp.MustCompile(`ValidatingAdmissionPolicy '([^']+)' with binding '[^']+' denied request`)

// checkAllDeny binds every exported policy at once with action Deny and
// kube-system excluded, as an administrator applies the default export,
// and puts every object through
// admission: an object must be denied exactly when the scanner, running
// all exported rules, finds something, and the denying policy must be one
// of the rules the scanner flags.
func checkAllDeny(t *testing.T, c *cluster, exp *Export, objs []*k8s.Object) {
	ctx := t.Context()
	var exported []*rules.Rule
	for _, p := range exp.Policies {
		exported = append(exported, p.Rule)
	}
	rs, err := rules.Compile(exported)
	if err != nil {
		t.Fatal(err)
	}
	ruleOf := map[string]string{}
	for i, p := range exp.Policies {
		ruleOf[p.Policy.Name] = p.Rule.ID
		b := p.Binding.DeepCopy()
		b.Name = "deny-" + b.Name
		b.Spec.ValidationActions = []admissionv1.ValidationAction{admissionv1.Deny}
		b.Spec.MatchResources = &admissionv1.MatchResources{
			NamespaceSelector: namespaceSelector(Options{ExcludeNamespaces: []string{"kube-system"}}),
		}
		if i < len(exp.Policies)-1 {
			if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
				t.Fatalf("bind %s: %v", p.Policy.Name, err)
			}
			continue
		}
		// The last binding waits for the sentinel, so all are in effect.
		defer c.bind(t, b)()
	}

	checked := 0
	for _, o := range objs {
		res, err := rs.Evaluate(ctx, []*k8s.Object{o}, rules.EvalOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		flagged := map[string]bool{}
		for _, f := range res.Findings {
			flagged[f.RuleID] = true
		}
		name := fmt.Sprintf("%s (%s)", o.Ref(), o.Source.File)
		err = c.submit(ctx, o, false)
		m := deniedBy.FindStringSubmatch(fmt.Sprint(err))
		switch {
		case o.Namespace() == "kube-system":
			if m != nil {
				t.Errorf("%s: denied by %s in kube-system, which the bindings exclude", name, m[1])
			}
		case err == nil && len(flagged) > 0:
			t.Errorf("%s: admitted, but the scanner flags %v", name, slices.Sorted(maps.Keys(flagged)))
		case err == nil:
		case m == nil:
			continue // refused for its own sake: no verdict
		case !flagged[ruleOf[m[1]]]:
			t.Errorf("%s: denied by %s, which the scanner does not flag (it flags %v): %v", name, m[1], slices.Sorted(maps.Keys(flagged)), err)
		}
		checked++
	}
	t.Logf("%d of %d objects checked with every policy bound", checked, len(objs))
}

// checkWithParams exports rule r with the parameters of fixture f (the
// values written into its CEL), applies that policy under a name of its
// own, and checks the fixture as checkRule does.
func checkWithParams(t *testing.T, c *cluster, r *rules.Rule, f fixtureFile, n int) {
	set, err := rules.SetParams([]*rules.Rule{r}, f.params)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(rs, Options{NamePrefix: fmt.Sprintf("kordon-params-%d-", n), Actions: []admissionv1.ValidationAction{admissionv1.Warn}})
	if err != nil || len(exp.Policies) != 1 {
		t.Fatalf("export %s with %s's parameters: %v (%d policies)", r.ID, f.name, err, len(exp.Policies))
	}
	p := exp.Policies[0]
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(t.Context(), p.Policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("%s with %s's parameters: the API server refused the policy: %v", r.ID, f.name, err)
	}
	checkRule(t, c, rs, p, []fixtureFile{f})
}

// checkRule binds one policy, compares the API server's verdict on every
// fixture object the rule applies to with the scanner's, and unbinds it.
func checkRule(t *testing.T, c *cluster, rs *rules.RuleSet, p Policy, files []fixtureFile) {
	ctx := t.Context()
	defer c.bind(t, p.Binding)()

	for _, f := range files {
		flagged, refused := 0, 0
		for _, o := range f.objs {
			if !applies(p.Rule, o) {
				continue
			}
			name := fmt.Sprintf("%s/%s", path.Base(o.Source.File), o.Ref())
			scanFailed, scanMsg, scanErr := scannerVerdict(ctx, rs, o)
			v := c.admit(ctx, o, p.Policy.Name)
			switch {
			case v.rejected != nil:
				t.Logf("NOT CHECKED %s: the API server refuses the object itself: %v", name, v.rejected)
				refused++
				continue
			case scanErr != nil:
				t.Errorf("%s: the scanner could not evaluate the object: %v", name, scanErr)
			case v.evalError:
				t.Errorf("%s: the API server could not evaluate the policy: %s", name, v.message)
			case scanFailed && !v.flagged:
				t.Errorf("%s: the scanner fails the object (%s), the API server admits it", name, scanMsg)
			case !scanFailed && v.flagged:
				t.Errorf("%s: the scanner passes the object, the API server flags it: %s", name, v.message)
			case scanFailed && v.message != scanMsg:
				t.Logf("%s: messages differ: scanner %q, API server %q", name, scanMsg, v.message)
			}
			if v.flagged {
				flagged++
			}
		}
		switch {
		case f.want == "fail" && flagged == 0 && refused > 0:
			t.Logf("NOT CHECKED %s: the API server refuses the objects the rule would flag", f.name)
		case f.want == "fail" && flagged == 0:
			t.Errorf("%s: a fail fixture, but the API server flags none of its objects", f.name)
		case f.want == "pass" && flagged > 0:
			t.Errorf("%s: a pass fixture, but the API server flags %d of its objects", f.name, flagged)
		}
	}
}

// TestIntegrationDeny checks the export's default binding against a real
// API server: a privileged pod is rejected with the policy's message and
// reason Invalid, a compliant pod is admitted, and kube-system is left out.
func TestIntegrationDeny(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rules.ByID(all, "KOR-POD-001")
	if !ok {
		t.Fatal("built-in rule KOR-POD-001 is missing")
	}
	rs, err := rules.Compile([]*rules.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(rs, Options{ExcludeNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	p := exp.Policies[0]
	createNamespace(t, c, "deny-check")

	// A privileged Deployment from before the policy, held by a finalizer.
	privileged := true
	legacy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "deny-check", Finalizers: []string{"example.com/hold"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "legacy"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "nginx:1.27", SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
				}}},
			},
		},
	}
	deployments := c.client.AppsV1().Deployments("deny-check")
	if legacy, err = deployments.Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, p.Policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, p.Binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pod := func(ns string, privileged bool) *corev1.Pod {
		return &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "nginx:1.27",
				SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
			}}},
		}
	}
	create := func(p *corev1.Pod) error {
		_, err := c.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	// The binding takes effect asynchronously.
	deadline := time.Now().Add(readyTimeout)
	for create(pod("deny-check", true)) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("privileged pod still admitted %v after binding the policy", readyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}

	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod("deny-check", true))
	if err != nil {
		t.Fatal(err)
	}
	failed, msg, err := scannerVerdict(ctx, rs, &k8s.Object{Content: content})
	if err != nil || !failed {
		t.Fatalf("scanner on the privileged pod: got failed=%v, err=%v; want a finding", failed, err)
	}
	err = create(pod("deny-check", true))
	want := "ValidatingAdmissionPolicy 'kordon-kor-pod-001' with binding 'kordon-kor-pod-001' denied request: " + msg
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("privileged pod: got error %v, want one containing %q", err, want)
	}
	if !apierrors.IsInvalid(err) {
		t.Errorf("privileged pod: got reason %v, want Invalid", apierrors.ReasonForError(err))
	}
	if err := create(pod("deny-check", false)); err != nil {
		t.Errorf("compliant pod: got %v, want it admitted", err)
	}
	if err := create(pod("kube-system", true)); err != nil {
		t.Errorf("privileged pod in kube-system: got %v, want it admitted (namespace excluded)", err)
	}

	// Updates that leave the pod template alone pass (the Deployment
	// controller scaling an old ReplicaSet); changing the template is
	// judged.
	dryRun := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	scaled := legacy.DeepCopy()
	scaled.Spec.Replicas = ptr(int32(3))
	if _, err := deployments.Update(ctx, scaled, dryRun); err != nil {
		t.Errorf("scaling the pre-existing privileged Deployment: got %v, want it admitted", err)
	}
	relabelled := legacy.DeepCopy()
	relabelled.Spec.Template.Labels["tier"] = "web"
	if _, err := deployments.Update(ctx, relabelled, dryRun); err == nil || !strings.Contains(err.Error(), "kordon-kor-pod-001") {
		t.Errorf("changing the template of the privileged Deployment: got %v, want a denial by kordon-kor-pod-001", err)
	}
	// A terminating object can drop its finalizers.
	if err := deployments.Delete(ctx, legacy.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	terminating, err := deployments.Get(ctx, legacy.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	terminating.Finalizers = nil
	terminating.Spec.Template.Labels["tier"] = "web"
	if _, err := deployments.Update(ctx, terminating, metav1.UpdateOptions{}); err != nil {
		t.Errorf("removing the finalizer of the terminating privileged Deployment: got %v, want it admitted", err)
	}
}

func ptr[T any](v T) *T { return &v }

// checkKindTable checks the built-in kind-to-resource table against the
// API server's discovery.
func checkKindTable(t *testing.T, c *cluster) {
	for gk, gvr := range builtinResources {
		m, err := c.mapper.RESTMapping(gk, gvr.Version)
		if err != nil {
			t.Errorf("%s: not served by the API server as version %s: %v", gk, gvr.Version, err)
			continue
		}
		if m.Resource != gvr {
			t.Errorf("%s: got resource %s, want %s", gk, m.Resource, gvr)
		}
	}
	for _, gvr := range workloadResources {
		res := gvr
		res.Resource, _, _ = strings.Cut(gvr.Resource, "/")
		if _, err := c.mapper.KindFor(res); err != nil {
			t.Errorf("workload resource %s: %v", gvr, err)
		}
	}
}

// TestIntegrationDefaultExport applies the export of every exportable
// built-in rule with the command's defaults (deny from severity high, warn
// below it, kube-system left out) to a real API server, and checks that
// ordinary requests still pass: kubectl create namespace is admitted, with
// a warning from the medium rule a bare namespace breaks (KOR-POD-020),
// which an export that denied every rule would have rejected; a
// privileged pod is still denied.
func TestIntegrationDefaultExport(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	all, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(all)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(rs, Options{ExcludeNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	podSecurityLabel := ""
	for _, p := range exp.Policies {
		if p.Rule.ID == "KOR-POD-020" {
			podSecurityLabel = p.Policy.Name
			if got := p.Binding.Spec.ValidationActions; !slices.Equal(got, []admissionv1.ValidationAction{admissionv1.Warn}) {
				t.Fatalf("KOR-POD-020 (%s): default actions %v, want [Warn]", p.Rule.Severity, got)
			}
		}
	}
	if podSecurityLabel == "" {
		t.Fatal("KOR-POD-020 is not exported")
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, sentinelPolicy(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range exp.Policies {
		if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, p.Policy, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", p.Rule.ID, err)
		}
		if i < len(exp.Policies)-1 {
			if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, p.Binding, metav1.CreateOptions{}); err != nil {
				t.Fatalf("bind %s: %v", p.Policy.Name, err)
			}
			continue
		}
		defer c.bind(t, p.Binding)()
	}
	t.Logf("applied the default export: %s", exp.ActionSummary())

	// kubectl create namespace NAME
	wctx, warnings := withWarnings(ctx)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("team")}}
	if _, err := c.client.CoreV1().Namespaces().Create(wctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubectl create namespace with the default export applied: %v", err)
	}
	want := fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s'", podSecurityLabel)
	if !slices.ContainsFunc(warnings.all(), func(w string) bool { return strings.Contains(w, want) }) {
		t.Errorf("creating a namespace without a Pod Security label: warnings %q, want one from %s", warnings.all(), podSecurityLabel)
	}

	privileged := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns.Name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "nginx:1.27", SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
		}}},
	}
	_, err = c.client.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'kordon-kor-pod-001'") {
		t.Errorf("privileged pod with the default export applied: got %v, want a denial by kordon-kor-pod-001", err)
	}
}
