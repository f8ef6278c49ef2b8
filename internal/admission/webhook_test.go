package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/rules"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixture builds webhooks over real informer indexers holding namespaces
// and NetworkPolicies.
type fixture struct {
	t        testing.TB
	catalog  []*rules.Rule
	nsIdx    cache.Indexer
	npIdx    cache.Indexer
	now      time.Time
	metricsR *Metrics
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cat, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		t:       t,
		catalog: cat,
		nsIdx:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		npIdx:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		now:     time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
	}
	f.addNamespace("shop", map[string]string{"kordon.io/netpol": "required"})
	f.addNamespace("lab", map[string]string{"kordon.io/pss": "warn"})
	return f
}

func (f *fixture) addNamespace(name string, l map[string]string) {
	if err := f.nsIdx.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) addNetworkPolicy(ns, name string, sel metav1.LabelSelector) {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.NetworkPolicySpec{PodSelector: sel,
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	if err := f.npIdx.Add(np); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) webhook(cfgYAML string) *Webhook {
	f.t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		f.t.Fatalf("config: %v", err)
	}
	w, _, err := New(Options{
		Config:          cfg,
		Catalogue:       f.catalog,
		OwnNamespace:    "kordon-system",
		NetworkPolicies: networkinglisters.NewNetworkPolicyLister(f.npIdx),
		Namespaces:      corelisters.NewNamespaceLister(f.nsIdx),
		Metrics:         f.metricsR,
		Now:             func() time.Time { return f.now },
	})
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return w
}

// request builds an AdmissionRequest from YAML objects.
func request(t *testing.T, op admissionv1.Operation, user string, groups []string, obj, old string) *admissionv1.AdmissionRequest {
	t.Helper()
	ar := &admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Operation: op,
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: groups},
	}
	var meta struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	for i, src := range []string{obj, old} {
		if src == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ar.Object = runtime.RawExtension{Raw: j}
		} else {
			ar.OldObject = runtime.RawExtension{Raw: j}
		}
		if err := json.Unmarshal(j, &meta); err != nil {
			t.Fatal(err)
		}
	}
	group, version, ok := strings.Cut(meta.APIVersion, "/")
	if !ok {
		group, version = "", meta.APIVersion
	}
	ar.Kind = metav1.GroupVersionKind{Group: group, Version: version, Kind: meta.Kind}
	ar.Namespace, ar.Name = meta.Metadata.Namespace, meta.Metadata.Name
	if meta.Kind == "Namespace" {
		ar.Namespace = ""
	}
	return ar
}

const restrictedPod = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: %s, labels: {app: web}}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: web
      image: %s
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
`

const privilegedPod = `
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: %s}
spec:
  hostPID: true
  containers:
    - name: shell
      image: registry.example.com/tools/shell:1.0
      securityContext: {privileged: true}
`

func pod(tmpl, ns, image string) string {
	if strings.Count(tmpl, "%s") == 1 {
		return strings.Replace(tmpl, "%s", ns, 1)
	}
	return strings.Replace(strings.Replace(tmpl, "%s", ns, 1), "%s", image, 1)
}

const pssConfig = `
rules:
  - name: pss
    select: {tags: [pss-baseline, pss-restricted]}
    action: enforce
    namespaceSelector: {matchExpressions: [{key: kordon.io/pss, operator: NotIn, values: [warn]}]}
  - name: pss-warn
    select: {tags: [pss-baseline, pss-restricted]}
    action: warn
    namespaceSelector: {matchLabels: {kordon.io/pss: warn}}
  - name: svc
    select: {ids: [KOR-SVC-001]}
    action: audit
`

func ids(d *Decision, action config.Action) []string {
	var out []string
	for _, v := range d.Violations {
		if v.Action == action && !slices.Contains(out, v.RuleID) {
			out = append(out, v.RuleID)
		}
	}
	slices.Sort(out)
	return out
}

func TestDecideRules(t *testing.T) {
	f := newFixture(t)
	w := f.webhook(pssConfig)
	tests := []struct {
		name        string
		req         *admissionv1.AdmissionRequest
		wantAllowed bool
		wantEnforce []string
		wantWarn    []string
		wantAudit   []string
		wantExclude bool
	}{
		{
			name:        "restricted pod admitted",
			req:         request(t, admissionv1.Create, "alice", nil, pod(restrictedPod, "shop", "registry.example.com/web:1.2"), ""),
			wantAllowed: true,
		},
		{
			name:        "privileged pod denied",
			req:         request(t, admissionv1.Create, "alice", nil, pod(privilegedPod, "shop", ""), ""),
			wantEnforce: []string{"KOR-POD-001", "KOR-POD-002", "KOR-POD-013", "KOR-POD-014", "KOR-POD-016", "KOR-POD-018"},
		},
		{
			name:        "privileged pod warned in a warn namespace",
			req:         request(t, admissionv1.Create, "alice", nil, pod(privilegedPod, "lab", ""), ""),
			wantAllowed: true,
			wantWarn:    []string{"KOR-POD-001", "KOR-POD-002", "KOR-POD-013", "KOR-POD-014", "KOR-POD-016", "KOR-POD-018"},
		},
		{
			name:        "kube-system never judged",
			req:         request(t, admissionv1.Create, "alice", nil, pod(privilegedPod, "kube-system", ""), ""),
			wantAllowed: true,
			wantExclude: true,
		},
		{
			name:        "own namespace never judged",
			req:         request(t, admissionv1.Create, "alice", nil, pod(privilegedPod, "kordon-system", ""), ""),
			wantAllowed: true,
			wantExclude: true,
		},
		{
			name: "deployment judged by its pod template",
			req: request(t, admissionv1.Update, "alice", nil, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      hostNetwork: true
      containers: [{name: api, image: registry.example.com/api:1, securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}, capabilities: {drop: [ALL]}}}]
`, ""),
			wantEnforce: []string{"KOR-POD-002"},
		},
		{
			name: "service audited and admitted",
			req: request(t, admissionv1.Create, "alice", nil, `
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}
`, ""),
			wantAllowed: true,
			wantAudit:   []string{"KOR-SVC-001"},
		},
		{
			name:        "delete is admitted",
			req:         request(t, admissionv1.Delete, "alice", nil, "", pod(privilegedPod, "shop", "")),
			wantAllowed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := requestFrom(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			d := w.Decide(context.Background(), req)
			if d.Allowed != tt.wantAllowed {
				t.Errorf("allowed: got %v, want %v (violations %+v)", d.Allowed, tt.wantAllowed, d.Violations)
			}
			if got := ids(d, config.Enforce); !slices.Equal(got, tt.wantEnforce) {
				t.Errorf("enforce: got %v, want %v", got, tt.wantEnforce)
			}
			if got := ids(d, config.Warn); !slices.Equal(got, tt.wantWarn) {
				t.Errorf("warn: got %v, want %v", got, tt.wantWarn)
			}
			if got := ids(d, config.Audit); !slices.Equal(got, tt.wantAudit) {
				t.Errorf("audit: got %v, want %v", got, tt.wantAudit)
			}
			if got := d.Excluded != ""; got != tt.wantExclude {
				t.Errorf("excluded: got %q, want excluded=%v", d.Excluded, tt.wantExclude)
			}
			if len(d.Errors) > 0 {
				t.Errorf("rule errors: %v", d.Errors)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, cfg string
		want      string
	}{
		{"inventory rule named", "rules: [{name: x, select: {ids: [KOR-NET-005]}, action: enforce}]", "KOR-NET-005 reads other objects (inventory) and cannot run at admission"},
		{"native rule of other engines named", "rules: [{name: x, select: {ids: [KOR-NET-001]}, action: enforce}]", "KOR-NET-001 is decided by Go code that cannot run at admission"},
		{"governance check named as a rule", "rules: [{name: x, select: {ids: [KOR-GOV-001]}, action: enforce}]", "KOR-NET-002 is decided by Go code, at admission by a governance policy"},
		{"unknown rule", "rules: [{name: x, select: {ids: [KOR-NOPE-1]}, action: enforce}]", "no rule KOR-NOPE-1 in the catalogue"},
		{"unknown pack", "rules: [{name: x, select: {packs: [nope]}, action: enforce}]", `no rule pack "nope" (packs: `},
		{"empty selection", "rules: [{name: x, select: {tags: [no-such-tag]}, action: enforce}]", "rules[0] (x).select: selects no rule"},
		{"only inventory rules", "rules: [{name: x, select: {packs: [network], tags: [cis]}, action: enforce}]", "no rule that can run at admission is selected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = New(Options{Config: cfg, Catalogue: f.catalog})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("inventory rules of a pack are skipped with a note", func(t *testing.T) {
		cfg, err := config.Parse([]byte("rules: [{name: x, select: {packs: [workloads]}, action: warn}]"))
		if err != nil {
			t.Fatal(err)
		}
		_, skipped, err := New(Options{Config: cfg, Catalogue: f.catalog})
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) == 0 {
			t.Errorf("skipped: got none, want notes about workloads rules that read the inventory")
		}
	})
}

const goldenConfig = `
rules:
  - name: golden
    select: {tags: [golden]}
    action: enforce
    kinds: [Pod]
    namespaceSelector: {matchExpressions: [{key: kordon.io/pss, operator: NotIn, values: [warn]}]}
  - name: golden-warn
    select: {tags: [golden]}
    action: warn
    kinds: [Pod]
    namespaceSelector: {matchLabels: {kordon.io/pss: warn}}
  - name: golden-audit
    select: {ids: [TEST-SVC-001]}
    action: audit
`

// TestServeHTTPGolden compares whole responses with golden files; its rules
// come from testdata/rules so that catalogue edits do not change them.
func TestServeHTTPGolden(t *testing.T) {
	f := newFixture(t)
	cat, err := rules.LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	f.catalog = cat
	w := f.webhook(goldenConfig)
	tests := []struct {
		name string
		req  *admissionv1.AdmissionRequest
	}{
		{"deny", request(t, admissionv1.Create, "alice", []string{"dev"}, pod(privilegedPod, "shop", ""), "")},
		{"warn", request(t, admissionv1.Create, "alice", []string{"dev"}, pod(privilegedPod, "lab", ""), "")},
		{"audit", request(t, admissionv1.Create, "alice", nil, "apiVersion: v1\nkind: Service\nmetadata: {name: e, namespace: shop}\nspec: {type: NodePort}\n", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(admissionv1.AdmissionReview{
				TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
				Request:  tt.req,
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "review-"+tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("response differs from %s:\ngot:\n%s\nwant:\n%s", golden, out.String(), want)
			}
		})
	}
}

func TestServeHTTPBadRequests(t *testing.T) {
	w := newFixture(t).webhook(pssConfig)
	tests := []struct {
		name, method, body string
		want               int
	}{
		{"get", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"not json", http.MethodPost, "{", http.StatusBadRequest},
		{"no request", http.MethodPost, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, httptest.NewRequest(tt.method, ValidatePath, strings.NewReader(tt.body)))
			if rec.Code != tt.want {
				t.Errorf("status: got %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

const governanceConfig = `
governance:
  requireNetworkPolicy:
    action: enforce
    namespaceSelector: {matchLabels: {kordon.io/netpol: required}}
  protectedLabels:
    action: enforce
    labels: [{key: network.kordon.io/internet, value: allowed, allowed: {groups: [security-officers]}}]
  namespaceScoping:
    action: warn
    subjects: [{groups: [team-a], namespaces: [lab]}]
  trustedImages:
    action: audit
    allow: [registry.example.com/*]
  creationRate:
    action: enforce
    limit: 2
    window: 1h
    exempt: {users: [robot]}
`

func TestDecideGovernance(t *testing.T) {
	f := newFixture(t)
	f.addNetworkPolicy("shop", "web", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})
	w := f.webhook(governanceConfig)
	decide := func(ar *admissionv1.AdmissionRequest) *Decision {
		t.Helper()
		req, err := requestFrom(ar)
		if err != nil {
			t.Fatal(err)
		}
		return w.Decide(context.Background(), req)
	}
	web := pod(restrictedPod, "shop", "registry.example.com/web:1")
	tests := []struct {
		name                             string
		req                              *admissionv1.AdmissionRequest
		wantAllowed                      bool
		wantEnforce, wantWarn, wantAudit []string
	}{
		{"selected pod from a trusted registry", request(t, admissionv1.Create, "robot", nil, web, ""), true, nil, nil, nil},
		{"pod in a namespace that requires policies, unselected", request(t, admissionv1.Create, "robot", nil, strings.Replace(web, "app: web", "app: other", 1), ""), false, []string{"KOR-GOV-001"}, nil, nil},
		{"namespace without the label needs no policy", request(t, admissionv1.Create, "robot", nil, pod(restrictedPod, "lab", "registry.example.com/web:1"), ""), true, nil, nil, nil},
		{"untrusted image audited", request(t, admissionv1.Create, "robot", nil, pod(restrictedPod, "shop", "quay.io/web:1"), ""), true, nil, nil, []string{"KOR-GOV-004"}},
		{"team member outside its namespace warned", request(t, admissionv1.Create, "robot", []string{"team-a"}, web, ""), true, nil, []string{"KOR-GOV-003"}, nil},
		{"protected label on a namespace", request(t, admissionv1.Update, "dan", nil,
			"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {network.kordon.io/internet: allowed}}",
			"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}"), false, []string{"KOR-GOV-002"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(tt.req)
			if d.Allowed != tt.wantAllowed {
				t.Errorf("allowed: got %v, want %v (%+v)", d.Allowed, tt.wantAllowed, d.Violations)
			}
			for _, c := range []struct {
				a    config.Action
				want []string
			}{{config.Enforce, tt.wantEnforce}, {config.Warn, tt.wantWarn}, {config.Audit, tt.wantAudit}} {
				if got := ids(d, c.a); !slices.Equal(got, c.want) {
					t.Errorf("%s: got %v, want %v", c.a, got, c.want)
				}
			}
		})
	}
	t.Run("creation rate counts admitted creations only", func(t *testing.T) {
		bad := request(t, admissionv1.Create, "eve", nil, strings.Replace(web, "app: web", "app: other", 1), "")
		for i := 0; i < 3; i++ {
			if d := decide(bad); d.Allowed {
				t.Fatalf("denied pod %d admitted", i)
			}
		}
		for i := 0; i < 2; i++ {
			if d := decide(request(t, admissionv1.Create, "eve", nil, web, "")); !d.Allowed {
				t.Fatalf("creation %d: got denied %+v, want admitted (denied requests must not count)", i+1, d.Violations)
			}
		}
		d := decide(request(t, admissionv1.Create, "eve", nil, web, ""))
		if got := ids(d, config.Enforce); !slices.Equal(got, []string{"KOR-GOV-005"}) {
			t.Errorf("third creation: got %v, want [KOR-GOV-005]", got)
		}
		svc := request(t, admissionv1.Create, "eve", nil, "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {}", "")
		if d := decide(svc); !d.Allowed {
			t.Errorf("service: got denied %+v, want admitted (only workloads are counted by default)", d.Violations)
		}
	})
}

func TestDecideUpdatesOfStoredObjects(t *testing.T) {
	f := newFixture(t)
	custom, err := rules.LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	if f.catalog, err = rules.Merge(f.catalog, custom); err != nil {
		t.Fatal(err)
	}
	w := f.webhook(pssConfig + `
  - name: availability
    select: {ids: [TEST-WL-001]}
    action: enforce
governance:
  protectedLabels:
    action: enforce
    labels: [{key: network.kordon.io/internet, allowed: {groups: [security-officers]}}]
`)
	bad := pod(privilegedPod, "shop", "")
	relabelled := strings.Replace(bad, "metadata: {name: root, namespace: shop}", "metadata: {name: root, namespace: shop, labels: {team: a}, finalizers: [x/y]}", 1)
	escalated := strings.Replace(bad, "hostPID: true", "hostPID: true\n  hostNetwork: true", 1)
	protected := strings.Replace(bad, "metadata: {name: root, namespace: shop}", "metadata: {name: root, namespace: shop, labels: {network.kordon.io/internet: allowed}}", 1)
	tests := []struct {
		name        string
		req         *admissionv1.AdmissionRequest
		wantEnforce []string
	}{
		{"relabelling a stored violating pod", request(t, admissionv1.Update, "alice", nil, relabelled, bad), nil},
		{"changing its spec", request(t, admissionv1.Update, "alice", nil, escalated, bad),
			[]string{"KOR-POD-001", "KOR-POD-002", "KOR-POD-013", "KOR-POD-014", "KOR-POD-016", "KOR-POD-018"}},
		{"a protected label is still checked", request(t, admissionv1.Update, "alice", nil, protected, bad), []string{"KOR-GOV-002"}},
		{"creating it", request(t, admissionv1.Create, "alice", nil, relabelled, ""),
			[]string{"KOR-POD-001", "KOR-POD-002", "KOR-POD-013", "KOR-POD-014", "KOR-POD-016", "KOR-POD-018"}},
		{"scaling a stored violating deployment", request(t, admissionv1.Update, "system:serviceaccount:kube-system:deployment-controller", nil,
			deployment("3", "hostPID: true"), deployment("2", "hostPID: true")), nil},
		{"scaling a compliant deployment to one replica", request(t, admissionv1.Update, "alice", nil,
			deployment("1", ""), deployment("3", "")), []string{"TEST-WL-001"}},
		{"a violating template change while scaling", request(t, admissionv1.Update, "alice", nil,
			deployment("3", "hostPID: true"), deployment("3", "")), []string{"KOR-POD-002"}},
		{"removing a finalizer from a terminating pod", request(t, admissionv1.Update, "system:serviceaccount:kube-system:generic-garbage-collector", nil,
			strings.Replace(escalated, "metadata: {name: root, namespace: shop}", "metadata: {name: root, namespace: shop, deletionTimestamp: '2026-01-01T00:00:00Z'}", 1), bad), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := requestFrom(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			d := w.Decide(context.Background(), req)
			if got := ids(d, config.Enforce); !slices.Equal(got, tt.wantEnforce) {
				t.Errorf("enforce: got %v, want %v", got, tt.wantEnforce)
			}
		})
	}
}

// deployment is a restricted Deployment with the given replicas and extra
// pod spec fields.
func deployment(replicas, extra string) string {
	d := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      EXTRA
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers: [{name: api, image: registry.example.com/api:1, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]
`
	if extra == "" {
		extra = "dnsPolicy: ClusterFirst"
	}
	return strings.Replace(strings.Replace(d, "REPLICAS", replicas, 1), "EXTRA", extra, 1)
}

func TestDecidePolicyBindings(t *testing.T) {
	f := newFixture(t)
	f.addNamespace("team-a", map[string]string{"kordon.io/ready": "true"})
	f.addNamespace("team-warn", nil)
	f.addNamespace("legacy", nil)
	// A pod that no NetworkPolicy selects, in every namespace.
	unselected := func(ns string) *admissionv1.AdmissionRequest {
		return request(t, admissionv1.Create, "alice", nil, pod(restrictedPod, ns, "registry.example.com/web:1"), "")
	}
	tests := []struct {
		name   string
		config string
		want   map[string]config.Action // namespace: action of KOR-GOV-001 ("" none)
	}{
		{"warn everywhere, enforce where ready", `
governance:
  requireNetworkPolicy:
    excludeNamespaces: [legacy]
    bindings:
      - action: warn
      - action: enforce
        namespaceSelector: {matchLabels: {kordon.io/ready: "true"}}
`, map[string]config.Action{"team-a": config.Enforce, "team-warn": config.Warn, "legacy": ""}},
		{"order does not matter: the strictest binding wins", `
governance:
  requireNetworkPolicy:
    bindings:
      - action: enforce
        namespaces: [team-a]
      - action: audit
      - action: warn
        namespaces: [team-*]
`, map[string]config.Action{"team-a": config.Enforce, "team-warn": config.Warn, "legacy": config.Audit}},
		{"the one-binding form", `
governance:
  requireNetworkPolicy:
    action: warn
    namespaces: [team-warn]
`, map[string]config.Action{"team-a": "", "team-warn": config.Warn, "legacy": ""}},
		{"a binding's exempt subjects", `
governance:
  requireNetworkPolicy:
    bindings:
      - action: enforce
        exempt: {users: [alice]}
      - action: audit
`, map[string]config.Action{"team-a": config.Audit, "team-warn": config.Audit, "legacy": config.Audit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.webhook(tt.config)
			for ns, want := range tt.want {
				req, err := requestFrom(unselected(ns))
				if err != nil {
					t.Fatal(err)
				}
				d := w.Decide(context.Background(), req)
				var got config.Action
				for _, v := range d.Violations {
					if v.RuleID == "KOR-GOV-001" {
						if got != "" {
							t.Errorf("%s: KOR-GOV-001 reported twice: %+v", ns, d.Violations)
						}
						got = v.Action
					}
				}
				if got != want {
					t.Errorf("%s: got action %q, want %q", ns, got, want)
				}
				if d.Allowed != (want != config.Enforce) {
					t.Errorf("%s: allowed %v with action %q", ns, d.Allowed, want)
				}
			}
		})
	}
}

func TestCreationRateBindingsCountOnce(t *testing.T) {
	f := newFixture(t)
	w := f.webhook(`
governance:
  creationRate:
    limit: 2
    window: 1h
    bindings:
      - action: warn
      - action: enforce
        namespaces: [shop]
`)
	create := func(ns string) *Decision {
		t.Helper()
		req, err := requestFrom(request(t, admissionv1.Create, "eve", nil, pod(restrictedPod, ns, "registry.example.com/web:1"), ""))
		if err != nil {
			t.Fatal(err)
		}
		return w.Decide(context.Background(), req)
	}
	// Two bindings match in shop: each creation still counts once.
	create("shop")
	create("lab")
	if got := ids(create("lab"), config.Warn); !slices.Equal(got, []string{"KOR-GOV-005"}) {
		t.Errorf("third creation in lab: got warnings %v, want [KOR-GOV-005]", got)
	}
	if d := create("shop"); d.Allowed || !slices.Equal(ids(d, config.Enforce), []string{"KOR-GOV-005"}) {
		t.Errorf("fourth creation in shop: got allowed %v, enforced %v, want denied by KOR-GOV-005", d.Allowed, ids(d, config.Enforce))
	}
}
