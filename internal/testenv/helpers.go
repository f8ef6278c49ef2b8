package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/k8s"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigContext is the context name in files written by Kubeconfig.
const KubeconfigContext = "envtest"

// Kubeconfig writes a kubeconfig file for the administrator into a
// temporary folder of the test and returns its path. Its only context,
// KubeconfigContext, is the current one.
func (e *Env) Kubeconfig(t testing.TB) string {
	t.Helper()
	return WriteKubeconfig(t, e.Config)
}

// WriteKubeconfig writes a kubeconfig file for cfg (for example an
// ImpersonatedConfig, to run the CLI as a less privileged user) into a
// temporary folder of the test and returns its path. Its only context is
// KubeconfigContext.
func WriteKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*KubeconfigFor(cfg, KubeconfigContext), path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// KubeconfigFor returns a kubeconfig with one context, named name, for the
// server and credentials of cfg (client certificate, bearer token or basic
// auth, and impersonation).
func KubeconfigFor(cfg *rest.Config, name string) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
		CertificateAuthority:     cfg.CAFile,
		InsecureSkipTLSVerify:    cfg.Insecure,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientCertificate:     cfg.CertFile,
		ClientKeyData:         cfg.KeyData,
		ClientKey:             cfg.KeyFile,
		Token:                 cfg.BearerToken,
		Username:              cfg.Username,
		Password:              cfg.Password,
		Impersonate:           cfg.Impersonate.UserName,
		ImpersonateUID:        cfg.Impersonate.UID,
		ImpersonateGroups:     cfg.Impersonate.Groups,
		ImpersonateUserExtra:  cfg.Impersonate.Extra,
	}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	return kc
}

// ImpersonatedConfig returns a copy of the administrator's config that acts
// as user with the given groups (plus system:authenticated, as for any real
// user). The user has only the permissions RBAC grants it.
func (e *Env) ImpersonatedConfig(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: user,
		Groups:   append(append([]string(nil), groups...), "system:authenticated"),
	}
	return cfg
}

// UniqueName returns prefix followed by a dash and random hex characters,
// usable as a namespace or object name.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// CreateNamespace creates a namespace with a unique name starting with
// prefix and returns the name. It is not deleted afterwards: without a
// namespace controller it would stay Terminating anyway.
func (e *Env) CreateNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: UniqueName(prefix)}}
	if _, err := e.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// Create creates the objects in order through the dynamic client and
// returns them as the server stored them (with uid, resourceVersion and
// defaults). A namespaced object must name its namespace. Create stops at
// the first error, which names the object.
func (e *Env) Create(ctx context.Context, objs ...*k8s.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		created, err := e.create(ctx, o)
		if err != nil {
			return out, fmt.Errorf("create %s: %w", o.Ref(), err)
		}
		out = append(out, created)
	}
	return out, nil
}

func (e *Env) create(ctx context.Context, o *k8s.Object) (*unstructured.Unstructured, error) {
	gvk := schema.FromAPIVersionAndKind(o.APIVersion(), o.Kind())
	mapping, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		e.Mapper.Reset() // a CRD created since the last discovery
		mapping, err = e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(o.Content)}
	ri := e.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return ri.Create(ctx, u, metav1.CreateOptions{})
	}
	if o.Namespace() == "" {
		return nil, fmt.Errorf("namespaced object without metadata.namespace")
	}
	return ri.Namespace(o.Namespace()).Create(ctx, u, metav1.CreateOptions{})
}

// Eventually calls check until it returns nil and fails the test with the
// last error when that has not happened within a minute. The API server
// applies some changes asynchronously (an RBAC binding reaches the
// authorizer's cache, a webhook configuration the admission chain), so a
// test waits for the effect it needs instead of sleeping.
func Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after a minute: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
