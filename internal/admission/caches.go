package admission

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
)

// Caches are the informer caches the webhook reads: NetworkPolicies (for
// governance.requireNetworkPolicy) and Namespaces (for namespace selectors).
type Caches struct {
	NetworkPolicies networkinglisters.NetworkPolicyLister
	Namespaces      corelisters.NamespaceLister
	// Synced reports whether both caches have synced.
	Synced func() bool
	// GetNamespace reads a namespace's labels from the API server, for
	// namespaces the cache does not know yet.
	GetNamespace func(ctx context.Context, name string) (map[string]string, bool)
}

// StartCaches starts the informers; they run until ctx ends. resync 0
// means no periodic resync (watch events keep the caches current).
func StartCaches(ctx context.Context, client kubernetes.Interface, resync time.Duration) *Caches {
	f := informers.NewSharedInformerFactory(client, resync)
	np := f.Networking().V1().NetworkPolicies()
	ns := f.Core().V1().Namespaces()
	c := &Caches{NetworkPolicies: np.Lister(), Namespaces: ns.Lister()}
	npInf, nsInf := np.Informer(), ns.Informer()
	f.Start(ctx.Done())
	c.Synced = func() bool { return npInf.HasSynced() && nsInf.HasSynced() }
	c.GetNamespace = func(ctx context.Context, name string) (map[string]string, bool) {
		ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		return ns.Labels, true
	}
	return c
}
