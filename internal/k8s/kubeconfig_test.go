package k8s_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// writeKubeconfig writes a kubeconfig whose contexts each point at a server
// named after them (context "a" → https://a.example:6443); the first
// context is the current one. No contexts writes an empty file.
func writeKubeconfig(t *testing.T, dir, name string, contexts ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if len(contexts) == 0 {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	kc := clientcmdapi.NewConfig()
	for _, c := range contexts {
		kc.Clusters[c] = &clientcmdapi.Cluster{Server: "https://" + c + ".example:6443"}
		kc.AuthInfos[c] = &clientcmdapi.AuthInfo{Token: "token-" + c}
		kc.Contexts[c] = &clientcmdapi.Context{Cluster: c, AuthInfo: c}
	}
	kc.CurrentContext = contexts[0]
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// inPod makes the process look like it runs in a pod whose service account
// is in the returned folder, with a token and a valid CA certificate.
func inPod(t *testing.T, host string) string {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", host)
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("pod-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _, err := certutil.GenerateSelfSignedCertKey("kubernetes", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// noEnvironment clears what LoadClientConfig reads from the environment:
// no $KUBECONFIG, an empty home folder, not in a pod.
func noEnvironment(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	return home
}

func TestLoadClientConfig(t *testing.T) {
	type env struct {
		home       bool     // ~/.kube/config with contexts home, other
		kubeconfig []string // $KUBECONFIG: names of files in the temp folder; "ab" has contexts a, b; "c" has c; "empty" is empty; others do not exist
		pod        bool     // in a pod, service host 10.96.0.1
	}
	tests := []struct {
		name     string
		env      env
		opts     k8s.ClientOptions
		explicit string // opts.Kubeconfig: a file in the temp folder, as for $KUBECONFIG

		wantHost    string // "" with wantErr
		wantContext string
		wantErr     []string // substrings of the error
		wantErrIs   error
	}{
		{name: "explicit file, current context", explicit: "ab",
			wantHost: "https://a.example:6443", wantContext: "a"},
		{name: "explicit file and context", explicit: "ab", opts: k8s.ClientOptions{Context: "b"},
			wantHost: "https://b.example:6443", wantContext: "b"},
		{name: "explicit file wins over $KUBECONFIG and home", explicit: "c", env: env{home: true, kubeconfig: []string{"ab"}},
			wantHost: "https://c.example:6443", wantContext: "c"},
		{name: "explicit file missing", explicit: "missing", env: env{home: true, pod: true},
			wantErr: []string{"kubeconfig ", "missing: file does not exist"}, wantErrIs: fs.ErrNotExist},
		{name: "explicit file, unknown context", explicit: "ab", opts: k8s.ClientOptions{Context: "nope"},
			wantErr: []string{"ab: ", `context "nope" does not exist`}},
		{name: "explicit empty file is not replaced by the pod", explicit: "empty", env: env{pod: true},
			wantErr: []string{"empty: ", "no configuration has been provided"}},

		{name: "$KUBECONFIG", env: env{home: true, kubeconfig: []string{"ab"}},
			wantHost: "https://a.example:6443", wantContext: "a"},
		{name: "$KUBECONFIG files merge, missing ones skipped", env: env{kubeconfig: []string{"missing", "c", "ab"}}, opts: k8s.ClientOptions{Context: "b"},
			wantHost: "https://b.example:6443", wantContext: "b"},
		{name: "$KUBECONFIG current context from the first file", env: env{kubeconfig: []string{"c", "ab"}},
			wantHost: "https://c.example:6443", wantContext: "c"},
		{name: "$KUBECONFIG files all missing", env: env{home: true, kubeconfig: []string{"gone1", "gone2"}},
			wantErr: []string{"no kubeconfig found", "not running in a pod", "$KUBECONFIG", "gone1", "gone2"}, wantErrIs: k8s.ErrNoClientConfig},

		{name: "home", env: env{home: true},
			wantHost: "https://home.example:6443", wantContext: "home"},
		{name: "home with context", env: env{home: true}, opts: k8s.ClientOptions{Context: "other"},
			wantHost: "https://other.example:6443", wantContext: "other"},
		{name: "nothing", wantErr: []string{"no kubeconfig found", "not running in a pod", filepath.Join(".kube", "config") + " does not exist"},
			wantErrIs: k8s.ErrNoClientConfig},
		{name: "context without kubeconfig", env: env{pod: true}, opts: k8s.ClientOptions{Context: "a"},
			wantErr: []string{"context a: no kubeconfig found"}, wantErrIs: k8s.ErrNoClientConfig},

		{name: "pod when no kubeconfig", env: env{pod: true},
			wantHost: "https://10.96.0.1:443"},
		{name: "pod when the kubeconfig is empty", env: env{pod: true, kubeconfig: []string{"empty"}},
			wantHost: "https://10.96.0.1:443"},
		{name: "kubeconfig before pod", env: env{pod: true, home: true},
			wantHost: "https://home.example:6443", wantContext: "home"},
		{name: "in-cluster first", env: env{pod: true, home: true, kubeconfig: []string{"ab"}}, opts: k8s.ClientOptions{InClusterFirst: true},
			wantHost: "https://10.96.0.1:443"},
		{name: "in-cluster first, but a file is given", env: env{pod: true}, explicit: "ab", opts: k8s.ClientOptions{InClusterFirst: true},
			wantHost: "https://a.example:6443", wantContext: "a"},
		{name: "in-cluster first, but a context is given", env: env{pod: true, home: true}, opts: k8s.ClientOptions{InClusterFirst: true, Context: "other"},
			wantHost: "https://other.example:6443", wantContext: "other"},
		{name: "in-cluster first, not in a pod", env: env{home: true}, opts: k8s.ClientOptions{InClusterFirst: true},
			wantHost: "https://home.example:6443", wantContext: "home"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := noEnvironment(t)
			dir := t.TempDir()
			writeKubeconfig(t, dir, "ab", "a", "b")
			writeKubeconfig(t, dir, "c", "c")
			writeKubeconfig(t, dir, "empty")
			if tt.env.home {
				if err := os.Mkdir(filepath.Join(home, ".kube"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeKubeconfig(t, filepath.Join(home, ".kube"), "config", "home", "other")
			}
			if len(tt.env.kubeconfig) > 0 {
				var paths []string
				for _, f := range tt.env.kubeconfig {
					paths = append(paths, filepath.Join(dir, f))
				}
				t.Setenv("KUBECONFIG", strings.Join(paths, string(filepath.ListSeparator)))
			}
			opts := tt.opts
			opts.ServiceAccountDir = t.TempDir() // no token: not in a pod
			if tt.env.pod {
				opts.ServiceAccountDir = inPod(t, "10.96.0.1")
			}
			if tt.explicit != "" {
				opts.Kubeconfig = filepath.Join(dir, tt.explicit)
			}

			got, err := k8s.LoadClientConfig(opts)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %s, want an error", got.REST.Host)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
					t.Errorf("error %q is not %v", err, tt.wantErrIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.REST.Host != tt.wantHost || got.Context != tt.wantContext {
				t.Errorf("got host %s context %q, want %s context %q", got.REST.Host, got.Context, tt.wantHost, tt.wantContext)
			}
			if got.REST.QPS != 50 || got.REST.Burst != 100 || got.REST.UserAgent != "kordon" {
				t.Errorf("QPS %v burst %d user agent %q, want 50, 100, kordon", got.REST.QPS, got.REST.Burst, got.REST.UserAgent)
			}
		})
	}
}

// TestLoadClientConfigInCluster checks the service account configuration
// against what rest.InClusterConfig would build.
func TestLoadClientConfigInCluster(t *testing.T) {
	noEnvironment(t)
	dir := inPod(t, "fd00::1")
	got, err := k8s.LoadClientConfig(k8s.ClientOptions{InClusterFirst: true, ServiceAccountDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := got.REST
	if cfg.Host != "https://[fd00::1]:443" {
		t.Errorf("host = %s, want https://[fd00::1]:443", cfg.Host)
	}
	if cfg.BearerToken != "pod-token" || cfg.BearerTokenFile != filepath.Join(dir, "token") {
		t.Errorf("token %q from %q, want pod-token from %s/token (re-read when it rotates)", cfg.BearerToken, cfg.BearerTokenFile, dir)
	}
	if cfg.CAFile != filepath.Join(dir, "ca.crt") {
		t.Errorf("CA file = %q, want %s/ca.crt", cfg.CAFile, dir)
	}
	if got.Context != "" {
		t.Errorf("context = %q, want none", got.Context)
	}

	// Without a readable CA the system roots are used, as client-go does.
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := k8s.LoadClientConfig(k8s.ClientOptions{ServiceAccountDir: dir}); err != nil || got.REST.CAFile != "" {
		t.Errorf("invalid ca.crt: got %+v, %v; want no CA file", got, err)
	}

	// A token folder without the environment is not a pod.
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	if _, err := k8s.LoadClientConfig(k8s.ClientOptions{InClusterFirst: true, ServiceAccountDir: dir}); !errors.Is(err, k8s.ErrNoClientConfig) {
		t.Errorf("without KUBERNETES_SERVICE_PORT: err = %v, want ErrNoClientConfig", err)
	}
}
