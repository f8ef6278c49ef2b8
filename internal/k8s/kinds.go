package k8s

import (
	"strings"
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
	best, bestDist := "", 3
	for k := range builtinKinds()[group] {
		if d := editDistance(strings.ToLower(kind), strings.ToLower(k)); d < bestDist || (d == bestDist && best != "" && k < best) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
