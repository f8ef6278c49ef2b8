// Package install renders the objects that run kordon server (the event
// store) and kordon operator (continuous posture, drift, IP feeds) in a
// cluster, with the least RBAC each needs and, optionally, Prometheus
// Operator ServiceMonitors for their metrics. The Helm chart in
// deploy/helm/kordon renders the same objects (a test compares them).
package install

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Names of the rendered objects.
const (
	ServerName   = "kordon-server"
	OperatorName = "kordon-operator"
	// TokenSecret holds the server's API token under the key "token".
	TokenSecret = "kordon-server-token"
)

// Ports.
const (
	ServerPort        = 7443
	ServerMetricsPort = 9090
	OperatorMetrics   = 8080
	OperatorHealth    = 8081
	OperatorFeeds     = 8090
)

// Options configures Render.
type Options struct {
	Namespace string
	Image     string
	// Server and Operator choose what to render.
	Server, Operator bool
	// Token is the server's API token; generated (32 hex digits) when empty.
	Token string
	// StorageSize of the server's volume (default 10Gi).
	StorageSize string
	// RetentionAge of the server's records (default 720h).
	RetentionAge string
	// Drift grants the operator get and patch (server-side dry-run apply
	// only) on the kinds it compares, and is given BaselineGit/Branch/Path.
	Drift          bool
	BaselineGit    string
	BaselineBranch string
	BaselinePath   string
	// ServiceMonitor renders monitoring.coreos.com/v1 ServiceMonitors.
	ServiceMonitor bool
	// WatchPods grants the server get, list and watch on pods and runs it
	// with --in-cluster, so that flows are attributed by the live IP → pod
	// history (docs/server.md).
	WatchPods bool
}

// Render returns the objects as one YAML stream.
func Render(o Options) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// Objects returns the objects in apply order.
func Objects(o Options) ([]any, error) {
	if o.Namespace == "" || o.Image == "" {
		return nil, fmt.Errorf("install: namespace and image are required")
	}
	if !o.Server && !o.Operator {
		return nil, fmt.Errorf("install: nothing to render: choose the server, the operator or both")
	}
	if o.Drift && o.BaselineGit == "" {
		return nil, fmt.Errorf("install: drift needs a baseline repository URL")
	}
	if o.StorageSize == "" {
		o.StorageSize = "10Gi"
	}
	if _, err := resource.ParseQuantity(o.StorageSize); err != nil {
		return nil, fmt.Errorf("install: storage size %q: %w", o.StorageSize, err)
	}
	if o.RetentionAge == "" {
		o.RetentionAge = "720h"
	}
	if o.Token == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.Token = hex.EncodeToString(b)
	}
	if len(o.Token) < 16 {
		return nil, fmt.Errorf("install: the API token is shorter than 16 characters")
	}
	var out []any
	out = append(out, &corev1.Secret{TypeMeta: tm("v1", "Secret"), ObjectMeta: meta(o, TokenSecret, "server"),
		Type: corev1.SecretTypeOpaque, StringData: map[string]string{"token": o.Token}})
	if o.Server {
		out = append(out, server(o)...)
	}
	if o.Operator {
		out = append(out, operator(o)...)
	}
	return out, nil
}

func tm(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func labels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "kordon", "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": "kordon"}
}

func selector(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "kordon", "app.kubernetes.io/component": component}
}

func meta(o Options, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(component)}
}

func clusterMeta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: labels(component)}
}

// restricted is a container security context that passes the Pod
// Security Standards' restricted profile.
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
		RunAsNonRoot: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
}

func podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)), RunAsGroup: ptr.To(int64(65532)),
		FSGroup: ptr.To(int64(65532)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

func tokenVolume() (corev1.Volume, corev1.VolumeMount) {
	return corev1.Volume{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: TokenSecret, DefaultMode: ptr.To(int32(0o440))}}},
		corev1.VolumeMount{Name: "token", MountPath: "/var/run/kordon", ReadOnly: true}
}

func server(o Options) []any {
	tv, tvm := tokenVolume()
	args := []string{"server", "--addr", fmt.Sprintf(":%d", ServerPort), "--db", "/data/kordon.db", "--token-file", "/var/run/kordon/token",
		"--metrics-addr", fmt.Sprintf(":%d", ServerMetricsPort), "--retention-age", o.RetentionAge}
	if o.WatchPods {
		args = append(args, "--in-cluster")
	}
	c := corev1.Container{Name: "server", Image: o.Image,
		Args:         args,
		Ports:        []corev1.ContainerPort{{Name: "api", ContainerPort: ServerPort}, {Name: "metrics", ContainerPort: ServerMetricsPort}},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, tvm, {Name: "tmp", MountPath: "/tmp"}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}},
		LivenessProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("api")}}, PeriodSeconds: 20},
		ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("api")}}, PeriodSeconds: 10},
		SecurityContext: restricted()}
	out := []any{
		&corev1.ServiceAccount{TypeMeta: tm("v1", "ServiceAccount"), ObjectMeta: meta(o, ServerName, "server"), AutomountServiceAccountToken: ptr.To(false)},
		&corev1.PersistentVolumeClaim{TypeMeta: tm("v1", "PersistentVolumeClaim"), ObjectMeta: meta(o, ServerName+"-data", "server"),
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(o.StorageSize)}}}},
		&appsv1.Deployment{TypeMeta: tm("apps/v1", "Deployment"), ObjectMeta: meta(o, ServerName, "server"),
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)),
				// One SQLite writer: the old pod stops before the new one opens the file.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Selector: &metav1.LabelSelector{MatchLabels: selector("server")},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("server")},
					Spec: corev1.PodSpec{ServiceAccountName: ServerName, AutomountServiceAccountToken: ptr.To(o.WatchPods),
						SecurityContext: podSecurity(), Containers: []corev1.Container{c},
						Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: ServerName + "-data"}}},
							tv, {Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}}},
		&corev1.Service{TypeMeta: tm("v1", "Service"), ObjectMeta: meta(o, ServerName, "server"),
			Spec: corev1.ServiceSpec{Selector: selector("server"), Ports: []corev1.ServicePort{
				{Name: "api", Port: ServerPort, TargetPort: intstr.FromString("api")},
				{Name: "metrics", Port: ServerMetricsPort, TargetPort: intstr.FromString("metrics")}}}},
	}
	if o.WatchPods {
		out = append(out,
			&rbacv1.ClusterRole{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: clusterMeta(ServerName, "server"),
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}},
			&rbacv1.ClusterRoleBinding{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: clusterMeta(ServerName, "server"),
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: ServerName},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServerName, Namespace: o.Namespace}}})
	}
	if o.ServiceMonitor {
		out = append(out, serviceMonitor(o, ServerName, "server"))
	}
	return out
}

// scanRules are what a posture scan reads (k8s.ClusterKinds): get, list and
// watch (the watches are metadata-only). Secrets are listed to judge their
// type and keys; the loader blanks every value as soon as a page is read.
func scanRules() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces", "pods", "replicationcontrollers", "podtemplates", "services",
			"serviceaccounts", "secrets", "limitranges", "resourcequotas", "persistentvolumes"}, Verbs: read},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Verbs: read},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: read},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "networkpolicies"}, Verbs: read},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}, Verbs: read},
		{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: read},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations",
			"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, Verbs: read},
		{APIGroups: []string{"openreports.io"}, Resources: []string{"reports", "clusterreports"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	}
}

// driftRules let the operator run server-side dry-run applies of baseline
// objects (patch; the operator never sends a patch without dryRun=All) and
// read ConfigMaps, which a baseline often holds.
func driftRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"}, Resources: []string{"*"}, Verbs: []string{"patch"}},
	}
}

func operator(o Options) []any {
	tv, tvm := tokenVolume()
	args := []string{"operator", "--server", fmt.Sprintf("http://%s.%s.svc:%d", ServerName, o.Namespace, ServerPort),
		"--token-file", "/var/run/kordon/token", "--metrics-addr", fmt.Sprintf(":%d", OperatorMetrics),
		"--health-addr", fmt.Sprintf(":%d", OperatorHealth), "--leader-elect", "--leader-election-namespace", o.Namespace}
	if o.Drift {
		args = append(args, "--baseline-git", o.BaselineGit)
		if o.BaselineBranch != "" {
			args = append(args, "--baseline-branch", o.BaselineBranch)
		}
		if o.BaselinePath != "" {
			args = append(args, "--baseline-path", o.BaselinePath)
		}
	}
	rulesList := scanRules()
	if o.Drift {
		rulesList = slices.Concat(rulesList, driftRules())
	}
	c := corev1.Container{Name: "operator", Image: o.Image, Args: args,
		Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: OperatorMetrics}, {Name: "health", ContainerPort: OperatorHealth},
			{Name: "feeds", ContainerPort: OperatorFeeds}},
		VolumeMounts: []corev1.VolumeMount{tvm, {Name: "tmp", MountPath: "/tmp"}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}},
		LivenessProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("health")}}, PeriodSeconds: 20},
		ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("health")}}, PeriodSeconds: 10},
		SecurityContext: restricted()}
	out := []any{
		&corev1.ServiceAccount{TypeMeta: tm("v1", "ServiceAccount"), ObjectMeta: meta(o, OperatorName, "operator")},
		&rbacv1.ClusterRole{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: clusterMeta(OperatorName, "operator"), Rules: rulesList},
		&rbacv1.ClusterRoleBinding{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: clusterMeta(OperatorName, "operator"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: OperatorName},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: OperatorName, Namespace: o.Namespace}}},
		// Leader election: a Lease in the operator's own namespace only.
		&rbacv1.Role{TypeMeta: tm("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(o, OperatorName, "operator"),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}}}},
		&rbacv1.RoleBinding{TypeMeta: tm("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(o, OperatorName, "operator"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: OperatorName},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: OperatorName, Namespace: o.Namespace}}},
		&appsv1.Deployment{TypeMeta: tm("apps/v1", "Deployment"), ObjectMeta: meta(o, OperatorName, "operator"),
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: selector("operator")},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("operator")},
					Spec: corev1.PodSpec{ServiceAccountName: OperatorName, SecurityContext: podSecurity(), Containers: []corev1.Container{c},
						Volumes: []corev1.Volume{tv, {Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}}},
		&corev1.Service{TypeMeta: tm("v1", "Service"), ObjectMeta: meta(o, OperatorName, "operator"),
			Spec: corev1.ServiceSpec{Selector: selector("operator"), Ports: []corev1.ServicePort{
				{Name: "metrics", Port: OperatorMetrics, TargetPort: intstr.FromString("metrics")},
				{Name: "feeds", Port: OperatorFeeds, TargetPort: intstr.FromString("feeds")}}}},
	}
	if o.ServiceMonitor {
		out = append(out, serviceMonitor(o, OperatorName, "operator"))
	}
	return out
}

// serviceMonitor is a Prometheus Operator ServiceMonitor scraping the
// "metrics" port of a component's Service.
func serviceMonitor(o Options, name, component string) map[string]any {
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
		"metadata": map[string]any{"name": name, "namespace": o.Namespace, "labels": labels(component)},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": selector(component)},
			"endpoints": []any{map[string]any{"port": "metrics", "path": "/metrics", "interval": "30s"}},
		},
	}
}
