package admission

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/admission/governance"
)

// scope is a compiled config.Scope.
type scope struct {
	namespaces, excludeNamespaces []string
	selector                      labels.Selector // nil: every namespace
	kinds                         [][2]string     // group ("*" any) and kind
	exempt                        config.Subjects
}

func compileScope(s config.Scope) (*scope, error) {
	sc := &scope{namespaces: s.Namespaces, excludeNamespaces: s.ExcludeNamespaces, exempt: s.Exempt}
	if s.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.NamespaceSelector)
		if err != nil {
			return nil, fmt.Errorf("namespaceSelector: %w", err)
		}
		sc.selector = sel
	}
	for _, k := range s.Kinds {
		group, kind, ok := strings.Cut(k, "/")
		if !ok {
			group, kind = "*", k
		} else if group == "core" {
			group = ""
		}
		sc.kinds = append(sc.kinds, [2]string{group, kind})
	}
	return sc, nil
}

// namespaceLabels returns the labels of a namespace and whether it is known.
type namespaceLabels func(name string) (map[string]string, bool)

// matches reports whether the request is in scope. The labels of the
// request's namespace come from nsLabels; for a Namespace object they are
// the object's own labels.
func (s *scope) matches(req *governance.Request, nsLabels namespaceLabels) bool {
	if len(s.kinds) > 0 && !s.matchesKind(req.Group, req.Kind) {
		return false
	}
	if s.exempt.Contains(req.User, req.Groups) {
		return false
	}
	ns := req.TargetNamespace()
	if len(s.namespaces) > 0 && !config.MatchAny(s.namespaces, ns) {
		return false
	}
	if ns != "" && config.MatchAny(s.excludeNamespaces, ns) {
		return false
	}
	if s.selector == nil || ns == "" {
		return true
	}
	var l map[string]string
	if req.Group == "" && req.Kind == "Namespace" {
		if req.Object != nil {
			l = req.Object.Labels()
		} else if req.OldObject != nil {
			l = req.OldObject.Labels()
		}
	} else {
		var ok bool
		if l, ok = nsLabels(ns); !ok {
			// An unknown namespace matches only a selector that an empty
			// label set matches.
			l = nil
		}
	}
	return s.selector.Matches(labels.Set(l))
}

func (s *scope) matchesKind(group, kind string) bool {
	for _, gk := range s.kinds {
		if (gk[0] == "*" || gk[0] == group) && gk[1] == kind {
			return true
		}
	}
	return false
}
