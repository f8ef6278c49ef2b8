package testenv_test

import (
	"context"
	"errors"
	"fmt"
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
	"k8s.io/client-go/tools/clientcmd"
)

var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func TestNewWithoutAssets(t *testing.T) {
	t.Setenv(testenv.AssetsEnv, "")
	if _, err := testenv.New(); !errors.Is(err, testenv.ErrNoAssets) {
		t.Fatalf("err = %v, want ErrNoAssets", err)
	}
	if !strings.Contains(testenv.ErrNoAssets.Error(), "hack/build-control-plane.sh") {
		t.Errorf("skip message %q does not say how to get the binaries", testenv.ErrNoAssets)
	}
}

func TestClients(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	// The API server makes the default namespace itself.
	if _, err := env.Client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("typed client: %v", err)
	}
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if _, err := env.Dynamic.Resource(nsGVR).Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
}

func TestKubeconfig(t *testing.T) {
	env := cluster.Env(t)
	path := env.Kubeconfig(t)
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if raw.CurrentContext != testenv.KubeconfigContext {
		t.Errorf("current context = %q, want %q", raw.CurrentContext, testenv.KubeconfigContext)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("list namespaces through the written kubeconfig: %v", err)
	}
}

func TestWriteKubeconfigImpersonating(t *testing.T) {
	env := cluster.Env(t)
	user := testenv.UniqueName("bob")
	path := testenv.WriteKubeconfig(t, env.ImpersonatedConfig(user, "team-a"))
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Impersonate.UserName != user || !slices.Contains(cfg.Impersonate.Groups, "team-a") {
		t.Fatalf("impersonation in the kubeconfig = %+v", cfg.Impersonate)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CoreV1().Secrets("default").List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), user) {
		t.Errorf("list secrets as %s: err = %v, want Forbidden for that user", user, err)
	}
}

func TestImpersonatedConfig(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	ns := env.CreateNamespace(t, "impersonate")
	user := testenv.UniqueName("alice")
	client, err := kubernetes.NewForConfig(env.ImpersonatedConfig(user, "developers"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list pods without RBAC: err = %v, want Forbidden", err)
	}
	if !strings.Contains(err.Error(), user) {
		t.Errorf("error %q does not name the impersonated user %s", err, user)
	}
	grant := decode(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: %[1]s}
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: developers-read-pods, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}
`, ns))
	if _, err := env.Create(ctx, grant...); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "list pods with a RoleBinding to the group", func() error {
		_, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	if _, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets: err = %v, want Forbidden", err)
	}
}

func TestCreate(t *testing.T) {
	env := cluster.Env(t)
	ctx := context.Background()
	ns := testenv.UniqueName("create")
	objs := decode(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: "nginx:1.29", ports: [{containerPort: 80}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s-reader}
rules: [{apiGroups: [""], resources: ["pods"], verbs: ["get"]}]
`, ns))
	created, err := env.Create(ctx, objs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 3 {
		t.Fatalf("created %d objects, want 3", len(created))
	}
	for _, u := range created {
		if u.GetUID() == "" {
			t.Errorf("%s %s has no uid: not what the server stored", u.GetKind(), u.GetName())
		}
	}
	d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.29" {
		t.Errorf("deployment stored as %+v", d.Spec)
	}

	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"namespaced object without namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "ConfigMap x: namespaced object without metadata.namespace"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n", "Widget x"},
		{"already exists", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns), "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Create(ctx, decode(t, tt.yaml)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestUniqueName(t *testing.T) {
	a, b := testenv.UniqueName("x"), testenv.UniqueName("x")
	if a == b || !strings.HasPrefix(a, "x-") || len(a) != len("x-")+8 {
		t.Errorf("UniqueName gave %q and %q", a, b)
	}
}

func decode(t *testing.T, yaml string) []*k8s.Object {
	t.Helper()
	objs, errs := k8s.Decode([]byte(yaml), "test.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return objs
}
