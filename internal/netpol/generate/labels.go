package generate

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// volatileLabels are labels controllers put on pods that change between
// revisions or differ per pod; they are never used in selectors.
var volatileLabels = []string{
	"pod-template-hash", "controller-revision-hash", "pod-template-generation",
	"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
	"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name",
	"batch.kubernetes.io/job-completion-index",
}

// VolatileLabels returns the labels generate drops from selectors.
func VolatileLabels() []string { return slices.Clone(volatileLabels) }

// stable returns the labels a selector can use: without volatile ones,
// and without any that is not a valid label (flow logs may carry other
// identities; no pod has such a label).
func stable(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !slices.Contains(volatileLabels, k) && len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			out[k] = v
		}
	}
	return out
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if got, ok := b[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func labelText(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}
