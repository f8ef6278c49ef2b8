package governance

import (
	"context"
	"fmt"
	"strings"

	"github.com/kordon-dev/kordon/internal/admission/config"
)

// NamespaceScoping lets listed users, groups and service accounts create
// and change objects only in the namespaces listed for them: defence in
// depth beside RBAC. Subjects not listed are not restricted. A Namespace
// object counts as being in the namespace it names; other cluster-scoped
// objects are outside every namespace, so scoped subjects may not touch
// them.
type NamespaceScoping struct {
	entries []config.ScopedSubject
}

// NewNamespaceScoping returns the policy for the configured subjects.
func NewNamespaceScoping(cfg *config.NamespaceScoping) *NamespaceScoping {
	return &NamespaceScoping{entries: cfg.Subjects}
}

// ID implements Policy.
func (p *NamespaceScoping) ID() string { return NamespaceScopingID }

// Check implements Policy for CREATE, UPDATE and DELETE.
func (p *NamespaceScoping) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Operation != Create && req.Operation != Update && req.Operation != Delete {
		return nil, nil
	}
	var allowed []string
	scoped := false
	for _, e := range p.entries {
		if e.Contains(req.User, req.Groups) {
			scoped = true
			allowed = append(allowed, e.Namespaces...)
		}
	}
	if !scoped {
		return nil, nil
	}
	ns := req.TargetNamespace()
	if ns != "" && config.MatchAny(allowed, ns) {
		return nil, nil
	}
	where := "namespace " + ns
	if ns == "" {
		where = "cluster-scoped " + req.Kind + " objects"
	}
	return []Violation{{
		ID:          p.ID(),
		Message:     fmt.Sprintf("user %s may not %s objects in %s; allowed namespaces: %s", req.User, strings.ToLower(req.Operation), where, strings.Join(allowed, ", ")),
		Remediation: "Work in one of the allowed namespaces, or ask the platform team to extend governance.namespaceScoping.",
	}}, nil
}
