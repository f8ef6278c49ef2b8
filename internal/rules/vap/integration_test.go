package vap

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/rules/packs"
	"github.com/kordon-dev/kordon/internal/testenv"
)

// readyTimeout bounds each wait for the API server to put a policy or
// binding into effect (it loads them through informers, asynchronously).
const readyTimeout = 20 * time.Second

// unsetNamespace receives fixture objects without a namespace, as kubectl
// would put them in the namespace of its context.
const unsetNamespace = "kordon-unset"

var onlyRules = flag.String("vap-rules", "", "comma-separated rule IDs: check only these in TestIntegrationBuiltinRules")

// cluster is a running API server and the clients the integration test
// uses. Requests made through dyn record the API server's warnings in the
// warningLog carried by their context.
type cluster struct {
	cfg     *rest.Config
	client  kubernetes.Interface
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	schemas *schemaCache
}

// schemaCache resolves OpenAPI schemas from the API server once per kind.
type schemaCache struct {
	mu       sync.Mutex
	resolver resolver.SchemaResolver
	schemas  map[schema.GroupVersionKind]*spec.Schema
}

func (c *schemaCache) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[gvk]; ok {
		return s, nil
	}
	s, err := c.resolver.ResolveSchema(gvk)
	if err != nil {
		return nil, err
	}
	c.schemas[gvk] = s
	return s, nil
}

// startCluster starts a real API server (skipping the test without
// KUBEBUILDER_ASSETS) and returns clients that record warnings.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := testenv.Start(t)
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandlerWithContext = warningRecorder{}
	c := &cluster{mapper: env.Mapper}
	var err error
	if c.client, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.schemas = &schemaCache{
		resolver: &resolver.ClientDiscoveryResolver{Discovery: dc},
		schemas:  map[schema.GroupVersionKind]*spec.Schema{},
	}
	return c
}

// selected reports whether -vap-rules selects the rule.
func selected(id string) bool {
	return *onlyRules == "" || slices.Contains(strings.Split(*onlyRules, ","), id)
}

// warningLog collects the warnings of the requests made with a context
// from withWarnings.
type warningLog struct {
	mu   sync.Mutex
	list []string
}

type warningKey struct{}

func withWarnings(ctx context.Context) (context.Context, *warningLog) {
	w := &warningLog{}
	return context.WithValue(ctx, warningKey{}, w), w
}

func (w *warningLog) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// warningRecorder routes response warnings to the request context's log.
type warningRecorder struct{}

func (warningRecorder) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if w, ok := ctx.Value(warningKey{}).(*warningLog); ok {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

// verdict is what the API server said about one object for one policy.
type verdict struct {
	// flagged: the policy's validation failed (a warning names it).
	flagged bool
	// message is the policy's message, or the evaluation error.
	message string
	// evalError: the policy could not evaluate the object.
	evalError bool
	// rejected is set when the API server refused the object for another
	// reason (invalid object, unknown kind...): no verdict.
	rejected error
}

// admit puts obj through admission with a server-side dry run and returns
// the verdict of the named policy, which must be bound with action Warn.
// Objects without a namespace go to unsetNamespace. An object whose name
// is taken (the fixture namespaces exist) is admitted as an UPDATE of it;
// a Pod with ephemeral containers, which the API server refuses on create,
// is created without them and then admitted as the UPDATE of its
// ephemeralcontainers subresource that kubectl debug makes.
func (c *cluster) admit(ctx context.Context, obj *k8s.Object, policy string) verdict {
	u := &unstructured.Unstructured{Object: deepCopy(obj.Content)}
	gvk := u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return verdict{rejected: fmt.Errorf("map %s: %w", gvk, err)}
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(unsetNamespace)
		}
		ri = c.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	dryRun := []string{metav1.DryRunAll}
	ctx, log := withWarnings(ctx)
	ephemeral, hasEphemeral, _ := unstructured.NestedSlice(u.Object, "spec", "ephemeralContainers")
	switch {
	case gvk.GroupKind() == schema.GroupKind{Kind: "Pod"} && hasEphemeral:
		base := u.DeepCopy()
		unstructured.RemoveNestedField(base.Object, "spec", "ephemeralContainers")
		base.SetName(testenv.UniqueName(u.GetName()))
		created, err := ri.Create(context.WithoutCancel(ctx), base, metav1.CreateOptions{})
		if err != nil {
			return verdict{rejected: fmt.Errorf("create the pod without its ephemeral containers: %w", err)}
		}
		if err := unstructured.SetNestedSlice(created.Object, ephemeral, "spec", "ephemeralContainers"); err != nil {
			return verdict{rejected: err}
		}
		_, err = ri.Update(ctx, created, metav1.UpdateOptions{DryRun: dryRun}, "ephemeralcontainers")
	default:
		_, err = ri.Create(ctx, u, metav1.CreateOptions{DryRun: dryRun})
		if apierrors.IsAlreadyExists(err) {
			var cur *unstructured.Unstructured
			if cur, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
				u.SetResourceVersion(cur.GetResourceVersion())
				_, err = ri.Update(ctx, u, metav1.UpdateOptions{DryRun: dryRun})
			}
		}
	}
	if err != nil {
		return verdict{rejected: err}
	}
	prefix := fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': ", policy, policy)
	for _, w := range log.all() {
		if msg, ok := strings.CutPrefix(w, prefix); ok {
			return verdict{flagged: true, message: msg, evalError: strings.Contains(msg, "resulted in error")}
		}
	}
	return verdict{}
}

func deepCopy(m map[string]any) map[string]any { return runtime.DeepCopyJSON(m) }

// fixtureFile is one fixture file of a rule, decoded.
type fixtureFile struct {
	name string // pass-x.yaml
	want string // pass or fail
	objs []*k8s.Object
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
		out = append(out, fixtureFile{name: name, want: want, objs: objs})
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

	fixtures := map[string][]fixtureFile{}
	namespaces := map[string]bool{}
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

	for _, p := range exp.Policies {
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
				// the policy's status; those of variables only make the
				// variable dynamic, so they are reported, not failed.
				report := t.Errorf
				if strings.HasPrefix(w.FieldRef, "spec.variables") {
					report = t.Logf
				}
				report("%s: %s: API server type checking: %s", p.Rule.ID, w.FieldRef, w.Warning)
			}
		}
	})

	ordinary := loadFile(t, "testdata/admission-objects.yaml", "")
	for _, p := range exp.Policies {
		if !selected(p.Rule.ID) {
			continue
		}
		t.Run(p.Rule.ID, func(t *testing.T) {
			one, err := rules.Compile([]*rules.Rule{p.Rule})
			if err != nil {
				t.Fatal(err)
			}
			checkRule(t, c, one, p, append(fixtures[p.Rule.ID], ordinary))
		})
	}
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
			name := fmt.Sprintf("%s/%s", f.name, o.Ref())
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

// sentinelPolicy fails every Lease, so that a binding of it shows when
// the API server has loaded the bindings created before that binding: it
// reads all bindings from one watch, in order.
func sentinelPolicy() *admissionv1.ValidatingAdmissionPolicy {
	fail := admissionv1.Fail
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "sentinel"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{"coordination.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"leases"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: "sentinel"}},
		},
	}
}

// bind creates a binding and waits, up to readyTimeout, until the API
// server enforces it. It returns a function that deletes it.
func (c *cluster) bind(t *testing.T, b *admissionv1.ValidatingAdmissionPolicyBinding) func() {
	t.Helper()
	ctx := t.Context()
	bindings := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	if _, err := bindings.Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the API server refused the binding: %v", err)
	}
	sentinel := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: testenv.UniqueName("sentinel")},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "sentinel",
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Warn},
		},
	}
	if _, err := bindings.Create(ctx, sentinel, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind the sentinel policy: %v", err)
	}
	unbind := func() {
		for _, name := range []string{sentinel.Name, b.Name} {
			if err := bindings.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete binding %s: %v", name, err)
			}
		}
	}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"}}
	want := fmt.Sprintf("with binding '%s': sentinel", sentinel.Name)
	deadline := time.Now().Add(readyTimeout)
	for {
		wctx, log := withWarnings(ctx)
		if _, err := c.client.CoordinationV1().Leases("default").Create(wctx, lease, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("probe the sentinel binding: %v", err)
		}
		if slices.ContainsFunc(log.all(), func(w string) bool { return strings.HasSuffix(w, want) }) {
			return unbind
		}
		if time.Now().After(deadline) {
			unbind()
			t.Fatalf("binding %s not in effect after %v", b.Name, readyTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeCheck type-checks a policy as the API server's policy status
// controller does (it runs in kube-controller-manager, which envtest does
// not start), against the OpenAPI schemas the API server publishes.
func (c *cluster) typeCheck(p *admissionv1.ValidatingAdmissionPolicy) []admissionv1.ExpressionWarning {
	tc := &validating.TypeChecker{SchemaResolver: c.schemas, RestMapper: c.mapper}
	warnings := tc.Check(p)
	// The API server reports only validations; variables that do not
	// type-check silently become dynamic, so check them too.
	tctx := tc.CreateContext(p)
	for i, v := range p.Spec.Variables {
		if res := tc.CheckExpression(tctx, v.Expression); len(res) > 0 {
			warnings = append(warnings, admissionv1.ExpressionWarning{
				FieldRef: fmt.Sprintf("spec.variables[%d].expression (%s)", i, v.Name),
				Warning:  res.String(),
			})
		}
	}
	return warnings
}

func createNamespace(t *testing.T, c *cluster, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
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
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, p.Policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, p.Binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createNamespace(t, c, "deny-check")

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
}

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
