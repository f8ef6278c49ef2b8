package governance

import (
	"context"

	"github.com/kordon-dev/kordon/internal/admission/config"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// Policy IDs, stable like rule IDs. KOR-GOV-001 is an alias of the
// catalogue's KOR-NET-002 (decided by package isolation, as kordon scan
// decides it); the others are the catalogue's governance pack.
const (
	RequireNetworkPolicyID = "KOR-GOV-001"
	ProtectedLabelsID      = "KOR-GOV-002"
	NamespaceScopingID     = "KOR-GOV-003"
	TrustedImagesID        = "KOR-GOV-004"
	CreationRateID         = "KOR-GOV-005"
	VerifiedImagesID       = "KOR-GOV-006"
	VulnerableImagesID     = "KOR-GOV-007"
	// UnscannedImageID is reported by VulnerableImages for an image it
	// could not judge.
	UnscannedImageID = "KOR-GOV-008"
)

// Operations as in admission.k8s.io/v1.
const (
	Create = "CREATE"
	Update = "UPDATE"
	Delete = "DELETE"
)

// Request is what a policy sees of one admission request.
type Request struct {
	// Operation is CREATE, UPDATE, DELETE or CONNECT.
	Operation string
	// User and Groups are the requesting user's name and groups.
	User   string
	Groups []string
	// Namespace is the request's namespace ("" for cluster-scoped objects).
	Namespace string
	// Group and Kind of the object.
	Group, Kind string
	// Name of the object (may be empty on CREATE with generateName).
	Name string
	// Object is the new object (nil on DELETE); OldObject the stored one
	// (UPDATE and DELETE).
	Object, OldObject *k8s.Object
	// DryRun is true when nothing will be stored.
	DryRun bool
}

// Violation is one reason to refuse a request: what a policy decided. The
// check's title, severity and controls are in the rule catalogue under ID.
type Violation struct {
	// ID is the policy's catalogue ID.
	ID      string
	Message string
	// Remediation, when set, is a fix specific to this request; otherwise
	// the catalogue's remediation applies.
	Remediation string
	// AtMost, when set, caps the violation's action below the policy's
	// (an image that could not be judged warns where the policy enforces).
	AtMost config.Action
}

// Policy is one governance check. Implementations are safe for concurrent use.
type Policy interface {
	// ID returns the policy's stable ID, as in the rule catalogue.
	ID() string
	// Check returns the request's violations of the policy. An error means
	// the policy could not decide (a cache it reads failed); it is never a
	// violation: the webhook's failure handling decides what happens.
	// Violations returned beside an error (the parts the policy could
	// decide) count as well.
	Check(ctx context.Context, req *Request) ([]Violation, error)
}

// IDs returns the IDs of every governance policy, as the webhook reports
// them.
func IDs() []string {
	return []string{RequireNetworkPolicyID, ProtectedLabelsID, NamespaceScopingID, TrustedImagesID, CreationRateID, VerifiedImagesID,
		VulnerableImagesID, UnscannedImageID}
}

// Recorder is implemented by policies that keep state about admitted
// requests (the creation rate). The webhook calls Record once a request is
// admitted.
type Recorder interface {
	Record(req *Request)
}

// TargetNamespace returns the namespace a request acts in: the request's
// namespace, or for a Namespace object its own name.
func (r *Request) TargetNamespace() string {
	if r.Group == "" && r.Kind == "Namespace" {
		return r.Name
	}
	return r.Namespace
}
