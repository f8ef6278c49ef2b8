package governance

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kordon-dev/kordon/internal/admission/config"
	"github.com/kordon-dev/kordon/internal/k8s"
)

// ProtectedLabels lets only named subjects add, change or remove some labels
// (keys, or key=value pairs) on any object and on the pod templates of
// workloads. On UPDATE the old and new labels are compared, so an object
// that already carries a protected label can still be changed by others as
// long as they leave the label alone.
type ProtectedLabels struct {
	labels []config.ProtectedLabel
}

// NewProtectedLabels returns the policy for the configured labels.
func NewProtectedLabels(cfg *config.ProtectedLabels) *ProtectedLabels {
	return &ProtectedLabels{labels: cfg.Labels}
}

// ID implements Policy.
func (p *ProtectedLabels) ID() string { return ProtectedLabelsID }

// Check implements Policy for CREATE and UPDATE. Requests by the
// controllers that create objects from templates (see Propagates) are not
// checked: the labels they copy were judged on the template.
func (p *ProtectedLabels) Check(_ context.Context, req *Request) ([]Violation, error) {
	if req.Object == nil || (req.Operation != Create && req.Operation != Update) || Propagates(req.User) {
		return nil, nil
	}
	var out []Violation
	check := func(where string, oldL, newL map[string]string) {
		for _, key := range changedKeys(oldL, newL) {
			for _, pl := range p.labels {
				if !config.MatchPattern(pl.Key, key) {
					continue
				}
				oldV, hadOld := oldL[key]
				newV, hasNew := newL[key]
				if pl.Value != nil && !(hadOld && oldV == *pl.Value) && !(hasNew && newV == *pl.Value) {
					continue // neither side carries the protected pair
				}
				if pl.Allowed.Contains(req.User, req.Groups) {
					continue
				}
				out = append(out, Violation{
					ID:          p.ID(),
					Message:     fmt.Sprintf("%s %s on %s: only %s may do that", labelChange(key, oldV, hadOld, newV, hasNew), protectedName(pl), where, pl.Allowed),
					Remediation: fmt.Sprintf("Leave label %s as it was, or ask one of %s to set it.", key, pl.Allowed),
				})
				break
			}
		}
	}
	var oldMeta, oldTmpl map[string]string
	if req.OldObject != nil && req.Operation == Update {
		oldMeta = req.OldObject.Labels()
		oldTmpl = templateLabels(req.OldObject)
	}
	check("metadata.labels", oldMeta, req.Object.Labels())
	if req.Kind != "Pod" {
		check("the pod template", oldTmpl, templateLabels(req.Object))
	}
	return out, nil
}

func templateLabels(o *k8s.Object) map[string]string {
	meta, _, ok := k8s.PodTemplate(o)
	if !ok {
		return nil
	}
	return k8s.StringMap(meta, "labels")
}

// changedKeys returns the keys added, removed or changed, sorted.
func changedKeys(oldL, newL map[string]string) []string {
	var keys []string
	for k, v := range newL {
		if ov, ok := oldL[k]; !ok || ov != v {
			keys = append(keys, k)
		}
	}
	for k := range oldL {
		if _, ok := newL[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func labelChange(key, oldV string, hadOld bool, newV string, hasNew bool) string {
	switch {
	case !hadOld:
		return fmt.Sprintf("adding label %s=%s", key, newV)
	case !hasNew:
		return fmt.Sprintf("removing label %s=%s", key, oldV)
	default:
		return fmt.Sprintf("changing label %s from %q to %q", key, oldV, newV)
	}
}

func protectedName(pl config.ProtectedLabel) string {
	if pl.Value != nil {
		return fmt.Sprintf("(protected pair %s=%s)", pl.Key, *pl.Value)
	}
	return fmt.Sprintf("(protected key %s)", pl.Key)
}

// Propagates reports whether user is a built-in controller that copies
// labels from a template it did not write: the ReplicaSet, Deployment,
// StatefulSet, DaemonSet, Job, CronJob and ReplicationController
// controllers (system:serviceaccount:kube-system:<name>), or the
// controller manager's own identity when it runs without per-controller
// credentials.
func Propagates(user string) bool {
	if user == "system:kube-controller-manager" {
		return true
	}
	name, ok := strings.CutPrefix(user, config.ServiceAccountPrefix+"kube-system:")
	if !ok {
		return false
	}
	switch name {
	case "replicaset-controller", "deployment-controller", "statefulset-controller", "daemon-set-controller",
		"job-controller", "cronjob-controller", "replication-controller":
		return true
	}
	return false
}
