package k8s

import (
	"fmt"
	"strings"
)

// Source says where an object was read from.
type Source struct {
	// File is the path as the user gave it, "-" for standard input, or a
	// description such as "cluster" for objects read from an API server.
	File string
	// Line is the 1-based line where the object starts in File; 0 when the
	// source has no lines (a live cluster, a rendered chart).
	Line int
	// NamespaceFrom is set when the object names no namespace where it is
	// written and loading gave it the namespace it would be applied to:
	// NamespaceFromOption, NamespaceFromDefault or NamespaceFromRelease.
	NamespaceFrom string
}

// String formats the source as file:line, or just file when there is no line.
func (s Source) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return s.File
}

// Object is one Kubernetes object and where it came from. Content holds the
// decoded object as JSON-compatible values: map[string]any, []any, string,
// bool, int64, float64 and nil. Whole numbers are always int64.
//
// An Object is not modified after loading and is safe for concurrent reads.
type Object struct {
	Content map[string]any
	Source  Source
	// Unit is the unit of input the object belongs to (a path argument, a
	// Helm chart, a kustomization); nil for a live cluster's objects.
	Unit *Unit
}

// Ref identifies an object by API version, kind, namespace and name.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String formats the reference as Kind namespace/name, or Kind name for
// cluster-scoped objects.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Group returns the API group of the reference ("" for the core group).
func (r Ref) Group() string { return GroupOf(r.APIVersion) }

// GroupOf returns the group part of an apiVersion such as "apps/v1".
func GroupOf(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// APIVersion returns the object's apiVersion.
func (o *Object) APIVersion() string { return str(o.Content, "apiVersion") }

// Kind returns the object's kind.
func (o *Object) Kind() string { return str(o.Content, "kind") }

// Group returns the object's API group ("" for the core group).
func (o *Object) Group() string { return GroupOf(o.APIVersion()) }

// Namespace returns metadata.namespace ("" when unset).
func (o *Object) Namespace() string { return str(Map(o.Content, "metadata"), "namespace") }

// DefaultNamespace is the namespace of a namespaced object that names
// none: where kubectl applies it without -n.
const DefaultNamespace = "default"

// NamespaceOrDefault returns ns, or DefaultNamespace when ns is empty: the
// namespace of an object that names ns, where kubectl applies it. Objects
// read by LoadPaths already carry the namespace they are applied to (see
// LoadOptions.Namespace); this is for objects from elsewhere.
func NamespaceOrDefault(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// AppliedNamespace returns the namespace the object is applied to:
// metadata.namespace, or DefaultNamespace when it names none.
func (o *Object) AppliedNamespace() string { return NamespaceOrDefault(o.Namespace()) }

// Name returns metadata.name, or metadata.generateName when only that is set.
func (o *Object) Name() string {
	md := Map(o.Content, "metadata")
	if n := str(md, "name"); n != "" {
		return n
	}
	return str(md, "generateName")
}

// Ref returns the object's reference.
func (o *Object) Ref() Ref {
	return Ref{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name()}
}

// Labels returns metadata.labels as strings; non-string values are skipped.
func (o *Object) Labels() map[string]string { return StringMap(Map(o.Content, "metadata"), "labels") }

// Annotations returns metadata.annotations as strings.
func (o *Object) Annotations() map[string]string {
	return StringMap(Map(o.Content, "metadata"), "annotations")
}

// Map returns m[key] when it is a map, nil otherwise.
func Map(m map[string]any, key string) map[string]any {
	if m == nil {
		return nil
	}
	v, _ := m[key].(map[string]any)
	return v
}

// Slice returns m[key] when it is a list, nil otherwise.
func Slice(m map[string]any, key string) []any {
	if m == nil {
		return nil
	}
	v, _ := m[key].([]any)
	return v
}

// StringMap returns m[key] as a map of strings, skipping non-string values.
func StringMap(m map[string]any, key string) map[string]string {
	raw := Map(m, key)
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// String returns m[key] when it is a string, "" otherwise.
func String(m map[string]any, key string) string { return str(m, key) }
