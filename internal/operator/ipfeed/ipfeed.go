// Package ipfeed publishes label-selected groups of pods as IP lists over
// HTTP for perimeter firewalls (dynamic address objects): GET /feeds lists
// the groups, /feeds/NAME serves one IP per line (text/plain) and
// /feeds/NAME.json the same with the group's definition. The lists are
// read from a pod cache on every request, so they follow pods as they come
// and go.
package ipfeed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Group is one feed: the pods matching Selector in Namespaces (all when
// empty).
type Group struct {
	Name       string   `json:"name"`
	Namespaces []string `json:"namespaces,omitempty"`
	Selector   string   `json:"selector"`
}

// Feeds serves groups from a pod reader (a controller-runtime cache).
type Feeds struct {
	groups   []Group
	selector map[string]labels.Selector
}

// New checks the groups: names must be unique DNS labels and selectors
// valid label selectors.
func New(groups []Group) (*Feeds, error) {
	f := &Feeds{groups: groups, selector: map[string]labels.Selector{}}
	for i, g := range groups {
		if g.Name == "" || strings.ContainsAny(g.Name, "/. ") || strings.HasSuffix(g.Name, ".json") {
			return nil, fmt.Errorf("feed %d: name %q: want a name without '/', '.' or spaces", i, g.Name)
		}
		if _, dup := f.selector[g.Name]; dup {
			return nil, fmt.Errorf("feed %q: defined twice", g.Name)
		}
		sel, err := labels.Parse(g.Selector)
		if err != nil {
			return nil, fmt.Errorf("feed %q: selector: %w", g.Name, err)
		}
		f.selector[g.Name] = sel
	}
	return f, nil
}

// Active reports whether a pod holds its IPs: not finished, not being
// deleted.
func Active(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// IPs returns the sorted, distinct IPs of a group's active pods.
func (f *Feeds) IPs(ctx context.Context, r client.Reader, name string) ([]netip.Addr, error) {
	i := slices.IndexFunc(f.groups, func(g Group) bool { return g.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("no feed %q", name)
	}
	g := f.groups[i]
	namespaces := g.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	seen := map[netip.Addr]bool{}
	for _, ns := range namespaces {
		var pods corev1.PodList
		if err := r.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: f.selector[name]}); err != nil {
			return nil, fmt.Errorf("feed %q: list pods: %w", name, err)
		}
		for j := range pods.Items {
			p := &pods.Items[j]
			if !Active(p) || p.Spec.HostNetwork {
				continue // a host-network pod's IP is its node's
			}
			ips := p.Status.PodIPs
			if len(ips) == 0 && p.Status.PodIP != "" {
				ips = []corev1.PodIP{{IP: p.Status.PodIP}}
			}
			for _, ip := range ips {
				if a, err := netip.ParseAddr(ip.IP); err == nil {
					seen[a.Unmap()] = true
				}
			}
		}
	}
	out := make([]netip.Addr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out, nil
}

// feedJSON is the JSON form of one feed.
type feedJSON struct {
	Group
	IPs []string `json:"ips"`
}

// Handler serves the feeds from r.
func (f *Feeds) Handler(r client.Reader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feeds", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string][]Group{"feeds": f.groups})
	})
	mux.HandleFunc("GET /feeds/{name}", func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		asJSON := false
		if n, ok := strings.CutSuffix(name, ".json"); ok {
			name, asJSON = n, true
		}
		if _, ok := f.selector[name]; !ok {
			http.Error(w, fmt.Sprintf("no feed %q", name), http.StatusNotFound)
			return
		}
		ips, err := f.IPs(req.Context(), r, name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if asJSON {
			out := feedJSON{Group: f.groups[slices.IndexFunc(f.groups, func(g Group) bool { return g.Name == name })], IPs: []string{}}
			for _, a := range ips {
				out.IPs = append(out.IPs, a.String())
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var b strings.Builder
		for _, a := range ips {
			b.WriteString(a.String())
			b.WriteByte('\n')
		}
		_, _ = w.Write([]byte(b.String()))
	})
	return mux
}
