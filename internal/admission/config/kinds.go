package config

import (
	"github.com/kordon-dev/kordon/internal/textmatch"

	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes/scheme"
)

// builtinKinds maps every built-in kind the API server serves to its API
// groups ("" is the core group), from client-go's scheme plus the two
// aggregator and extension kinds it does not hold.
var builtinKinds = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{
		"CustomResourceDefinition": {"apiextensions.k8s.io"},
		"APIService":               {"apiregistration.k8s.io"},
	}
	notResources := []string{"WatchEvent", "Status", "APIGroup", "APIVersions", "APIResourceList", "SerializedReference", "RangeAllocation", "DeploymentRollback"}
	for gvk := range scheme.Scheme.AllKnownTypes() {
		k := gvk.Kind
		if strings.HasSuffix(k, "List") || strings.HasSuffix(k, "Options") || slices.Contains(notResources, k) {
			continue
		}
		if !slices.Contains(out[k], gvk.Group) {
			out[k] = append(out[k], gvk.Group)
		}
	}
	for _, groups := range out {
		slices.Sort(groups)
	}
	return out
})

// builtinGroup reports whether group is a built-in API group ("" or core
// for the core group).
func builtinGroup(group string) bool {
	for _, groups := range builtinKinds() {
		if slices.Contains(groups, group) {
			return true
		}
	}
	return false
}

// checkKind checks a scope's kind, written Kind or group/Kind. It returns
// a problem ("" when the kind is fine) and whether the problem is only a
// warning: a kind of a custom resource group cannot be checked.
func checkKind(k string) (msg string, warning bool) {
	group, kind, grouped := strings.Cut(k, "/")
	if !grouped {
		kind, group = k, ""
	} else if group == "core" {
		group = ""
	}
	if kind == "" || (grouped && group == "" && !strings.HasPrefix(k, "core/")) {
		return fmt.Sprintf("%q: want a Kind such as Deployment or group/Kind such as apps/Deployment", k), false
	}
	kinds := builtinKinds()
	groups, known := kinds[kind]
	if !grouped {
		if known {
			return "", false
		}
		if s := suggestKind(kind, kinds); s != "" {
			return fmt.Sprintf("%q is not a built-in kind: did you mean %s?", k, s), false
		}
		return fmt.Sprintf("%q is not a built-in kind (kinds are singular and capitalised: Pod, Deployment); write a custom resource as group/Kind, e.g. example.com/Widget", k), false
	}
	if !builtinGroup(group) {
		if strings.Contains(group, ".") {
			return fmt.Sprintf("%q: custom resource kind not checked; make sure the group and the Kind's spelling (singular, capitalised) are right", k), true
		}
		return fmt.Sprintf("%q: no built-in API group %q; custom resource groups contain a dot (example.com/Widget)", k, group), false
	}
	if known && slices.Contains(groups, group) {
		return "", false
	}
	if known {
		return fmt.Sprintf("%q: %s is in %s, not in %s", k, kind, groupList(groups), groupName(group)), false
	}
	if s := suggestKind(kind, kinds); s != "" {
		return fmt.Sprintf("%q is not a built-in kind: did you mean %s?", k, s), false
	}
	return fmt.Sprintf("%q: API group %s has no kind %s", k, groupName(group), kind), false
}

func groupName(g string) string {
	if g == "" {
		return "core"
	}
	return g
}

func groupList(groups []string) string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = groupName(g)
	}
	return strings.Join(names, ", ")
}

// suggestKind returns the built-in kind a misspelt one probably means: the
// same word in another case, without a plural ending, or within two edits.
func suggestKind(kind string, kinds map[string][]string) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, cand := range []string{kind, strings.TrimSuffix(kind, "s"), strings.TrimSuffix(kind, "es"), strings.TrimSuffix(kind, "ies") + "y"} {
		for _, n := range names {
			if strings.EqualFold(n, cand) {
				return n
			}
		}
	}
	return suggest(kind, names)
}

// suggest returns the candidate closest to s, or "".
func suggest(s string, candidates []string) string { return textmatch.Closest(s, candidates) }
