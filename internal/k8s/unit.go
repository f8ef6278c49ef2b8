package k8s

import "fmt"

// UnitKind says what a unit of input is.
type UnitKind string

// The kinds of units.
const (
	// UnitPath is the plain manifests of one path argument: a file,
	// standard input ("-"), or the files of a folder outside the charts and
	// kustomizations it holds.
	UnitPath UnitKind = "path"
	// UnitChart is one Helm chart, rendered as one release.
	UnitChart UnitKind = "chart"
	// UnitKustomization is one kustomization, built as kustomize build does.
	UnitKustomization UnitKind = "kustomization"
)

// Unit is one unit of input: what would be applied to a cluster together —
// the plain manifests of a path argument, one Helm release, one
// kustomization. Cross-object checks judge each unit on its own, so that a
// NetworkPolicy of staging/ does not satisfy a check of prod/.
//
// A Unit is not modified after loading and is safe for concurrent reads.
type Unit struct {
	Kind UnitKind
	// Path is the path argument, chart or kustomization folder, as the
	// user named it (a folder inside an argument is joined to it).
	Path string
	// Namespace is the namespace its namespaced objects that name none
	// were given, and NamespaceFrom where it came from (see
	// Source.NamespaceFrom).
	Namespace, NamespaceFrom string
}

// String names the unit for people: "chart charts/web".
func (u *Unit) String() string {
	if u == nil {
		return ""
	}
	return fmt.Sprintf("%s %s", u.Kind, u.Path)
}
