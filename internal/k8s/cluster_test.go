package k8s_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/testenv"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// cluster is one API server shared by the tests of this package; it starts
// only when a test needs it.
var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func decode(t *testing.T, text string) []*k8s.Object {
	t.Helper()
	objs, errs := k8s.Decode([]byte(text), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return objs
}

func create(t *testing.T, env *testenv.Env, text string) map[string]string {
	t.Helper()
	created, err := env.Create(context.Background(), decode(t, text)...)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, u := range created {
		uids[u.GetKind()+"/"+u.GetName()] = string(u.GetUID())
	}
	return uids
}

// shop holds the names of one test's objects in the API server.
type shop struct {
	a, b   string // namespaces
	suffix string // for cluster-scoped names
}

// newShop creates, in two fresh namespaces, one object of every kind
// LoadCluster reads, plus owned ReplicaSets, Jobs and Pods as the
// controllers (which do not run here) would have made them.
func newShop(t *testing.T, env *testenv.Env) shop {
	t.Helper()
	s := shop{a: testenv.UniqueName("shop-a"), b: testenv.UniqueName("shop-b"), suffix: testenv.UniqueName("x")}
	podSpec := `{containers: [{name: c, image: "registry.example.com/app:1.0"}]}`
	uids := create(t, env, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[2]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: %[4]s}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: %[1]s}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox}]}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: %[1]s}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: %[4]s}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: %[2]s}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: %[4]s}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: %[2]s}
spec:
  selector: {app: legacy}
  template: {metadata: {labels: {app: legacy}}, spec: %[4]s}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl, namespace: %[2]s}
template: {metadata: {labels: {app: t}}, spec: %[4]s}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: %[1]s}
spec: %[4]s
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: %[1]s}
spec:
  rules: [{host: shop.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: %[1]s}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: %[1]s}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: shop}}}], ports: [{port: 80}]}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: %[1]s}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: %[1]s
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"hunter2"}}'
    team: shop
type: kubernetes.io/basic-auth
stringData: {username: admin, password: hunter2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %[1]s}
data: {a: b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: %[1]s}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: web, namespace: %[1]s}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything-%[3]s}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-admin-%[3]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: web, namespace: %[1]s}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: %[1]s}
spec: {limits: [{type: Container, default: {cpu: 500m}}]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota, namespace: %[1]s}
spec: {hard: {pods: "10"}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: %[1]s}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-%[3]s}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /srv/data}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: vap-%[3]s}
spec:
  failurePolicy: Fail
  matchConstraints: {resourceRules: [{apiGroups: [example.com], apiVersions: ["*"], operations: [CREATE], resources: [widgets]}]}
  validations: [{expression: "true"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: vap-%[3]s}
spec: {policyName: vap-%[3]s, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: vwc-%[3]s}
webhooks:
  - name: widgets.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    clientConfig: {url: "https://127.0.0.1:1/validate"}
    rules: [{apiGroups: [example.com], apiVersions: ["*"], operations: [CREATE], resources: [widgets]}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: mwc-%[3]s}
webhooks:
  - name: widgets.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    clientConfig: {url: "https://127.0.0.1:1/mutate"}
    rules: [{apiGroups: [example.com], apiVersions: ["*"], operations: [CREATE], resources: [widgets]}]
`, s.a, s.b, s.suffix, podSpec))

	// What the Deployment and CronJob controllers would have made.
	rsUIDs := create(t, env, fmt.Sprintf(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: %[1]s
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: %[2]s, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: %[4]s}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-1
  namespace: %[1]s
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: %[3]s, controller: true}]
spec:
  template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}
`, s.a, uids["Deployment/web"], uids["CronJob/nightly"], podSpec))
	create(t, env, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-abcde
  namespace: %[1]s
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: %[2]s, controller: true}]
spec: %[3]s
`, s.a, rsUIDs["ReplicaSet/web-5d8f"], podSpec))
	return s
}

// mine keeps the objects of this test's namespaces and cluster-scoped
// names, as "apiVersion Kind namespace/name".
func (s shop) mine(objs []*k8s.Object) []string {
	var out []string
	for _, o := range objs {
		ns, name := o.Namespace(), o.Name()
		if ns == s.a || ns == s.b || name == s.a || name == s.b || strings.HasSuffix(name, s.suffix) {
			out = append(out, o.APIVersion()+" "+o.Ref().String())
		}
	}
	slices.Sort(out)
	return out
}

func TestLoadCluster(t *testing.T) {
	env := cluster.Env(t)
	s := newShop(t, env)
	l, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) > 0 || len(l.Errors) > 0 {
		t.Errorf("an administrator got warnings %v, errors %v", l.Warnings, l.Errors)
	}
	x := s.suffix
	want := []string{
		"admissionregistration.k8s.io/v1 MutatingWebhookConfiguration mwc-" + x,
		"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy vap-" + x,
		"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding vap-" + x,
		"admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration vwc-" + x,
		"apps/v1 DaemonSet " + s.b + "/agent",
		"apps/v1 Deployment " + s.a + "/web",
		"apps/v1 ReplicaSet " + s.a + "/web-5d8f",
		"apps/v1 StatefulSet " + s.a + "/db",
		"batch/v1 CronJob " + s.a + "/nightly",
		"batch/v1 Job " + s.a + "/nightly-1",
		"networking.k8s.io/v1 Ingress " + s.a + "/web",
		"networking.k8s.io/v1 NetworkPolicy " + s.a + "/allow-web",
		"networking.k8s.io/v1 NetworkPolicy " + s.a + "/default-deny",
		"policy/v1 PodDisruptionBudget " + s.a + "/web",
		"rbac.authorization.k8s.io/v1 ClusterRole everything-" + x,
		"rbac.authorization.k8s.io/v1 ClusterRoleBinding web-admin-" + x,
		"rbac.authorization.k8s.io/v1 Role " + s.a + "/reader",
		"rbac.authorization.k8s.io/v1 RoleBinding " + s.a + "/reader",
		"v1 LimitRange " + s.a + "/defaults",
		"v1 Namespace " + s.a,
		"v1 Namespace " + s.b,
		"v1 PersistentVolume pv-" + x,
		"v1 Pod " + s.a + "/bare",
		"v1 Pod " + s.a + "/web-5d8f-abcde",
		"v1 PodTemplate " + s.b + "/tmpl",
		"v1 ReplicationController " + s.b + "/legacy",
		"v1 ResourceQuota " + s.a + "/quota",
		"v1 Secret " + s.a + "/creds",
		"v1 Service " + s.a + "/web",
		"v1 ServiceAccount " + s.a + "/web",
	}
	// The API server makes no ServiceAccount "default" or ConfigMap
	// kube-root-ca.crt without controllers; our ConfigMap is not loaded.
	if got := s.mine(l.Objects); !slices.Equal(got, want) {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}

	host := mustHost(t, env.Config)
	kinds := map[schema.GroupKind]bool{}
	for _, gk := range k8s.ClusterKinds() {
		kinds[gk] = true
	}
	for _, o := range l.Objects {
		if o.Source.File != "cluster:"+host || o.Source.Line != 0 {
			t.Errorf("%s: source %s, want cluster:%s", o.Ref(), o.Source, host)
		}
		if !kinds[schema.GroupKind{Group: o.Group(), Kind: o.Kind()}] {
			t.Errorf("%s: kind %s/%s is not in ClusterKinds", o.Ref(), o.Group(), o.Kind())
		}
		if _, ok := k8s.Map(o.Content, "metadata")["managedFields"]; ok {
			t.Errorf("%s still has managedFields", o.Ref())
		}
		if o.Kind() == "Secret" {
			for _, field := range []string{"data", "stringData"} {
				for k, v := range k8s.Map(o.Content, field) {
					if v != "" {
						t.Errorf("%s: %s.%s kept its value", o.Ref(), field, k)
					}
				}
			}
			if _, ok := o.Annotations()["kubectl.kubernetes.io/last-applied-configuration"]; ok {
				t.Errorf("%s kept the last-applied-configuration annotation", o.Ref())
			}
		}
	}

	secret := find(t, l.Objects, "Secret", s.a, "creds")
	if got := k8s.Map(secret.Content, "data"); len(got) != 2 || got["username"] != "" || got["password"] != "" {
		t.Errorf("secret data = %v, want the keys username and password with empty values", got)
	}
	if secret.Content["type"] != "kubernetes.io/basic-auth" || secret.Annotations()["team"] != "shop" {
		t.Errorf("secret lost its type or other annotations: %v", secret.Content)
	}
	deploy := find(t, l.Objects, "Deployment", s.a, "web")
	if got := k8s.Map(deploy.Content, "spec")["replicas"]; got != int64(1) {
		t.Errorf("defaulted replicas = %#v, want int64(1)", got)
	}

	ix := k8s.NewOwnerIndex(l.Objects)
	owners := []struct {
		kind, name string
		owned      bool
		top        string
	}{
		{"Pod", "web-5d8f-abcde", true, "Deployment " + s.a + "/web"},
		{"ReplicaSet", "web-5d8f", true, "Deployment " + s.a + "/web"},
		{"Job", "nightly-1", true, "CronJob " + s.a + "/nightly"},
		{"Pod", "bare", false, "Pod " + s.a + "/bare"},
		{"Deployment", "web", false, "Deployment " + s.a + "/web"},
	}
	for _, tt := range owners {
		o := find(t, l.Objects, tt.kind, s.a, tt.name)
		if got := ix.IsOwnedByWorkload(o); got != tt.owned {
			t.Errorf("IsOwnedByWorkload(%s) = %v, want %v", o.Ref(), got, tt.owned)
		}
		if got := ix.TopOwner(o).Ref().String(); got != tt.top {
			t.Errorf("TopOwner(%s) = %s, want %s", o.Ref(), got, tt.top)
		}
	}
}

func TestLoadClusterNamespace(t *testing.T) {
	env := cluster.Env(t)
	s := newShop(t, env)
	l, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: env.Config, Namespace: s.b})
	if err != nil {
		t.Fatal(err)
	}
	x := s.suffix
	// The namespace's objects and, as with kubectl -n, every cluster-scoped
	// object except other Namespaces.
	want := []string{
		"admissionregistration.k8s.io/v1 MutatingWebhookConfiguration mwc-" + x,
		"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy vap-" + x,
		"admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding vap-" + x,
		"admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration vwc-" + x,
		"apps/v1 DaemonSet " + s.b + "/agent",
		"rbac.authorization.k8s.io/v1 ClusterRole everything-" + x,
		"rbac.authorization.k8s.io/v1 ClusterRoleBinding web-admin-" + x,
		"v1 Namespace " + s.b,
		"v1 PersistentVolume pv-" + x,
		"v1 PodTemplate " + s.b + "/tmpl",
		"v1 ReplicationController " + s.b + "/legacy",
	}
	if got := s.mine(l.Objects); !slices.Equal(got, want) {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}
	for _, o := range l.Objects {
		if o.Kind() == "Namespace" && o.Name() != s.b {
			t.Errorf("%s loaded with Namespace %s", o.Ref(), s.b)
		}
		if o.Namespace() != "" && o.Namespace() != s.b {
			t.Errorf("%s is outside namespace %s", o.Ref(), s.b)
		}
	}

	// One object per request: every page is read.
	all, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: env.Config, Namespace: s.a})
	if err != nil {
		t.Fatal(err)
	}
	paged, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: env.Config, Namespace: s.a, ChunkSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.mine(paged.Objects), s.mine(all.Objects); !slices.Equal(got, want) || len(want) < 15 {
		t.Errorf("with ChunkSize 1:\ngot  %q\nwant %q", got, want)
	}
}

func TestLoadClusterKubeconfig(t *testing.T) {
	env := cluster.Env(t)
	path := env.Kubeconfig(t)
	// Add a context for a server that is not there and make it current, so
	// that only an explicit --context reaches the test cluster.
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kc.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: testenv.KubeconfigContext}
	kc.CurrentContext = "gone"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	ns := env.CreateNamespace(t, "kubeconfig")

	tests := []struct {
		name       string
		opts       k8s.ClusterOptions
		kubeconfig string // $KUBECONFIG
		wantSource string
		wantErr    string
	}{
		{name: "explicit file and context", opts: k8s.ClusterOptions{Kubeconfig: path, Context: testenv.KubeconfigContext}, wantSource: "cluster:envtest"},
		{name: "KUBECONFIG and context", opts: k8s.ClusterOptions{Context: testenv.KubeconfigContext}, kubeconfig: path, wantSource: "cluster:envtest"},
		{name: "current context", opts: k8s.ClusterOptions{Kubeconfig: path}, wantErr: "cluster gone"},
		{name: "unknown context", opts: k8s.ClusterOptions{Kubeconfig: path, Context: "nope"}, wantErr: "kubeconfig " + path + `: context "nope" does not exist`},
		{name: "missing file", opts: k8s.ClusterOptions{Kubeconfig: path + ".missing"}, wantErr: "kubeconfig " + path + ".missing: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			tt.opts.Namespace = ns
			l, err := k8s.LoadCluster(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range l.Objects {
				if o.Source.File != tt.wantSource {
					t.Fatalf("%s: source %s, want %s", o.Ref(), o.Source, tt.wantSource)
				}
			}
			find(t, l.Objects, "Namespace", "", ns)
		})
	}
}

func TestLoadClusterForbidden(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	s := newShop(t, env)
	user := testenv.UniqueName("viewer")
	// The viewer may read workloads and its namespace, nothing else.
	create(t, env, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: workload-viewer, namespace: %[1]s}
rules:
  - {apiGroups: [""], resources: [pods, namespaces], verbs: [get, list]}
  - {apiGroups: [apps], resources: [deployments, replicasets, statefulsets, daemonsets], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: workload-viewer, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: workload-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[2]s}]
`, s.a, user))
	cfg := env.ImpersonatedConfig(user)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "RoleBinding reaches the authorizer", func() error {
		_, err := client.AppsV1().DaemonSets(s.a).List(ctx, metav1.ListOptions{})
		return err
	})

	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	l, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: cfg, Namespace: s.a, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"apps/v1 Deployment " + s.a + "/web",
		"apps/v1 ReplicaSet " + s.a + "/web-5d8f",
		"apps/v1 StatefulSet " + s.a + "/db",
		"v1 Namespace " + s.a,
		"v1 Pod " + s.a + "/bare",
		"v1 Pod " + s.a + "/web-5d8f-abcde",
	}
	if got := s.mine(l.Objects); !slices.Equal(got, want) {
		t.Errorf("objects:\ngot  %q\nwant %q", got, want)
	}
	var skipped []string
	for _, w := range l.Warnings {
		var sk *k8s.SkippedResourceError
		if !errors.As(w, &sk) {
			t.Errorf("warning %v is not a SkippedResourceError", w)
			continue
		}
		if !apierrors.IsForbidden(sk.Err) {
			t.Errorf("warning %v: want a Forbidden cause", w)
		}
		skipped = append(skipped, sk.Kind.String())
	}
	// Every kind the viewer may not list is reported, the cluster-scoped
	// ones included.
	wantSkipped := []string{
		"ReplicationController", "Job.batch", "CronJob.batch", "PodTemplate", "Service",
		"Ingress.networking.k8s.io", "NetworkPolicy.networking.k8s.io", "ServiceAccount", "Secret",
		"Role.rbac.authorization.k8s.io", "RoleBinding.rbac.authorization.k8s.io",
		"ClusterRole.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io",
		"LimitRange", "ResourceQuota", "PodDisruptionBudget.policy",
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io",
		"MutatingWebhookConfiguration.admissionregistration.k8s.io",
		"ValidatingAdmissionPolicy.admissionregistration.k8s.io",
		"ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io",
		"PersistentVolume",
	}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped:\ngot  %q\nwant %q", skipped, wantSkipped)
	}
	for _, kind := range wantSkipped {
		if !strings.Contains(logs.String(), "kind="+kind+" ") {
			t.Errorf("no warning logged for %s in:\n%s", kind, logs.String())
		}
	}
}

func TestLoadClusterUnauthorized(t *testing.T) {
	env := cluster.Env(t)
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = "not-a-valid-token"
	_, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: cfg})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("err = %v, want Unauthorized", err)
	}
}

func TestLoadClusterCanceled(t *testing.T) {
	env := cluster.Env(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := k8s.LoadCluster(ctx, k8s.ClusterOptions{RESTConfig: env.Config})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func find(t *testing.T, objs []*k8s.Object, kind, namespace, name string) *k8s.Object {
	t.Helper()
	for _, o := range objs {
		if o.Kind() == kind && o.Namespace() == namespace && o.Name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s", kind, namespace, name)
	return nil
}

func mustHost(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestLoadClusterNotServed(t *testing.T) {
	// A second API server that does not serve policy/v1.
	env := testenv.StartWithOptions(t, testenv.Options{
		APIServerArgs: map[string][]string{"runtime-config": {"policy/v1=false"}},
	})
	ns := env.CreateNamespace(t, "not-served")
	quiet := slog.New(slog.DiscardHandler)
	l, err := k8s.LoadCluster(context.Background(), k8s.ClusterOptions{RESTConfig: env.Config, Namespace: ns, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) != 1 {
		t.Fatalf("warnings = %v, want one for PodDisruptionBudget", l.Warnings)
	}
	var sk *k8s.SkippedResourceError
	if !errors.As(l.Warnings[0], &sk) || sk.Kind != (schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}) || !errors.Is(sk, k8s.ErrNotServed) {
		t.Errorf("warning = %v, want PodDisruptionBudget.policy not served", l.Warnings[0])
	}
	find(t, l.Objects, "Namespace", "", ns)
	for _, o := range l.Objects {
		if o.Group() == "policy" {
			t.Errorf("%s loaded from a server that does not serve policy/v1", o.Ref())
		}
	}
}
