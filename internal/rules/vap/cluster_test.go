package vap

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
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
	ctx, log := withWarnings(ctx)
	if err := c.submit(ctx, obj, true); err != nil {
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

// submit puts obj through admission with a server-side dry run, as admit
// describes; ephemeral says whether a Pod with ephemeral containers may be
// created (for real, without them) to update that subresource.
func (c *cluster) submit(ctx context.Context, obj *k8s.Object, ephemeral bool) error {
	u := &unstructured.Unstructured{Object: deepCopy(obj.Content)}
	gvk := u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("map %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(unsetNamespace)
		}
		ri = c.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	dryRun := []string{metav1.DryRunAll}
	containers, hasEphemeral, _ := unstructured.NestedSlice(u.Object, "spec", "ephemeralContainers")
	if gvk.GroupKind() == (schema.GroupKind{Kind: "Pod"}) && hasEphemeral {
		if !ephemeral {
			return errors.New("a pod with ephemeral containers (not created in this mode)")
		}
		base := u.DeepCopy()
		unstructured.RemoveNestedField(base.Object, "spec", "ephemeralContainers")
		base.SetName(testenv.UniqueName(u.GetName()))
		created, err := ri.Create(context.WithoutCancel(ctx), base, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create the pod without its ephemeral containers: %w", err)
		}
		if err := unstructured.SetNestedSlice(created.Object, containers, "spec", "ephemeralContainers"); err != nil {
			return err
		}
		_, err = ri.Update(ctx, created, metav1.UpdateOptions{DryRun: dryRun}, "ephemeralcontainers")
		return err
	}
	_, err = ri.Create(ctx, u, metav1.CreateOptions{DryRun: dryRun})
	if apierrors.IsAlreadyExists(err) {
		var cur *unstructured.Unstructured
		if cur, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
			u.SetResourceVersion(cur.GetResourceVersion())
			_, err = ri.Update(ctx, u, metav1.UpdateOptions{DryRun: dryRun})
		}
	}
	return err
}

func deepCopy(m map[string]any) map[string]any { return runtime.DeepCopyJSON(m) }

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
	// type-check silently become dynamic, so check them, and the match
	// conditions, too.
	tctx := tc.CreateContext(p)
	for i, m := range p.Spec.MatchConditions {
		if res := tc.CheckExpression(tctx, m.Expression); len(res) > 0 {
			warnings = append(warnings, admissionv1.ExpressionWarning{
				FieldRef: fmt.Sprintf("spec.matchConditions[%d].expression (%s)", i, m.Name),
				Warning:  res.String(),
			})
		}
	}
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
