package governance

import (
	"context"
	"errors"
	"k8s.io/apimachinery/pkg/labels"
	"slices"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// obj decodes one YAML object as internal/k8s does.
func obj(t *testing.T, src string) *k8s.Object {
	t.Helper()
	if src == "" {
		return nil
	}
	objs, errs := k8s.Decode([]byte(src), "test.yaml")
	if len(errs) > 0 || len(objs) != 1 {
		t.Fatalf("decode: %v (%d objects)", errs, len(objs))
	}
	return objs[0]
}

func req(t *testing.T, op, user string, groups []string, newSrc, oldSrc string) *Request {
	t.Helper()
	r := &Request{Operation: op, User: user, Groups: groups, Object: obj(t, newSrc), OldObject: obj(t, oldSrc)}
	o := r.Object
	if o == nil {
		o = r.OldObject
	}
	r.Group, r.Kind, r.Namespace, r.Name = o.Group(), o.Kind(), o.Namespace(), o.Name()
	return r
}

func messages(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.ID + ": " + v.Message + "\n")
	}
	return b.String()
}

// check compares violations with the wanted message fragments (one per
// violation; none means admitted).
// mustCheck runs a policy's check and fails the test on an error.
func mustCheck(t *testing.T, p Policy, r *Request) []Violation {
	t.Helper()
	vs, err := p.Check(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func check(t *testing.T, got []Violation, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), messages(got))
	}
	for i, w := range want {
		if !strings.Contains(got[i].Message, w) {
			t.Errorf("violation %d: got %q, want it to contain %q", i, got[i].Message, w)
		}
		if got[i].Remediation == "" {
			t.Errorf("violation %d has no remediation", i)
		}
	}
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {%s}}
spec:
  template:
    metadata: {labels: {%s}}
    spec:
      containers: [{name: api, image: %s}]
`

func deploy(meta, tmpl, image string) string {
	s := strings.Replace(deployment, "%s", meta, 1)
	s = strings.Replace(s, "%s", tmpl, 1)
	return strings.Replace(s, "%s", image, 1)
}

func TestRequireNetworkPolicy(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	addTypes := func(ns, name string, sel metav1.LabelSelector, types []networkingv1.PolicyType) {
		if err := idx.Add(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types}}); err != nil {
			t.Fatal(err)
		}
	}
	add := func(ns, name string, sel metav1.LabelSelector) { addTypes(ns, name, sel, both) }
	// policyTypes absent and no egress rules: Ingress only (the API
	// server's default).
	addTypes("shop", "cache-ingress", metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, nil)
	add("shop", "web", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})
	add("shop", "tiers", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"db", "cache"}}}})
	add("locked", "default-deny", metav1.LabelSelector{})
	p := NewRequireNetworkPolicy(networkinglisters.NewNetworkPolicyLister(idx))
	tests := []struct {
		name string
		r    *Request
		want []string
	}{
		{"pod selected by labels", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: w, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}", ""), nil},
		{"pod selected by expression", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: shop, labels: {tier: db}}\nspec: {containers: [{name: c, image: x}]}", ""), nil},
		{"pod not selected", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: shop, labels: {app: queue}}\nspec: {containers: [{name: c, image: x}]}", ""),
			[]string{"no NetworkPolicy in namespace shop selects Pod q (labels app=queue)"}},
		{"deployment template not selected", req(t, Update, "u", nil, deploy("app: web", "app: api", "x"), deploy("", "app: api", "x")),
			[]string{"no NetworkPolicy in namespace shop selects the pods of Deployment api (labels app=api) for ingress or egress"}},
		{"pod isolated for ingress only", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: k, namespace: shop, labels: {app: cache}}\nspec: {containers: [{name: c, image: x}]}", ""),
			[]string{"no NetworkPolicy in namespace shop selects Pod k (labels app=cache) for egress"}},
		{"host-network pods are not governed by NetworkPolicies", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: empty}\nspec: {hostNetwork: true, containers: [{name: c, image: x}]}", ""), nil},
		{"mirror pods are not judged", req(t, Create, "system:node:n1", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: m, namespace: empty, annotations: {kubernetes.io/config.mirror: abc}}\nspec: {containers: [{name: c, image: x}]}", ""), nil},
		{"deployment template selected", req(t, Create, "u", nil, deploy("", "app: web", "x"), ""), nil},
		{"empty selector selects everything", req(t, Create, "u", nil, "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: locked}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: x}]}}}}}", ""), nil},
		{"namespace without policies", req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: empty}\nspec: {containers: [{name: c, image: x}]}", ""),
			[]string{"namespace empty has no NetworkPolicy, so nothing restricts the traffic of Pod p (labels none)"}},
		{"services are not workloads", req(t, Create, "u", nil, "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: empty}\nspec: {}", ""), nil},
		{"delete is not checked", req(t, Delete, "u", nil, "", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: empty}\nspec: {containers: [{name: c, image: x}]}"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, mustCheck(t, p, tt.r), tt.want) })
	}
	t.Run("a failing lister is an error, not a violation", func(t *testing.T) {
		broken := NewRequireNetworkPolicy(failingLister{})
		vs, err := broken.Check(context.Background(), req(t, Create, "u", nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: x}]}", ""))
		if err == nil || len(vs) != 0 {
			t.Errorf("got %v, %v; want no violation and an error", vs, err)
		}
	})
}

func TestProtectedLabels(t *testing.T) {
	allowed := "allowed"
	p := NewProtectedLabels(&config.ProtectedLabels{Labels: []config.ProtectedLabel{
		{Key: "network.kordon.io/internet", Value: &allowed, Allowed: config.Subjects{Groups: []string{"security-officers"}}},
		{Key: "security.kordon.io/*", Allowed: config.Subjects{ServiceAccounts: []string{"platform/gitops"}}},
	}})
	ns := func(labels string) string {
		return "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {" + labels + "}}"
	}
	officer := []string{"security-officers", "system:authenticated"}
	dev := []string{"developers", "system:authenticated"}
	gitops := "system:serviceaccount:platform:gitops"
	tests := []struct {
		name string
		r    *Request
		want []string
	}{
		{"officer adds the pair", req(t, Update, "sam", officer, ns("network.kordon.io/internet: allowed"), ns("")), nil},
		{"developer adds the pair", req(t, Update, "dan", dev, ns("network.kordon.io/internet: allowed"), ns("")),
			[]string{"adding label network.kordon.io/internet=allowed (protected pair network.kordon.io/internet=allowed) on metadata.labels: only group security-officers may do that"}},
		{"developer creates a namespace with the pair", req(t, Create, "dan", dev, ns("network.kordon.io/internet: allowed"), ""),
			[]string{"adding label network.kordon.io/internet=allowed"}},
		{"developer removes the pair", req(t, Update, "dan", dev, ns(""), ns("network.kordon.io/internet: allowed")),
			[]string{"removing label network.kordon.io/internet=allowed"}},
		{"developer changes the pair away", req(t, Update, "dan", dev, ns("network.kordon.io/internet: denied"), ns("network.kordon.io/internet: allowed")),
			[]string{`changing label network.kordon.io/internet from "allowed" to "denied"`}},
		{"developer sets another value of the key", req(t, Update, "dan", dev, ns("network.kordon.io/internet: denied"), ns("")), nil},
		{"developer leaves the pair alone", req(t, Update, "dan", dev, ns("network.kordon.io/internet: allowed, team: a"), ns("network.kordon.io/internet: allowed")), nil},
		{"developer sets a protected key pattern", req(t, Create, "dan", dev, deploy("security.kordon.io/tier: gold", "", "x"), ""),
			[]string{"adding label security.kordon.io/tier=gold (protected key security.kordon.io/*) on metadata.labels: only service account platform/gitops"}},
		{"gitops sets a protected key pattern", req(t, Create, gitops, nil, deploy("security.kordon.io/tier: gold", "", "x"), ""), nil},
		{"developer sets the pair on a pod template", req(t, Update, "dan", dev, deploy("", "network.kordon.io/internet: allowed", "x"), deploy("", "", "x")),
			[]string{"adding label network.kordon.io/internet=allowed (protected pair network.kordon.io/internet=allowed) on the pod template"}},
		{"several at once", req(t, Create, "dan", dev, deploy("security.kordon.io/a: x", "network.kordon.io/internet: allowed", "x"), ""),
			[]string{"security.kordon.io/a=x", "on the pod template"}},
		{"the ReplicaSet controller copies the pair from a template", req(t, Create, "system:serviceaccount:kube-system:replicaset-controller", []string{"system:serviceaccounts"},
			"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {network.kordon.io/internet: allowed}}\nspec: {containers: [{name: c, image: x}]}", ""), nil},
		{"another kube-system service account does not", req(t, Create, "system:serviceaccount:kube-system:default", nil,
			"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {network.kordon.io/internet: allowed}}\nspec: {containers: [{name: c, image: x}]}", ""),
			[]string{"adding label network.kordon.io/internet=allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, mustCheck(t, p, tt.r), tt.want) })
	}
}

func TestNamespaceScoping(t *testing.T) {
	p := NewNamespaceScoping(&config.NamespaceScoping{Subjects: []config.ScopedSubject{
		{Subjects: config.Subjects{Groups: []string{"team-a"}}, Namespaces: []string{"team-a", "team-a-*"}},
		{Subjects: config.Subjects{Users: []string{"bob"}}, Namespaces: []string{"sandbox"}},
	}})
	pod := func(ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: " + ns + "}\nspec: {containers: [{name: c, image: x}]}"
	}
	tests := []struct {
		name string
		r    *Request
		want []string
	}{
		{"team member in own namespace", req(t, Create, "ann", []string{"team-a"}, pod("team-a"), ""), nil},
		{"team member in a prefixed namespace", req(t, Create, "ann", []string{"team-a"}, pod("team-a-dev"), ""), nil},
		{"team member elsewhere", req(t, Create, "ann", []string{"team-a"}, pod("payments"), ""),
			[]string{"user ann may not create objects in namespace payments; allowed namespaces: team-a, team-a-*"}},
		{"user in two entries", req(t, Update, "bob", []string{"team-a"}, pod("sandbox"), pod("sandbox")), nil},
		{"unlisted user is not restricted", req(t, Create, "carol", []string{"ops"}, pod("payments"), ""), nil},
		{"scoped user creates its namespace", req(t, Create, "ann", []string{"team-a"}, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a-new}", ""), nil},
		{"scoped user creates another namespace", req(t, Create, "ann", []string{"team-a"}, "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}", ""),
			[]string{"in namespace prod"}},
		{"scoped user touches a cluster-scoped object", req(t, Create, "ann", []string{"team-a"}, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}", ""),
			[]string{"in cluster-scoped ClusterRole objects"}},
		{"scoped user deletes elsewhere", req(t, Delete, "bob", nil, "", pod("payments")), []string{"may not delete objects in namespace payments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, mustCheck(t, p, tt.r), tt.want) })
	}
}

func TestTrustedImages(t *testing.T) {
	tests := []struct {
		name  string
		cfg   config.TrustedImages
		image string
		want  []string
	}{
		{"allowed registry", config.TrustedImages{Allow: []string{"registry.example.com/*"}}, "registry.example.com/shop/web:1.4", nil},
		{"other registry", config.TrustedImages{Allow: []string{"registry.example.com/*"}}, "quay.io/shop/web:1.4",
			[]string{"(quay.io/shop/web) matches no allowed pattern"}},
		{"look-alike host", config.TrustedImages{Allow: []string{"registry.example.com/*"}}, "registry.example.com.evil.io/web:1",
			[]string{"matches no allowed pattern"}},
		{"docker hub short name", config.TrustedImages{Allow: []string{"docker.io/library/*"}}, "nginx:1.27", nil},
		{"denied repository", config.TrustedImages{Allow: []string{"docker.io/library/*"}, Deny: []string{"docker.io/library/ubuntu"}}, "ubuntu:24.04",
			[]string{"(docker.io/library/ubuntu) matches the denied pattern docker.io/library/ubuntu"}},
		{"latest", config.TrustedImages{}, "registry.example.com/web:latest", []string{"uses the mutable tag :latest"}},
		{"untagged", config.TrustedImages{}, "registry.example.com/web", []string{"has no tag"}},
		{"untagged but pinned", config.TrustedImages{}, "registry.example.com/web@sha256:" + strings.Repeat("a", 64), nil},
		{"latest allowed", config.TrustedImages{AllowLatest: true}, "registry.example.com/web", nil},
		{"digest required", config.TrustedImages{RequireDigest: true}, "registry.example.com/web:1.0", []string{"is not pinned by digest"}},
		{"digest present", config.TrustedImages{RequireDigest: true}, "registry.example.com/web:1.0@sha256:" + strings.Repeat("b", 64), nil},
		{"registry with port", config.TrustedImages{Allow: []string{"localhost:5000/*"}}, "localhost:5000/web:2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewTrustedImages(&tt.cfg)
			check(t, mustCheck(t, p, req(t, Create, "u", nil, deploy("", "", tt.image), "")), tt.want)
		})
	}
	t.Run("every container kind is checked", func(t *testing.T) {
		p := NewTrustedImages(&config.TrustedImages{Allow: []string{"registry.example.com/*"}})
		r := req(t, Create, "u", nil, `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  initContainers: [{name: init, image: busybox:1}]
  containers: [{name: app, image: registry.example.com/app:1}, {name: side, image: quay.io/x/side:2}]
  ephemeralContainers: [{name: debug, image: alpine:3}]
`, "")
		check(t, mustCheck(t, p, r), []string{"container init", "container side", "container debug"})
	})
}

func TestCreationRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := NewCreationRate(&config.CreationRate{Limit: 3, Window: config.Duration{Duration: time.Hour}}, func() time.Time { return now })
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: x}]}"
	create := func(user string) []Violation {
		r := req(t, Create, user, nil, pod, "")
		vs := mustCheck(t, p, r)
		if len(vs) == 0 {
			p.Record(r)
		}
		return vs
	}
	for i := 0; i < 3; i++ {
		if vs := create("mallory"); len(vs) != 0 {
			t.Fatalf("creation %d: got %s, want admitted", i+1, messages(vs))
		}
		now = now.Add(10 * time.Minute)
	}
	check(t, create("mallory"), []string{"user mallory already created 3 pods or workloads in the last 1h0m0s (limit 3: the default limit): unusual creation rate " +
		"(counted: creations this webhook replica admitted, not dry runs nor denied requests; creations the API server rejected after admission also count)"})
	if vs := create("alice"); len(vs) != 0 {
		t.Errorf("another user: got %s, want admitted", messages(vs))
	}
	dry := req(t, Create, "mallory", nil, pod, "")
	dry.DryRun = true
	if vs := mustCheck(t, p, dry); len(vs) != 0 {
		t.Errorf("dry run: got %s, want not counted nor checked", messages(vs))
	}
	for i := 0; i < 5; i++ {
		if vs := create("system:serviceaccount:kube-system:replicaset-controller"); len(vs) != 0 {
			t.Fatalf("the ReplicaSet controller: got %s, want it not counted", messages(vs))
		}
	}
	if got, want := p.Counts(), map[string]int{"mallory": 3, "alice": 1}; len(got) != len(want) || got["mallory"] != 3 || got["alice"] != 1 {
		t.Errorf("Counts: got %v, want %v", got, want)
	}
	// The first creation (at 12:00) leaves the window at 13:00.
	now = time.Date(2026, 1, 1, 13, 0, 1, 0, time.UTC)
	if vs := create("mallory"); len(vs) != 0 {
		t.Errorf("after the window slid: got %s, want admitted", messages(vs))
	}
	now = now.Add(2 * time.Hour)
	if got := p.Counts(); len(got) != 0 {
		t.Errorf("Counts after the window: got %v, want empty", got)
	}
}

func TestCreationRateLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cfg := &config.CreationRate{Limit: 2, Window: config.Duration{Duration: time.Hour}, Limits: []config.RateLimit{
		{Subjects: config.Subjects{Groups: []string{"interns"}}, Exclude: config.Subjects{Users: []string{"lead"}}, Limit: 1},
		{Subjects: config.Subjects{ServiceAccounts: []string{"ci/*"}}, Limit: 4},
		{Subjects: config.Subjects{ServiceAccounts: []string{"ci/slow"}}, Limit: 1},
	}}
	cfg.Kinds = []string{"Pod", "Service"}
	p := NewCreationRate(cfg, func() time.Time { return now })
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: x}]}"
	// admitted counts how many creations of user pass before the first violation.
	admitted := func(user string, groups ...string) (int, string) {
		for i := 0; i < 10; i++ {
			r := req(t, Create, user, groups, pod, "")
			if vs := mustCheck(t, p, r); len(vs) > 0 {
				return i, vs[0].Message + " / " + vs[0].Remediation
			}
			p.Record(r)
		}
		return 10, ""
	}
	tests := []struct {
		name, user string
		groups     []string
		want       int
		wantMsg    []string
	}{
		{"default", "alice", []string{"dev"}, 2, []string{"limit 2: the default limit", "objects of kind Pod, Service", "governance.creationRate.limit for"}},
		{"group", "ivan", []string{"interns"}, 1, []string{"limit 1: limits[0], group interns", "governance.creationRate.limits[0].limit"}},
		{"excluded from the group's entry", "lead", []string{"interns"}, 2, []string{"the default limit"}},
		{"service account namespace", "system:serviceaccount:ci:runner", nil, 4, []string{"limits[1], service account ci/*"}},
		{"exact service account beats its namespace", "system:serviceaccount:ci:slow", nil, 1, []string{"limits[2]"}},
		{"a service account beats a group", "system:serviceaccount:ci:bot", []string{"interns"}, 4, []string{"limits[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := admitted(tt.user, tt.groups...)
			if got != tt.want {
				t.Errorf("admitted %d creations, want %d (%s)", got, tt.want, msg)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
	if got := p.Counts()["system:serviceaccount:ci:runner"]; got != 4 {
		t.Errorf("counter of ci/runner: got %d, want 4 (times up to the largest limit are kept)", got)
	}
	// Usage judges each user against their own limit: bob (1 of the
	// default 2) and ci/new (1 of limits[1]'s 4) are under it, ivan (1 of
	// limits[0]'s 1) is over it.
	p.Record(req(t, Create, "bob", nil, pod, ""))
	p.Record(req(t, Create, "system:serviceaccount:ci:new", nil, pod, ""))
	want := []LimitUsage{
		{Entry: -1, Limit: 2, Users: 3, OverLimit: 2}, // alice, lead, bob
		{Entry: 0, Limit: 1, Users: 1, OverLimit: 1},  // ivan
		{Entry: 1, Limit: 4, Users: 3, OverLimit: 2},  // runner, bot, new
		{Entry: 2, Limit: 1, Users: 1, OverLimit: 1},  // slow
	}
	if got := p.Usage(); !slices.Equal(got, want) {
		t.Errorf("Usage:\ngot  %+v\nwant %+v", got, want)
	}
}

func FuzzTrustedImages(f *testing.F) {
	for _, s := range []string{"nginx", "registry.example.com/a/b:1@sha256:abc", "localhost:5000/x", ":", "@", "/:@"} {
		f.Add(s)
	}
	p := NewTrustedImages(&config.TrustedImages{Allow: []string{"registry.example.com/*"}, Deny: []string{"*/evil*"}, RequireDigest: true})
	f.Fuzz(func(t *testing.T, image string) {
		reason, fix := p.judge(image)
		if (reason == "") != (fix == "") {
			t.Errorf("judge(%q): reason %q but fix %q", image, reason, fix)
		}
	})
}

// failingLister is a NetworkPolicy lister whose cache fails.
type failingLister struct{}

func (failingLister) List(labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}

func (failingLister) NetworkPolicies(string) networkinglisters.NetworkPolicyNamespaceLister {
	return failingNamespaceLister{}
}

type failingNamespaceLister struct{}

func (failingNamespaceLister) List(labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}

func (failingNamespaceLister) Get(string) (*networkingv1.NetworkPolicy, error) {
	return nil, errors.New("cache unavailable")
}
