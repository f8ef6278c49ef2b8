package finding

import (
	"cmp"
	"slices"
	"strings"
)

// Resource identifies the object a finding is about, as written in the
// input: for a workload controller this is the controller, never a pod.
type Resource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String formats the resource as Kind namespace/name.
func (r Resource) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Location is where the resource was written. Line is 0 when unknown
// (rendered charts, kustomize output, live clusters).
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// NamespaceFrom is set when the file names no namespace for the
	// resource and it was judged in the namespace it would be applied to:
	// "--namespace" (the namespace given for path inputs),
	// "--release-namespace" (a Helm chart's release namespace) or
	// "default" (none given: kubectl's default namespace).
	NamespaceFrom string `json:"namespaceFrom,omitempty"`
}

// Unit is the unit of input a finding was judged in: what would be applied
// to a cluster together — the plain manifests of one path argument, one
// Helm release, one kustomization. Cross-object checks see only the
// objects of the unit.
type Unit struct {
	// Kind is "path", "chart" or "kustomization".
	Kind string `json:"kind"`
	// Path is the path argument, chart or kustomization folder.
	Path string `json:"path"`
	// Namespace is the namespace the unit's namespaced objects that name
	// none were given.
	Namespace string `json:"namespace,omitempty"`
}

// String names the unit for people: "chart charts/web".
func (u *Unit) String() string {
	if u == nil {
		return ""
	}
	return u.Kind + " " + u.Path
}

// Finding is one problem with one resource, found by one rule.
type Finding struct {
	RuleID   string    `json:"ruleID"`
	Title    string    `json:"title"`
	Severity Severity  `json:"severity"`
	Controls []string  `json:"controls"`
	Resource Resource  `json:"resource"`
	Location *Location `json:"location,omitempty"`
	// Unit is the unit of input the resource was judged in; nil for a live
	// cluster and when all inputs are judged as one cluster.
	Unit        *Unit  `json:"unit,omitempty"`
	Message     string `json:"message"`
	Remediation string `json:"remediation,omitempty"`
	// Exception is set on suppressed findings: the exception that applies.
	Exception *Applied `json:"exception,omitempty"`
}

// Frameworks returns the framework prefixes of the finding's controls
// (CIS, NSA, NIST-800-190, PSS), without duplicates, in order.
func (f *Finding) Frameworks() []string { return Frameworks(f.Controls) }

// Frameworks returns the distinct framework prefixes of control IDs such as
// "CIS:5.2.2", in order of first appearance.
func Frameworks(controls []string) []string {
	var out []string
	for _, c := range controls {
		fw, _, _ := strings.Cut(c, ":")
		if !slices.Contains(out, fw) {
			out = append(out, fw)
		}
	}
	return out
}

// Sort orders findings by severity (worst first), then rule ID, file,
// line, resource and message, so that output is deterministic.
func Sort(fs []Finding) { slices.SortStableFunc(fs, compare) }

// IsSorted reports whether fs is in the order Sort gives.
func IsSorted(fs []Finding) bool { return slices.IsSortedFunc(fs, compare) }

func compare(a, b Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RuleID, b.RuleID); c != 0 {
		return c
	}
	if c := cmp.Compare(locFile(a), locFile(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(locLine(a), locLine(b)); c != 0 {
		return c
	}
	if c := compareResources(a.Resource, b.Resource); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Message, b.Message); c != 0 {
		return c
	}
	return cmp.Compare(a.Unit.String(), b.Unit.String())
}

// compareResources orders resources as their String forms would sort,
// without building the strings.
func compareResources(a, b Resource) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if a.Namespace != b.Namespace {
		// "Kind name" sorts before "Kind ns/name" only where the strings do.
		return cmp.Compare(resourceTail(a), resourceTail(b))
	}
	return cmp.Compare(a.Name, b.Name)
}

func resourceTail(r Resource) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

func locFile(f Finding) string {
	if f.Location == nil {
		return ""
	}
	return f.Location.File
}

func locLine(f Finding) int {
	if f.Location == nil {
		return 0
	}
	return f.Location.Line
}
