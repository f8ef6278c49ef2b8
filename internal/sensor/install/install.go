// Package install renders the objects that run the sensor on every node:
// a namespace, a service account, RBAC that reads the pods of the cluster
// (and deletes them only when kill-pod is allowed), the response policy as
// a ConfigMap, and a DaemonSet with the fewest privileges the eBPF programs
// need. Each privilege is explained in docs/sensor.md.
package install

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Options shape the rendered objects.
type Options struct {
	Namespace string
	Image     string
	// Policy is the response policy file's content ("" for alert only).
	Policy string
	// AllowKillPod grants pods/delete (needed by kill-pod responses).
	AllowKillPod bool
	// Learn is the learning window flag value (e.g. 10m).
	Learn string
	// DryRun makes the sensor report responses without acting.
	DryRun bool
}

const name = "kordon-sensor"

// Render returns the objects as one YAML stream.
func Render(o Options) ([]byte, error) {
	if o.Namespace == "" || o.Image == "" {
		return nil, fmt.Errorf("install: namespace and image are required")
	}
	if o.Learn == "" {
		o.Learn = "10m"
	}
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "kordon"}
	meta := func(kind string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Labels: labels}
		if kind != "ClusterRole" && kind != "ClusterRoleBinding" && kind != "Namespace" {
			m.Namespace = o.Namespace
		}
		if kind == "Namespace" {
			m.Name = o.Namespace
		}
		return m
	}
	verbs := []string{"get", "list"}
	if o.AllowKillPod {
		verbs = append(verbs, "delete")
	}
	f := false
	t := true
	root := int64(0)
	hostPath := func(vol, path string, typ corev1.HostPathType) corev1.Volume {
		return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &typ}}}
	}
	args := []string{"sensor", "run", "--node=$(NODE_NAME)", "--profiles=/var/lib/kordon/profiles", "--learn=" + o.Learn,
		"--metrics-addr=:9090", "--cgroup-root=/host/sys/fs/cgroup", "--policy=/etc/kordon/policy.yaml"}
	if o.DryRun {
		args = append(args, "--dry-run")
	}
	policy := o.Policy
	if policy == "" {
		policy = "default: alert\n"
	}
	objs := []any{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: meta("Namespace")},
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta("ServiceAccount")},
		&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta("ClusterRole"),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs}}},
		&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: meta("ClusterRoleBinding"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: o.Namespace}}},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta("ConfigMap"), Data: map[string]string{"policy.yaml": policy}},
		&appsv1.DaemonSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
			ObjectMeta: meta("DaemonSet"),
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: name,
						// The host's process ids: to name and kill processes
						// of every container.
						HostPID:           true,
						PriorityClassName: "system-node-critical",
						Tolerations:       []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
						Containers: []corev1.Container{{
							Name:  "sensor",
							Image: o.Image,
							Args:  args,
							Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
								FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
							Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}},
							Resources: corev1.ResourceRequirements{
								Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
								Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
							},
							SecurityContext: &corev1.SecurityContext{
								RunAsUser:                &root,
								Privileged:               &f,
								AllowPrivilegeEscalation: &f,
								ReadOnlyRootFilesystem:   &t,
								Capabilities: &corev1.Capabilities{
									Drop: []corev1.Capability{"ALL"},
									// BPF: load programs and maps; PERFMON: attach
									// tracepoints, read kernel memory; SYS_RESOURCE:
									// memlock on kernels before 5.11; SYS_PTRACE:
									// read /proc/<pid>/exe of other users; KILL:
									// SIGKILL processes of other users; DAC_READ_SEARCH:
									// walk cgroup and /proc directories.
									Add: []corev1.Capability{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "KILL", "DAC_READ_SEARCH"},
								},
								// The runtimes' default seccomp and AppArmor
								// profiles refuse bpf(2) and perf_event_open(2).
								SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
								AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
							},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "tracefs", MountPath: "/sys/kernel/tracing", ReadOnly: true},
								{Name: "cgroup", MountPath: "/host/sys/fs/cgroup", ReadOnly: true},
								{Name: "profiles", MountPath: "/var/lib/kordon/profiles"},
								{Name: "policy", MountPath: "/etc/kordon", ReadOnly: true},
							},
						}},
						Volumes: []corev1.Volume{
							hostPath("tracefs", "/sys/kernel/tracing", corev1.HostPathDirectory),
							hostPath("cgroup", "/sys/fs/cgroup", corev1.HostPathDirectory),
							hostPath("profiles", "/var/lib/kordon/profiles", corev1.HostPathDirectoryOrCreate),
							{Name: "policy", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
						},
					},
				},
			},
		},
	}
	var b bytes.Buffer
	for i, obj := range objs {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(bytes.ReplaceAll(data, []byte("  creationTimestamp: null\n"), nil))
	}
	return b.Bytes(), nil
}
