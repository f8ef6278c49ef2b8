package vap

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kordon-dev/kordon/internal/rules"
)

// Reasons a rule is skipped.
const (
	// ReasonInventory: the rule reads other objects.
	ReasonInventory = "reads the inventory (other objects of a scan), which the API server does not provide to an admission policy"
	// ReasonConfigFile: the rule checks configuration files.
	ReasonConfigFile = "checks configuration files (%s), which never pass through the API server"
	// ReasonControlPlane: the rule checks control-plane static pods.
	ReasonControlPlane = "checks control-plane static pods (tag " + TagControlPlane + "): the kubelet runs them whatever admission decides, so a policy could only hide their mirror pods"
	// ReasonKubernetesVersion: the rule's CEL needs a newer API server than
	// Options.KubernetesVersion.
	ReasonKubernetesVersion = "uses CEL that needs Kubernetes %s or later (the target is %s)"
	// ReasonManifests: the rule checks how a manifest file is written.
	ReasonManifests = "checks manifest files (tag " + TagManifests + "): the API server completes an object before admission (namespace set, stringData merged into data), so a policy would judge something else"
)

// Tags of rules that are not exported.
const (
	// TagControlPlane marks rules that check the static pods of
	// control-plane components.
	TagControlPlane = "control-plane"
	// TagManifests marks rules about manifest files as written, such as a
	// missing namespace.
	TagManifests = "manifests"
)

// skipReason says why a rule cannot be exported, or returns "".
func skipReason(rs *rules.RuleSet, r *rules.Rule) string {
	if rs.NeedsInventory(r.ID) {
		return ReasonInventory
	}
	if slices.Contains(r.Tags, TagControlPlane) {
		return ReasonControlPlane
	}
	if slices.Contains(r.Tags, TagManifests) {
		return ReasonManifests
	}
	if r.Match.Workloads {
		return ""
	}
	var config []string
	for _, rm := range r.Match.Resources {
		for _, g := range rm.APIGroups {
			if !isConfigFileGroup(g) {
				return ""
			}
			for _, k := range rm.Kinds {
				if gk := (schema.GroupKind{Group: g, Kind: k}).String(); !slices.Contains(config, gk) {
					config = append(config, gk)
				}
			}
		}
	}
	return fmt.Sprintf(ReasonConfigFile, strings.Join(config, ", "))
}

// isConfigFileGroup reports whether an API group holds only the kinds of
// component configuration files (KubeletConfiguration,
// EncryptionConfiguration, audit Policy...), which are read from disk, not
// served by the API server.
func isConfigFileGroup(group string) bool {
	return strings.HasSuffix(group, ".config.k8s.io") || group == "audit.k8s.io" || group == "kubeadm.k8s.io"
}
