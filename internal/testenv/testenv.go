package testenv

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// AssetsEnv is the environment variable naming the folder that holds the
// kube-apiserver and etcd binaries.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// ErrNoAssets is returned by New when AssetsEnv is not set.
var ErrNoAssets = errors.New(AssetsEnv + " is not set; run tests with " +
	AssetsEnv + "=$(hack/build-control-plane.sh) to start a real API server")

// Env is a running control plane and clients for it, authenticated as an
// administrator (group system:masters). An Env is safe for concurrent use
// by parallel tests.
type Env struct {
	// Config is the administrator's REST config.
	Config *rest.Config
	// Client is a typed client-go clientset.
	Client kubernetes.Interface
	// Dynamic is a dynamic client for any resource.
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources through the server's discovery
	// (refreshed when a kind is not found, so CRDs created later map too).
	Mapper meta.ResettableRESTMapper

	env *envtest.Environment
}

// Options changes how a control plane starts.
type Options struct {
	// APIServerArgs are extra kube-apiserver flags: name without dashes →
	// values, e.g. {"runtime-config": {"policy/v1=false"}} to stop serving
	// an API group, or {"feature-gates": {"SomeGate=true"}}.
	APIServerArgs map[string][]string
}

// New starts a control plane with the default flags. It returns
// ErrNoAssets when AssetsEnv is not set. Call Stop when done.
func New() (*Env, error) { return NewWithOptions(Options{}) }

// NewWithOptions is New with extra options.
func NewWithOptions(opts Options) (*Env, error) {
	assets := os.Getenv(AssetsEnv)
	if assets == "" {
		return nil, ErrNoAssets
	}
	// envtest logs through controller-runtime, which prints a stack trace
	// to warn when no logger was ever set; tests need neither.
	ctrllog.SetLogger(logr.Discard())
	useExisting := false
	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		UseExistingCluster:       &useExisting,
		ControlPlaneStartTimeout: 2 * time.Minute, // the test machine may be busy
		ControlPlaneStopTimeout:  time.Minute,
	}
	if len(opts.APIServerArgs) > 0 {
		args := te.ControlPlane.GetAPIServer().Configure()
		for name, values := range opts.APIServerArgs {
			args.Set(name, values...)
		}
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane from %s: %w", assets, err)
	}
	e, err := newEnv(cfg)
	if err != nil {
		_ = te.Stop()
		return nil, err
	}
	e.env = te
	return e, nil
}

func newEnv(cfg *rest.Config) (*Env, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Env{
		Config:  cfg,
		Client:  client,
		Dynamic: dyn,
		Mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
	}, nil
}

// Stop stops the control plane and removes its temporary files.
func (e *Env) Stop() error {
	if e.env == nil {
		return nil
	}
	if err := e.env.Stop(); err != nil {
		return fmt.Errorf("stop control plane: %w", err)
	}
	return nil
}

// Start starts a control plane for one test and stops it when the test
// ends. It skips the test when AssetsEnv is not set and fails it when the
// control plane does not start.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWithOptions(t, Options{})
}

// StartWithOptions is Start with extra options.
func StartWithOptions(t testing.TB, opts Options) *Env {
	t.Helper()
	e, err := NewWithOptions(opts)
	if errors.Is(err, ErrNoAssets) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// Shared is one control plane for all tests of a package, started by the
// first test that asks for it (startup takes a few seconds). Declare one in
// the test package and stop it from TestMain:
//
//	var cluster testenv.Shared
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		if err := cluster.Stop(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//		}
//		os.Exit(code)
//	}
//
// The zero value is ready to use and safe for concurrent use.
type Shared struct {
	mu  sync.Mutex
	env *Env
	err error
}

// Env returns the shared control plane, starting it on first use. Like
// Start, it skips the test without AssetsEnv and fails it when the control
// plane cannot start (every later test fails with the same error).
func (s *Shared) Env(t testing.TB) *Env {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env == nil && s.err == nil {
		s.env, s.err = New()
	}
	if errors.Is(s.err, ErrNoAssets) {
		t.Skip(s.err.Error())
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.env
}

// Stop stops the shared control plane if it was started.
func (s *Shared) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env == nil {
		return nil
	}
	err := s.env.Stop()
	s.env = nil
	return err
}
