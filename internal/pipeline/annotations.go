package pipeline

import (
	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// annotated holds the annotation exceptions of objects by kind, namespace
// and name (the API version is left out: engines may report an object
// under another version of its kind).
type annotated map[resourceKey]*finding.Annotated

type resourceKey struct{ kind, namespace, name string }

// defaultNamespace is where an object without metadata.namespace is
// applied; engines that resolve it report the object there.
const defaultNamespace = "default"

func (a annotated) lookup(r finding.Resource) *finding.Annotated {
	return a[resourceKey{r.Kind, r.Namespace, r.Name}]
}

// annotationExceptions reads the exception annotations of every object,
// and warns about annotations it cannot use.
func annotationExceptions(objs []*k8s.Object, use bool) (annotated, []finding.Problem) {
	out := annotated{}
	var warnings []finding.Problem
	for _, o := range objs {
		a, ok, err := finding.ParseAnnotations(o.Annotations())
		if !ok && err == nil {
			continue
		}
		ref := o.Ref()
		res := finding.Resource{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
		switch {
		case err != nil:
			warnings = append(warnings, finding.Problem{File: o.Source.File, Line: o.Source.Line, Resource: &res, Message: err.Error()})
		case !use:
			warnings = append(warnings, finding.Problem{File: o.Source.File, Line: o.Source.Line, Resource: &res,
				Message: "annotation exceptions are turned off; " + finding.AnnotationRules + " ignored"})
		default:
			out[resourceKey{ref.Kind, ref.Namespace, ref.Name}] = &a
			if ref.Namespace == "" {
				out[resourceKey{ref.Kind, defaultNamespace, ref.Name}] = &a
			}
		}
	}
	return out, warnings
}
