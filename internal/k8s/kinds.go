package k8s

import (
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/textmatch"
	"sync"

	"k8s.io/client-go/kubernetes/scheme"
)

// builtinKinds are the kinds of the built-in Kubernetes APIs (every group
// and version client-go knows, served or removed), by group.
var builtinKinds = sync.OnceValue(func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") || strings.HasSuffix(gvk.Kind, "Options") {
			continue
		}
		if out[gvk.Group] == nil {
			out[gvk.Group] = map[string]bool{}
		}
		out[gvk.Group][gvk.Kind] = true
	}
	return out
})

// IsBuiltinGroup reports whether the API group is one of Kubernetes' own.
func IsBuiltinGroup(group string) bool { return builtinKinds()[group] != nil }

// IsBuiltinKind reports whether the group has this kind.
func IsBuiltinKind(group, kind string) bool { return builtinKinds()[group][kind] }

// SuggestKind returns the built-in kind of the group closest to a kind
// the group does not have (a misspelling such as Deploymnet or Pods), or
// "" when none is close.
func SuggestKind(group, kind string) string {
	kinds := make([]string, 0, len(builtinKinds()[group]))
	for k := range builtinKinds()[group] {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return textmatch.Closest(kind, kinds)
}
