package k8s

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/homedir"
)

// ServiceAccountDir is where Kubernetes mounts a pod's service account
// token and the cluster's CA certificate.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrNoClientConfig means that LoadClientConfig found no kubeconfig file to
// read (and, unless a context was asked for, that the process does not run
// in a pod).
var ErrNoClientConfig = errors.New("no kubeconfig found")

// ClientOptions says where LoadClientConfig looks for the API server and
// credentials.
type ClientOptions struct {
	// Kubeconfig is a kubeconfig file given explicitly (--kubeconfig); it
	// must exist. Empty means $KUBECONFIG, else ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context to use (--context); empty means
	// the kubeconfig's current context.
	Context string
	// InClusterFirst prefers the pod's service account to any kubeconfig
	// when neither Kubeconfig nor Context is given: for servers meant to
	// run inside the cluster, such as the admission webhook.
	InClusterFirst bool
	// ServiceAccountDir holds the in-cluster token and ca.crt; empty means
	// the ServiceAccountDir constant (tests set another).
	ServiceAccountDir string
}

// ClientConfig is the client configuration LoadClientConfig found.
type ClientConfig struct {
	// REST is the configuration to build clients from.
	REST *rest.Config
	// Context is the kubeconfig context used; "" for the in-cluster
	// service account.
	Context string
}

// LoadClientConfig finds the API server and credentials to use, the way
// kubectl does, in this order:
//
//  1. With InClusterFirst, when neither Kubeconfig nor Context is set: the
//     pod's service account, if the process runs in a pod
//     (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set and the
//     token file exists).
//  2. The Kubeconfig file, when set.
//  3. Else the files listed in $KUBECONFIG (separated like $PATH), merged
//     as kubectl merges them (the first file to set a value wins); files
//     that do not exist are skipped.
//  4. Else ~/.kube/config.
//  5. When no kubeconfig file of steps 3 and 4 exists, or they hold no
//     configuration, and Context is empty: the pod's service account, if
//     the process runs in a pod.
//
// From a kubeconfig, Context chooses the context; empty means its current
// context. The returned configuration allows 50 requests per second (burst
// 100) and identifies itself as "kordon" unless the kubeconfig sets
// otherwise.
//
// Errors: a missing Kubeconfig file gives an error naming it that wraps
// fs.ErrNotExist; no kubeconfig (and no pod) gives ErrNoClientConfig,
// saying which files were looked for; a kubeconfig that cannot be read,
// has no such context or an unusable one gives an error naming the files.
func LoadClientConfig(opts ClientOptions) (*ClientConfig, error) {
	saDir := opts.ServiceAccountDir
	if saDir == "" {
		saDir = ServiceAccountDir
	}
	if opts.InClusterFirst && opts.Kubeconfig == "" && opts.Context == "" {
		if cfg, ok, err := inClusterConfig(saDir); ok {
			return cfg, err
		}
	}

	rules := &clientcmd.ClientConfigLoadingRules{}
	var files []string // the kubeconfig files that exist
	var missing string // where no kubeconfig was found, for the error
	switch {
	case opts.Kubeconfig != "":
		if _, err := os.Stat(opts.Kubeconfig); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("kubeconfig %s: %w", opts.Kubeconfig, fs.ErrNotExist)
		}
		rules.ExplicitPath = opts.Kubeconfig
		files = []string{opts.Kubeconfig}
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		for _, f := range filepath.SplitList(os.Getenv(clientcmd.RecommendedConfigPathEnvVar)) {
			if f != "" && !slices.Contains(rules.Precedence, f) {
				rules.Precedence = append(rules.Precedence, f)
			}
		}
		missing = "none of the files in $KUBECONFIG exists: " + strings.Join(rules.Precedence, ", ")
	default:
		home := filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
		rules.Precedence = []string{home}
		missing = home + " does not exist; give --kubeconfig or set $KUBECONFIG"
	}
	for _, f := range rules.Precedence {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			files = append(files, f)
		}
	}

	// Steps 2 to 4.
	if len(files) > 0 {
		cfg, err := kubeconfigClient(rules, opts.Context)
		switch {
		case err == nil:
			return cfg, nil
		case opts.Kubeconfig != "" || opts.Context != "" || !clientcmd.IsEmptyConfig(err):
			return nil, fmt.Errorf("kubeconfig %s: %w", strings.Join(files, ", "), err)
		}
		missing = strings.Join(files, ", ") + " holds no configuration"
	}
	if opts.Context != "" {
		return nil, fmt.Errorf("context %s: %w (%s)", opts.Context, ErrNoClientConfig, missing)
	}
	// Step 5.
	if cfg, ok, err := inClusterConfig(saDir); ok {
		return cfg, err
	}
	return nil, fmt.Errorf("%w, and not running in a pod (%s)", ErrNoClientConfig, missing)
}

// kubeconfigClient reads the kubeconfig files of rules with the given
// context.
func kubeconfigClient(rules *clientcmd.ClientConfigLoadingRules, context string) (*ClientConfig, error) {
	raw, err := rules.Load()
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, "", &clientcmd.ConfigOverrides{CurrentContext: context}, rules).ClientConfig()
	if err != nil {
		return nil, err
	}
	if context == "" {
		context = raw.CurrentContext
	}
	return &ClientConfig{REST: withClientDefaults(cfg), Context: context}, nil
}

// inClusterConfig returns the configuration of the pod's service account,
// as rest.InClusterConfig does but with the token and CA read from dir.
// ok is false when the process does not run in a pod.
func inClusterConfig(dir string) (cfg *ClientConfig, ok bool, err error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	tokenFile := filepath.Join(dir, "token")
	fi, statErr := os.Stat(tokenFile)
	if host == "" || port == "" || statErr != nil || fi.IsDir() {
		return nil, false, nil
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, true, fmt.Errorf("in-cluster config: %w", err)
	}
	rc := &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		BearerToken:     string(token),
		BearerTokenFile: tokenFile,
	}
	// As rest.InClusterConfig: without a readable CA the system roots are
	// used.
	if caFile := filepath.Join(dir, "ca.crt"); canReadCA(caFile) {
		rc.CAFile = caFile
	}
	return &ClientConfig{REST: withClientDefaults(rc)}, true, nil
}

func canReadCA(file string) bool {
	_, err := certutil.NewPool(file)
	return err == nil
}

// withClientDefaults sets Kordon's rate limits and user agent where the
// configuration leaves them unset.
func withClientDefaults(cfg *rest.Config) *rest.Config {
	if cfg.QPS == 0 && cfg.Burst == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "kordon"
	}
	return cfg
}
