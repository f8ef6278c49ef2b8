package k8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// ClusterOptions configures LoadCluster.
type ClusterOptions struct {
	// Kubeconfig is the kubeconfig file to use. Empty means what kubectl
	// uses: the files in $KUBECONFIG, else ~/.kube/config, else the
	// in-cluster service account when running inside a pod (see
	// LoadClientConfig).
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means the current one.
	Context string
	// Namespace limits the namespaced kinds to one namespace, and the
	// Namespace objects to that one; as with kubectl -n, cluster-scoped
	// kinds (ClusterRoles, webhook configurations, PersistentVolumes, ...)
	// are still read in full. Empty means all namespaces.
	Namespace string
	// RESTConfig, when set, is used instead of any kubeconfig (tests).
	RESTConfig *rest.Config
	// ChunkSize is the number of objects fetched per list request, like
	// kubectl's --chunk-size; 0 means 500.
	ChunkSize int64
	// Logger receives a warning for every resource that is skipped;
	// nil means slog.Default().
	Logger *slog.Logger
}

// ErrNotServed marks a resource that the API server does not serve (an
// older Kubernetes version, a disabled API group).
var ErrNotServed = errors.New("not served by the API server")

// SkippedResourceError says that the objects of one kind were not loaded
// from a cluster, and why: the server does not serve them (ErrNotServed),
// the user may not list them (a Forbidden API error), or listing failed.
type SkippedResourceError struct {
	Kind schema.GroupKind
	Err  error
}

func (e *SkippedResourceError) Error() string {
	return fmt.Sprintf("%s not loaded: %v", e.Kind, e.Err)
}

func (e *SkippedResourceError) Unwrap() error { return e.Err }

// clusterKinds are the kinds LoadCluster reads, in the order it reads them.
// ConfigMaps are left out on purpose: they are large and hold no posture.
var clusterKinds = []schema.GroupKind{
	{Group: "", Kind: "Namespace"},
	{Group: "", Kind: "Pod"},
	{Group: "apps", Kind: "Deployment"},
	{Group: "apps", Kind: "StatefulSet"},
	{Group: "apps", Kind: "DaemonSet"},
	{Group: "apps", Kind: "ReplicaSet"},
	{Group: "", Kind: "ReplicationController"},
	{Group: "batch", Kind: "Job"},
	{Group: "batch", Kind: "CronJob"},
	{Group: "", Kind: "PodTemplate"},
	{Group: "", Kind: "Service"},
	{Group: "networking.k8s.io", Kind: "Ingress"},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
	{Group: "", Kind: "ServiceAccount"},
	{Group: "", Kind: "Secret"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
	{Group: "", Kind: "LimitRange"},
	{Group: "", Kind: "ResourceQuota"},
	{Group: "policy", Kind: "PodDisruptionBudget"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"},
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"},
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"},
	{Group: "", Kind: "PersistentVolume"},
}

// ClusterKinds returns the kinds LoadCluster reads, in order.
func ClusterKinds() []schema.GroupKind { return append([]schema.GroupKind(nil), clusterKinds...) }

// defaultChunkSize bounds the objects fetched per list request.
const defaultChunkSize = 500

// LoadCluster reads the objects Kordon checks (see ClusterKinds) from a live
// API server, each at the version the server prefers.
//
// Objects get apiVersion and kind set, lose metadata.managedFields, and have
// Source.File "cluster:<context>" (or "cluster:<host>" without a kubeconfig
// context) and Line 0. Secrets keep their metadata, type and data keys, but
// every value is replaced by "" (and a last-applied-configuration annotation,
// which would repeat the values, is dropped) as soon as a page is read.
//
// A kind the server does not serve, or that the user may not list, is
// skipped and reported in Loaded.Warnings as an *InputError wrapping a
// *SkippedResourceError; nothing is dropped silently. The returned error is
// for a cluster that cannot be used at all: bad kubeconfig, unreachable
// server, rejected credentials, or a canceled context.
func LoadCluster(ctx context.Context, opts ClusterOptions) (*Loaded, error) {
	cfg, name, err := clusterConfig(opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	source := "cluster:" + name
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	served, failedGroups, err := servedResources(ctx, dc)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: discover resources: %w", name, err)
	}

	l := &Loaded{}
	skip := func(gk schema.GroupKind, cause error) {
		log.WarnContext(ctx, "cluster resource skipped", "cluster", name, "kind", gk.String(), "err", cause)
		l.Warnings = append(l.Warnings, &InputError{File: source, Err: &SkippedResourceError{Kind: gk, Err: cause}})
	}
	for _, gk := range clusterKinds {
		res, ok := served[gk]
		if !ok {
			cause := ErrNotServed
			if gerr, failed := failedGroups[gk.Group]; failed {
				cause = fmt.Errorf("discovery of group %q failed: %w", gk.Group, gerr)
			}
			skip(gk, cause)
			continue
		}
		objs, err := listKind(ctx, dyn, res, opts, source)
		switch {
		case err == nil:
			l.Objects = append(l.Objects, objs...)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case apierrors.IsUnauthorized(err):
			return nil, fmt.Errorf("cluster %s: list %s: %w", name, res.gvr.Resource, err)
		default:
			skip(gk, err)
		}
	}
	return l, nil
}

// servedResource is how to list one kind.
type servedResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

// servedResources maps every listable kind to its resource at the server's
// preferred version. Groups whose discovery failed are returned separately
// (group → cause); other errors are returned as err.
func servedResources(ctx context.Context, dc discovery.DiscoveryInterface) (map[schema.GroupKind]servedResource, map[string]error, error) {
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(dc))
	failed := map[string]error{}
	var gdf *discovery.ErrGroupDiscoveryFailed
	switch {
	case errors.As(err, &gdf):
		for gv, cause := range gdf.Groups {
			failed[gv.Group] = cause
		}
	case err != nil:
		return nil, nil, err
	}
	out := map[schema.GroupKind]servedResource{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !hasVerb(r.Verbs, "list") {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			out[gk] = servedResource{gvr: gv.WithResource(r.Name), kind: r.Kind, namespaced: r.Namespaced}
		}
	}
	return out, failed, nil
}

func hasVerb(verbs metav1.Verbs, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// listKind lists every object of one resource, page by page. With a
// namespace, the Namespace kind yields just that Namespace.
func listKind(ctx context.Context, dyn dynamic.Interface, res servedResource, opts ClusterOptions, source string) ([]*Object, error) {
	namespace := opts.Namespace
	apiVersion := res.gvr.GroupVersion().String()
	ri := dyn.Resource(res.gvr)
	if res.gvr.Group == "" && res.kind == "Namespace" && namespace != "" {
		u, err := ri.Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get namespace %s: %w", namespace, err)
		}
		return []*Object{clusterObject(u.Object, apiVersion, res.kind, source)}, nil
	}
	var lister dynamic.ResourceInterface = ri
	if res.namespaced && namespace != "" {
		lister = ri.Namespace(namespace)
	}
	var out []*Object
	list := metav1.ListOptions{Limit: opts.ChunkSize}
	if list.Limit <= 0 {
		list.Limit = defaultChunkSize
	}
	for {
		page, err := lister.List(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", res.gvr.GroupResource(), err)
		}
		for i := range page.Items {
			out = append(out, clusterObject(page.Items[i].Object, apiVersion, res.kind, source))
			page.Items[i].Object = nil
		}
		if list.Continue = page.GetContinue(); list.Continue == "" {
			return out, nil
		}
	}
}

// clusterObject turns one listed item into an Object: apiVersion and kind
// set, managedFields dropped, Secret values blanked.
func clusterObject(content map[string]any, apiVersion, kind, source string) *Object {
	content["apiVersion"] = apiVersion
	content["kind"] = kind
	if md := Map(content, "metadata"); md != nil {
		delete(md, "managedFields")
	}
	if apiVersion == "v1" && kind == "Secret" {
		redactSecret(content)
	}
	Normalize(content)
	return &Object{Content: content, Source: Source{File: source}}
}

// lastApplied is the annotation kubectl apply writes; on a Secret it holds
// the whole Secret, values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// redactSecret replaces every value of data and stringData with "" (the
// keys stay, so rules can see what a Secret holds) and drops the
// last-applied-configuration annotation.
func redactSecret(content map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		for k := range Map(content, field) {
			Map(content, field)[k] = ""
		}
	}
	if ann := Map(Map(content, "metadata"), "annotations"); ann != nil {
		delete(ann, lastApplied)
	}
}

// clusterConfig returns the REST config to use and a name for the cluster:
// the kubeconfig context, or the server's host.
func clusterConfig(opts ClusterOptions) (*rest.Config, string, error) {
	if opts.RESTConfig != nil {
		cfg := withClientDefaults(rest.CopyConfig(opts.RESTConfig))
		return cfg, hostOf(cfg.Host), nil
	}
	cc, err := LoadClientConfig(ClientOptions{Kubeconfig: opts.Kubeconfig, Context: opts.Context})
	if err != nil {
		return nil, "", err
	}
	name := cc.Context
	if name == "" {
		name = hostOf(cc.REST.Host)
	}
	return cc.REST, name, nil
}

// hostOf returns host[:port] of a server URL such as https://10.0.0.1:6443.
func hostOf(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}
