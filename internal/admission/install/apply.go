package install

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// FieldManager is the server-side apply field manager of kordon.
const FieldManager = "kordon"

// Apply creates or updates the objects in order with server-side apply.
// report is called after each object (may be nil). It stops at the first
// error, which names the object; a kind the cluster does not serve (say,
// cert-manager's Certificate without cert-manager) is such an error.
func Apply(ctx context.Context, cfg *rest.Config, objs []map[string]any, report func(kind, namespace, name string)) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	force := true
	for _, o := range objs {
		apiVersion, _ := o["apiVersion"].(string)
		kind, _ := o["kind"].(string)
		md, _ := o["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		mapping, err := mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				return fmt.Errorf("%s %s: the cluster does not serve %s (is cert-manager installed?): %w", kind, name, apiVersion, err)
			}
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		body, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		if _, err := ri.Patch(ctx, name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: FieldManager, Force: &force}); err != nil {
			return fmt.Errorf("apply %s %s: %w", kind, name, err)
		}
		if report != nil {
			report(kind, ns, name)
		}
	}
	return nil
}
