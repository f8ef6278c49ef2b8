// Package install renders the Kubernetes objects that run the WAF in a
// cluster: a Deployment running kordon waf serve (the ext_authz listener
// for Istio, and the reverse proxy when an upstream is given) and its
// Service.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/waf"
)

// Options say what to render. Zero values are defaults.
type Options struct {
	Name      string // default kordon-waf
	Namespace string // default kordon-system
	Image     string // required
	Replicas  int32  // default 2
	// ExtAuthzPort is the gRPC port (default 9000).
	ExtAuthzPort int32
	// Upstream, when set, also runs the reverse proxy on ProxyPort
	// (default 8080) in front of it.
	Upstream  string
	ProxyPort int32
	Paranoia  int    // default 1
	Mode      string // block (default) or detect
	// InspectTimeout and MaxOverdue bound the engine's time per request
	// (waf serve --inspect-timeout, --max-overdue; defaults 5s and 4).
	InspectTimeout time.Duration
	MaxOverdue     int
	// FailOpen forwards (allows) requests the engine failed to inspect.
	FailOpen bool
	// GCPercent is waf serve --gc-percent (default 400).
	GCPercent int
}

func (o *Options) defaults() error {
	if o.Name == "" {
		o.Name = "kordon-waf"
	}
	if o.Namespace == "" {
		o.Namespace = "kordon-system"
	}
	for _, n := range []string{o.Name, o.Namespace} {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			return fmt.Errorf("name %q: %v", n, errs)
		}
	}
	if o.Image == "" {
		return errors.New("image: required")
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.ExtAuthzPort == 0 {
		o.ExtAuthzPort = 9000
	}
	if o.ProxyPort == 0 {
		o.ProxyPort = 8080
	}
	if o.Paranoia == 0 {
		o.Paranoia = 1
	}
	if o.Paranoia < 1 || o.Paranoia > 4 {
		return fmt.Errorf("paranoia %d: want 1 to 4", o.Paranoia)
	}
	if o.Mode == "" {
		o.Mode = "block"
	}
	if o.Mode != "block" && o.Mode != "detect" {
		return fmt.Errorf("mode %q: want block or detect", o.Mode)
	}
	if o.InspectTimeout == 0 {
		o.InspectTimeout = waf.DefaultInspectTimeout
	}
	if o.MaxOverdue == 0 {
		o.MaxOverdue = waf.DefaultMaxOverdue
	}
	if o.GCPercent == 0 {
		o.GCPercent = waf.DefaultGCPercent
	}
	if o.InspectTimeout < 0 || o.MaxOverdue < 0 || o.GCPercent < 0 {
		return fmt.Errorf("inspect timeout %s, max overdue %d, gc percent %d: want positive values", o.InspectTimeout, o.MaxOverdue, o.GCPercent)
	}
	if o.Upstream != "" {
		u, err := url.Parse(o.Upstream)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("upstream %q: want an http:// or https:// URL with a host", o.Upstream)
		}
	}
	return nil
}

// Render returns the Deployment and Service as a multi-document YAML
// stream.
func Render(o Options) ([]byte, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": o.Name, "app.kubernetes.io/part-of": "kordon"}
	args := []string{"waf", "serve", "--ext-authz", ":" + strconv.Itoa(int(o.ExtAuthzPort)),
		"--paranoia", strconv.Itoa(o.Paranoia), "--mode", o.Mode,
		"--inspect-timeout", o.InspectTimeout.String(), "--max-overdue", strconv.Itoa(o.MaxOverdue),
		"--gc-percent", strconv.Itoa(o.GCPercent)}
	if o.FailOpen {
		args = append(args, "--fail-open")
	}
	ports := []corev1.ContainerPort{{Name: "grpc", ContainerPort: o.ExtAuthzPort}}
	svcPorts := []corev1.ServicePort{{Name: "grpc", Port: o.ExtAuthzPort, TargetPort: intstr.FromString("grpc"), AppProtocol: ptr("grpc")}}
	if o.Upstream != "" {
		args = append(args, "--listen", ":"+strconv.Itoa(int(o.ProxyPort)), "--upstream", o.Upstream)
		ports = append(ports, corev1.ContainerPort{Name: "http", ContainerPort: o.ProxyPort})
		svcPorts = append(svcPorts, corev1.ServicePort{Name: "http", Port: o.ProxyPort, TargetPort: intstr.FromString("http"), AppProtocol: ptr("http")})
	}
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &o.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr(false),
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "waf", Image: o.Image, Args: args, Ports: ports,
						// With --gc-percent above Go's default the heap may grow
						// past the live data several times over: the soft limit
						// makes the collector work harder before the memory
						// limit is reached.
						Env: []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "400MiB"}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("grpc")}}},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
						// Coraza buffers large request bodies in temporary files.
						VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("256Mi"))}}}},
				},
			},
		},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: svcPorts},
	}
	var b bytes.Buffer
	for i, obj := range []any{dep, svc} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }
