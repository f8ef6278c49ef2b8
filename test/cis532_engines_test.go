package test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/admission"
	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/governance"
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/netpol/lint"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/posture"
	"github.com/kordon-dev/kordon/internal/rules"
)

// This file runs the three engines that decide CIS Kubernetes Benchmark
// 5.3.2 (kordon scan, kordon netpol lint, the admission webhook's
// requireNetworkPolicy) on one set of objects, and a brute-force reference
// written here from the Kubernetes NetworkPolicy semantics, and lists where
// they disagree. cis532_differential_test.go feeds it generated clusters,
// cis532_cases_test.go a table of tricky cases.

// cis532 is the control every compared finding carries.
const cis532 = "CIS:5.3.2"

// cis532Webhook configures the webhook as the differential test needs it:
// requireNetworkPolicy enforced in every namespace (the webhook still never
// judges kube-system, see verdicts.excluded).
const cis532Webhook = `
governance:
  requireNetworkPolicy:
    action: enforce
`

// cis532Engines holds what every run shares: the catalogue, the checks
// kordon scan runs for CIS 5.3.2 and the webhook's configuration.
type cis532Engines struct {
	cat    *rules.Catalogue
	checks posture.Checks
	cfg    *config.Config
}

func newCIS532Engines(t testing.TB) *cis532Engines {
	t.Helper()
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	// The scan runs every check of the catalogue with the control, as
	// kordon scan selects them: CEL rules and the native checks wired to
	// the scan (cmd/kordon/checks.go).
	impls := map[string]rules.NativeCheck{}
	for _, c := range isolation.Checks() {
		impls[c.ID()] = c
	}
	var cel []*rules.Rule
	var native []rules.NativeCheck
	for _, r := range cat.Rules() {
		if !slices.Contains(r.Controls, cis532) || !r.RunsIn(rules.EngineScan) {
			continue
		}
		if !r.IsNative() {
			cel = append(cel, r)
			continue
		}
		c, ok := impls[r.ID]
		if !ok {
			t.Fatalf("native rule %s runs in scan but isolation.Checks has no implementation", r.ID)
		}
		native = append(native, c)
	}
	if len(native) == 0 {
		t.Fatalf("no native check with control %s in the catalogue", cis532)
	}
	checks := posture.Checks{Native: native, Catalogue: cat}
	if len(cel) > 0 {
		if checks.Rules, err = rules.Compile(cel); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse([]byte(cis532Webhook))
	if err != nil {
		t.Fatal(err)
	}
	return &cis532Engines{cat: cat, checks: checks, cfg: cfg}
}

// verdicts are what every engine and the reference said about one set of
// objects. Scan, lint and reference findings are keyed "ID Kind ns/name"
// with the catalogue ID of the check (aliases resolved); webhook denials
// and per-object reference verdicts are keyed by object.
type verdicts struct {
	scan, lint, reference map[string]bool
	// objects are the workload objects, one admission request each.
	objects []objectVerdict
	// problems are things that went wrong outside any verdict (an engine
	// error, an object the model left out).
	problems []string
}

// objectVerdict is the verdict on one workload object.
type objectVerdict struct {
	object string // Kind ns/name of the object as written
	// reportedAs is the resource scan and lint name for the object (its
	// controller after owner collapsing), per the reference.
	reportedAs string
	labels     map[string]string
	judged     bool // the reference judges it (not host network, not mirror)
	flagged    bool // the reference flags it
	// excluded is set when the webhook does not judge the object's
	// namespace (kube-system); denied is the webhook's verdict.
	excluded bool
	denied   bool
}

// run decodes the documents as kordon does and runs every engine and the
// reference on them.
func (e *cis532Engines) run(ctx context.Context, docs []map[string]any) *verdicts {
	v := &verdicts{}
	data, err := renderDocs(docs)
	if err != nil {
		v.problems = append(v.problems, err.Error())
		return v
	}
	objs, errs := k8s.Decode(data, "cluster.yaml")
	for _, err := range errs {
		v.problems = append(v.problems, "decode: "+err.Error())
	}
	ref, err := newReference(docs)
	if err != nil {
		v.problems = append(v.problems, "reference: "+err.Error())
		return v
	}
	v.reference = ref.findings()
	v.scan = e.scan(ctx, objs, v)
	v.lint = e.lint(objs, v)
	e.admit(ctx, objs, ref, v)
	return v
}

// key names a finding: the catalogue ID of its check and its resource.
func (e *cis532Engines) key(f finding.Finding) (string, bool) {
	r, ok := e.cat.Lookup(f.RuleID)
	if !ok || !slices.Contains(r.Controls, cis532) {
		return "", false
	}
	return r.ID + " " + f.Resource.String(), true
}

// scan runs posture.Scan as kordon scan does and returns its CIS 5.3.2
// findings.
func (e *cis532Engines) scan(ctx context.Context, objs []*k8s.Object, v *verdicts) map[string]bool {
	rep, err := posture.Scan(ctx, e.checks, &k8s.Loaded{Objects: objs},
		posture.Options{Workers: 1, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		v.problems = append(v.problems, "scan: "+err.Error())
		return nil
	}
	for _, p := range rep.Errors {
		v.problems = append(v.problems, "scan error: "+p.Message)
	}
	out := map[string]bool{}
	for _, f := range slices.Concat(rep.Findings, rep.Suppressed) {
		if k, ok := e.key(f); ok {
			out[k] = true
		}
	}
	return out
}

// lint runs kordon netpol lint's checks and returns its CIS 5.3.2
// findings (KOR-NETPOL-001/002, resolved to KOR-NET-001/002).
func (e *cis532Engines) lint(objs []*k8s.Object, v *verdicts) map[string]bool {
	c, problems := model.FromObjects(objs)
	for _, p := range problems {
		v.problems = append(v.problems, "model left out "+p.Error())
	}
	res, err := lint.Run(e.cat, c)
	if err != nil {
		v.problems = append(v.problems, "lint: "+err.Error())
		return nil
	}
	out := map[string]bool{}
	for _, f := range res.Findings {
		if k, ok := e.key(f); ok {
			out[k] = true
		}
	}
	return out
}

// admit builds a webhook whose NetworkPolicy lister holds the policies as
// the API server stores them (in their namespace, "default" when they name
// none) and asks it about every workload object, as a CREATE in the
// object's namespace ("default" when it names none, as kubectl without -n
// does). The object is sent as written: the governance policy reads the
// namespace from the request.
func (e *cis532Engines) admit(ctx context.Context, objs []*k8s.Object, ref *reference, v *verdicts) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range ref.policies {
		if err := idx.Add(p.stored); err != nil {
			v.problems = append(v.problems, "lister: "+err.Error())
		}
	}
	w, _, err := admission.New(admission.Options{Config: e.cfg, Catalogue: e.cat.Rules(),
		NetworkPolicies: networkinglisters.NewNetworkPolicyLister(idx)})
	if err != nil {
		v.problems = append(v.problems, "webhook: "+err.Error())
		return
	}
	byRef := map[string]*refWorkload{}
	for _, rw := range ref.workloads {
		byRef[rw.object] = rw
	}
	for _, o := range objs {
		if !k8s.IsWorkload(o.Group(), o.Kind()) {
			continue
		}
		ns := o.Namespace()
		if ns == "" {
			ns = model.DefaultNamespace
		}
		object := o.Kind() + " " + ns + "/" + o.Name()
		rw := byRef[object]
		if rw == nil {
			v.problems = append(v.problems, "the reference does not know "+object)
			continue
		}
		d := w.Decide(ctx, &governance.Request{Operation: governance.Create, User: "alice",
			Namespace: ns, Group: o.Group(), Kind: o.Kind(), Name: o.Name(), Object: o})
		if d.Failed != nil || len(d.Errors) > 0 {
			v.problems = append(v.problems, fmt.Sprintf("webhook on %s: failed %v, errors %v", object, d.Failed, d.Errors))
		}
		for _, viol := range d.Violations {
			if r, ok := e.cat.Lookup(viol.RuleID); !ok || r.ID != isolation.WorkloadCheckID {
				v.problems = append(v.problems, fmt.Sprintf("webhook on %s: unexpected violation %s", object, viol.RuleID))
			}
		}
		v.objects = append(v.objects, objectVerdict{object: object, reportedAs: rw.reportedAs, labels: rw.podLabels,
			judged: rw.judged, flagged: ref.flagged(rw), excluded: d.Excluded != "", denied: !d.Allowed})
	}
}

// disagreements compares the engines and the reference:
//   - scan, lint and the reference flag the same namespaces and workloads
//     for a CIS 5.3.2 check;
//   - the webhook denies a workload object exactly when the reference
//     flags it, and exactly when scan flags for KOR-NET-002 the workload
//     the object is reported as. Owner collapsing: scan and lint judge an
//     object through its controller when that is loaded (a Pod and
//     ReplicaSet of a loaded Deployment are judged as the Deployment), and
//     name one whose controller is not loaded after that controller,
//     while the webhook judges every object as it is. The generated
//     controllers give what they make the labels of their template (plus
//     pod-template-hash, controller-revision-hash, job-name and the like,
//     which no generated selector names), so one verdict holds for every
//     object of a controller.
//     (A generated cluster that breaks this is reported too.)
//   - the webhook never judges kube-system (nor its own namespace, unset
//     here): it must not block its own repair. That is by design, so
//     objects there must be excluded, not compared.
func (v *verdicts) disagreements() []string {
	out := slices.Clone(v.problems)
	out = append(out, diffSets("scan", v.scan, "lint", v.lint)...)
	out = append(out, diffSets("scan", v.scan, "reference", v.reference)...)
	out = append(out, diffSets("lint", v.lint, "reference", v.reference)...)
	verdictOf := map[string]bool{}
	for _, o := range v.objects {
		if f, ok := verdictOf[o.reportedAs]; ok && f != o.flagged {
			out = append(out, "generator: the objects reported as "+o.reportedAs+" get different verdicts from the reference")
		}
		verdictOf[o.reportedAs] = o.flagged
	}
	for _, o := range v.objects {
		inScan := v.scan[isolation.WorkloadCheckID+" "+o.reportedAs]
		desc := fmt.Sprintf("%s (reported as %s, pod labels %s)", o.object, o.reportedAs, describeLabels(o.labels))
		switch {
		case strings.Contains(o.object, " kube-system/"):
			if !o.excluded || o.denied {
				out = append(out, desc+": the webhook judged an object in kube-system")
			}
		case o.excluded:
			out = append(out, desc+": the webhook excluded it")
		case o.denied != o.flagged:
			out = append(out, fmt.Sprintf("%s: webhook denied=%v, reference flagged=%v (judged=%v)", desc, o.denied, o.flagged, o.judged))
		case o.denied != inScan:
			out = append(out, fmt.Sprintf("%s: webhook denied=%v, scan flagged %s=%v", desc, o.denied, o.reportedAs, inScan))
		}
	}
	return out
}

func diffSets(aName string, a map[string]bool, bName string, b map[string]bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !b[k] {
			out = append(out, fmt.Sprintf("%s flags %s, %s does not", aName, k, bName))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if !a[k] {
			out = append(out, fmt.Sprintf("%s flags %s, %s does not", bName, k, aName))
		}
	}
	return out
}

func describeLabels(l map[string]string) string {
	if len(l) == 0 {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// renderDocs writes the documents as one multi-document YAML file.
func renderDocs(docs []map[string]any) ([]byte, error) {
	var b strings.Builder
	for _, d := range docs {
		y, err := yaml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// The reference: a brute-force implementation of the Kubernetes
// NetworkPolicy semantics over typed API objects, written here and sharing
// no code with Kordon's model. A pod is isolated for ingress when some
// policy of its namespace selects it (metav1.LabelSelectorAsSelector) and
// has Ingress in its effective policyTypes (spec.policyTypes when set,
// else Ingress, plus Egress when spec.egress has rules); likewise for
// egress. Kordon's own choices on top of that, as the catalogue states
// them: host-network and mirror pods are not judged (NetworkPolicies do not
// govern them), a workload fails unless isolated both ways, a declared
// Namespace fails when no policy is in it except kube-public and
// kube-node-lease, and an object without metadata.namespace is in
// "default".
type reference struct {
	namespaces []string // declared Namespace objects
	policies   []*refPolicy
	workloads  []*refWorkload
}

type refPolicy struct {
	namespace       string
	selector        labels.Selector
	ingress, egress bool
	stored          *networkingv1.NetworkPolicy // as the lister holds it
}

type refWorkload struct {
	object                      string // Kind ns/name, ns defaulted
	group, kind, namespace, uid string
	meta                        metav1.ObjectMeta
	podLabels                   map[string]string
	judged                      bool // neither on the host network nor a mirror pod
	reportedAs                  string
}

// storeDefaultedAnnotation marks policies whose policyTypes the lister holds as the
// API server defaults them (its SetDefaults_NetworkPolicySpec); the others
// are held as written, so that the webhook's own defaulting is exercised
// too. The generator sets it per policy.
const storeDefaultedAnnotation = "test.kordon.io/store-defaulted"

func newReference(docs []map[string]any) (*reference, error) {
	r := &reference{}
	for i, d := range docs {
		// As the API server reads what kubectl sends: JSON into typed
		// objects.
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if tm.APIVersion == "networking.k8s.io/v1" && tm.Kind == "NetworkPolicy" {
			p, err := newRefPolicy(raw)
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, err)
			}
			r.policies = append(r.policies, p)
			continue
		}
		if tm.APIVersion == "v1" && tm.Kind == "Namespace" {
			var ns corev1.Namespace
			if err := json.Unmarshal(raw, &ns); err != nil {
				return nil, err
			}
			r.namespaces = append(r.namespaces, ns.Name)
			continue
		}
		w, ok, err := newRefWorkload(tm, raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if ok {
			r.workloads = append(r.workloads, w)
		}
	}
	for _, w := range r.workloads {
		w.reportedAs = r.reportedAs(w)
	}
	return r, nil
}

func newRefPolicy(raw []byte) (*refPolicy, error) {
	var np networkingv1.NetworkPolicy
	if err := json.Unmarshal(raw, &np); err != nil {
		return nil, err
	}
	p := &refPolicy{namespace: np.Namespace}
	if p.namespace == "" {
		p.namespace = model.DefaultNamespace
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, err
	}
	p.selector = sel
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	p.ingress = slices.Contains(types, networkingv1.PolicyTypeIngress)
	p.egress = slices.Contains(types, networkingv1.PolicyTypeEgress)
	stored := np.DeepCopy()
	stored.Namespace = p.namespace
	if _, ok := np.Annotations[storeDefaultedAnnotation]; ok {
		stored.Spec.PolicyTypes = types
	}
	p.stored = stored
	return p, nil
}

// newRefWorkload reads the pod template of a workload object with the
// typed API; ok is false for other kinds.
func newRefWorkload(tm metav1.TypeMeta, raw []byte) (*refWorkload, bool, error) {
	var meta metav1.ObjectMeta
	var tmpl *corev1.PodTemplateSpec
	decode := func(obj any) error { return json.Unmarshal(raw, obj) }
	switch gk := tm.GroupVersionKind().GroupKind().String(); gk {
	case "Pod":
		var o corev1.Pod
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	case "PodTemplate":
		var o corev1.PodTemplate
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Template
	case "ReplicationController":
		var o corev1.ReplicationController
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, o.Spec.Template
	case "Deployment.apps":
		var o appsv1.Deployment
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case "StatefulSet.apps":
		var o appsv1.StatefulSet
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case "DaemonSet.apps":
		var o appsv1.DaemonSet
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case "ReplicaSet.apps":
		var o appsv1.ReplicaSet
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case "Job.batch":
		var o batchv1.Job
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
	case "CronJob.batch":
		var o batchv1.CronJob
		if err := decode(&o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template
	default:
		return nil, false, nil
	}
	if tmpl == nil {
		return nil, false, fmt.Errorf("%s %s has no pod template", tm.Kind, meta.Name)
	}
	w := &refWorkload{group: tm.GroupVersionKind().Group, kind: tm.Kind, namespace: meta.Namespace,
		uid: string(meta.UID), meta: meta, podLabels: tmpl.Labels}
	if w.namespace == "" {
		w.namespace = model.DefaultNamespace
	}
	_, mirror := meta.Annotations[corev1.MirrorPodAnnotationKey]
	mirror = mirror && w.group == "" && w.kind == "Pod"
	w.judged = !tmpl.Spec.HostNetwork && !mirror
	w.object = w.kind + " " + w.namespace + "/" + meta.Name
	return w, true, nil
}

// flagged reports whether CIS 5.3.2 fails for the workload: it is judged
// and the policies of its namespace do not select its pods both for
// ingress and for egress.
func (r *reference) flagged(w *refWorkload) bool {
	if !w.judged {
		return false
	}
	var ingress, egress bool
	set := labels.Set(w.podLabels)
	for _, p := range r.policies {
		if p.namespace == w.namespace && p.selector.Matches(set) {
			ingress = ingress || p.ingress
			egress = egress || p.egress
		}
	}
	return !ingress || !egress
}

// findings returns the reference's CIS 5.3.2 findings.
func (r *reference) findings() map[string]bool {
	out := map[string]bool{}
	for _, ns := range r.namespaces {
		if ns == "kube-public" || ns == "kube-node-lease" {
			continue
		}
		if !slices.ContainsFunc(r.policies, func(p *refPolicy) bool { return p.namespace == ns }) {
			out[isolation.NamespaceCheckID+" Namespace "+ns] = true
		}
	}
	for _, w := range r.workloads {
		if r.flagged(w) {
			out[isolation.WorkloadCheckID+" "+w.reportedAs] = true
		}
	}
	return out
}

// workloadKinds are the group/kind pairs of workload controllers (and
// Pod), as "Kind" or "Kind.group".
var workloadKinds = []string{"Pod", "PodTemplate", "ReplicationController", "Deployment.apps", "StatefulSet.apps",
	"DaemonSet.apps", "ReplicaSet.apps", "Job.batch", "CronJob.batch"}

// controller returns the controlling owner reference of a workload when it
// names a workload kind.
func controller(meta metav1.ObjectMeta) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(&meta)
	if ref == nil {
		return nil
	}
	gv, err := schemaGroup(ref.APIVersion)
	if err != nil || !slices.Contains(workloadKinds, kindKey(gv, ref.Kind)) {
		return nil
	}
	return ref
}

func schemaGroup(apiVersion string) (string, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return "", err
	}
	return gv.Group, nil
}

func kindKey(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// reportedAs names the workload scan and lint report an object as (the
// owner collapsing of catalogue check KOR-NET-002): the outermost loaded
// controller above it (matched by group, kind, namespace — "default" when
// unset — and name, and UID when both sides have one); when that one has a
// controller that is not loaded, that controller, a Pod of a ReplicaSet
// named <deployment>-<pod-template-hash> being its Deployment.
func (r *reference) reportedAs(w *refWorkload) string {
	top := w
	seen := map[*refWorkload]bool{w: true}
	for {
		ref := controller(top.meta)
		if ref == nil {
			break
		}
		group, _ := schemaGroup(ref.APIVersion)
		var owner *refWorkload
		for _, o := range r.workloads {
			if o.group == group && o.kind == ref.Kind && o.namespace == top.namespace && o.meta.Name == ref.Name &&
				(ref.UID == "" || o.uid == "" || string(ref.UID) == o.uid) {
				owner = o
				break
			}
		}
		if owner == nil || seen[owner] {
			break
		}
		seen[owner] = true
		top = owner
	}
	ref := controller(top.meta)
	if ref == nil {
		return top.object
	}
	group, _ := schemaGroup(ref.APIVersion)
	if top.kind == "Pod" && group == "apps" && ref.Kind == "ReplicaSet" {
		if h := top.meta.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
			return "Deployment " + top.namespace + "/" + strings.TrimSuffix(ref.Name, "-"+h)
		}
	}
	return ref.Kind + " " + top.namespace + "/" + ref.Name
}
