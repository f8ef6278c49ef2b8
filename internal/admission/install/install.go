package install

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/admission/certs"
	"github.com/kordon-dev/kordon/internal/admission/config"
)

// Name is the name of every namespaced object and of the cluster-scoped
// RBAC objects and webhook configuration.
const Name = "kordon-admission"

// WebhookName is the name of the webhook in the ValidatingWebhookConfiguration.
const WebhookName = "validate.kordon.io"

// Options configures Render.
type Options struct {
	// Namespace the webhook runs in (default kordon-system).
	Namespace string
	// Image of kordon (default ghcr.io/kordon-dev/kordon:<version>).
	Image string
	// Replicas of the Deployment (default 3).
	Replicas int32
	// FailurePolicy is Fail (default) or Ignore.
	FailurePolicy string
	// TimeoutSeconds the API server waits for an answer (default 5).
	TimeoutSeconds int32
	// Config is the configuration file's content (default DefaultConfig).
	Config string
	// CertManager requests the serving certificate from cert-manager (a
	// self-signed Issuer and a Certificate) and lets its CA injector fill
	// the caBundle, instead of generating them.
	CertManager bool
	// Certs are the CA and serving certificate to install; generated when
	// nil and CertManager is off.
	Certs *certs.Bundle
	// ClientAuth, when set, makes the webhook require the API server's
	// client certificate (docs/admission.md, Authentication).
	ClientAuth *ClientAuth
}

// ClientAuth configures both ends of client-certificate authentication:
// the webhook trusts CACert and the common name CommonName; the API
// server presents Client through the files RenderAll returns.
type ClientAuth struct {
	// CommonName of the API server's client certificate, the only one the
	// webhook accepts (default DefaultClientCN).
	CommonName string
	// CACert is the PEM CA certificate the webhook trusts. When empty, a
	// CA is generated and Client signed by it (the CA's key is not kept).
	CACert []byte
	// Client is the API server's certificate and key. Without it (a CA of
	// your own), RenderAll returns no API-server files.
	Client *certs.Pair
	// APIServerDir is the folder on every control-plane node that will
	// hold the API server's files (default DefaultAPIServerDir): the
	// AdmissionConfiguration names the kubeconfig there.
	APIServerDir string
}

// DefaultClientCN is the default common name of the API server's client
// certificate.
const DefaultClientCN = "kube-apiserver-kordon"

// DefaultAPIServerDir is the default folder of the API server's files on
// control-plane nodes.
const DefaultAPIServerDir = "/etc/kubernetes/kordon"

// The API server's files, by name (see RenderAll).
const (
	// AdmissionConfigFile is the AdmissionConfiguration to pass to
	// kube-apiserver --admission-control-config-file.
	AdmissionConfigFile = "admission-config.yaml"
	// WebhookKubeconfigFile holds the client certificate and key the API
	// server presents to the webhook's Service.
	WebhookKubeconfigFile = "webhook-kubeconfig.yaml"
	// ClientCAFile is the CA certificate (no key), e.g. for the Helm
	// chart's clientAuth.caCert.
	ClientCAFile = "client-ca.crt"
)

// Paths of the client CA in the webhook's pod.
const (
	clientCADir  = "/etc/kordon/client-ca"
	clientCAName = Name + "-client-ca"
)

// DefaultConfig is installed when no configuration is given: the Pod
// Security Standards, baseline enforced and restricted as warnings, and no
// governance policy.
const DefaultConfig = `# kordon admission configuration (see docs/admission.md)
rules:
  - name: pss-baseline
    select: {tags: [pss-baseline]}
    action: enforce
  - name: pss-restricted
    select: {tags: [pss-restricted]}
    action: warn
`

// CertValidity is how long generated certificates are valid.
const CertValidity = 2 * 365 * 24 * time.Hour

// Labels are set on every object.
func Labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "kordon",
		"app.kubernetes.io/component": "admission",
		"app.kubernetes.io/part-of":   "kordon",
	}
}

func selectorLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "kordon", "app.kubernetes.io/component": "admission"}
}

func (o *Options) defaults(version string) error {
	if o.Namespace == "" {
		o.Namespace = "kordon-system"
	}
	if o.Image == "" {
		o.Image = "ghcr.io/kordon-dev/kordon:" + version
	}
	if o.Replicas == 0 {
		o.Replicas = 3
	}
	if o.FailurePolicy == "" {
		o.FailurePolicy = string(admissionregistrationv1.Fail)
	}
	if o.FailurePolicy != string(admissionregistrationv1.Fail) && o.FailurePolicy != string(admissionregistrationv1.Ignore) {
		return fmt.Errorf("failure policy %q: want Fail or Ignore", o.FailurePolicy)
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = 5
	}
	if o.TimeoutSeconds < 1 || o.TimeoutSeconds > 30 {
		return fmt.Errorf("timeout %ds: want 1 to 30 seconds", o.TimeoutSeconds)
	}
	if o.Config == "" {
		o.Config = DefaultConfig
	}
	if _, err := config.Parse([]byte(o.Config)); err != nil {
		return fmt.Errorf("admission config: %w", err)
	}
	if ca := o.ClientAuth; ca != nil {
		c := *ca // never change the caller's
		if c.CommonName == "" {
			c.CommonName = DefaultClientCN
		}
		if c.APIServerDir == "" {
			c.APIServerDir = DefaultAPIServerDir
		}
		if !strings.HasPrefix(c.APIServerDir, "/") {
			return fmt.Errorf("API server folder %q: want an absolute path on the control-plane nodes", c.APIServerDir)
		}
		if len(c.CACert) == 0 {
			if c.Client != nil {
				return errors.New("client auth: a client certificate without its CA certificate")
			}
			b, err := certs.Generate("kordon-admission-client", nil, CertValidity)
			if err != nil {
				return err
			}
			pair, err := b.SignClient(c.CommonName, CertValidity)
			if err != nil {
				return err
			}
			c.CACert, c.Client = b.CA.CertPEM, &pair
		}
		o.ClientAuth = &c
	}
	return nil
}

// ServiceHost returns the webhook Service's DNS name.
func ServiceHost(namespace string) string { return Name + "." + namespace + ".svc" }

// Render returns the objects, in the order they should be applied, as
// JSON-compatible maps. version names the default image tag.
func Render(opts Options, version string) ([]map[string]any, error) {
	objs, _, err := RenderAll(opts, version)
	return objs, err
}

// RenderAll is Render, and with opts.ClientAuth the API server's files by
// name (AdmissionConfigFile, WebhookKubeconfigFile, ClientCAFile): they
// go to opts.ClientAuth.APIServerDir on every control-plane node, not to
// the cluster's API.
func RenderAll(opts Options, version string) ([]map[string]any, map[string][]byte, error) {
	if err := opts.defaults(version); err != nil {
		return nil, nil, err
	}
	objs, err := render(opts)
	if err != nil {
		return nil, nil, err
	}
	files, err := apiServerFiles(opts)
	if err != nil {
		return nil, nil, err
	}
	return objs, files, nil
}

func render(opts Options) ([]map[string]any, error) {
	ns := opts.Namespace
	if !opts.CertManager && opts.Certs == nil {
		host := ServiceHost(ns)
		b, err := certs.Generate(host, []string{host, Name + "." + ns, Name}, CertValidity)
		if err != nil {
			return nil, err
		}
		opts.Certs = b
	}
	meta := func(name string, namespaced bool) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Labels: Labels()}
		if namespaced {
			m.Namespace = ns
		}
		return m
	}
	var objs []any // typed objects, or maps for cert-manager's kinds
	add := func(o any) { objs = append(objs, o) }

	nsObj := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta(ns, false)}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	add(nsObj)
	add(&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(Name, true), AutomountServiceAccountToken: ptr.To(true)})
	add(&rbacv1.ClusterRole{
		TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta(Name, false),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "watch"}},
		},
	})
	add(&rbacv1.ClusterRoleBinding{
		TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta(Name, false),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: ns}},
	})
	add(&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(Name, true), Data: map[string]string{"config.yaml": opts.Config}})
	if ca := opts.ClientAuth; ca != nil {
		add(&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(clientCAName, true), Data: map[string]string{"ca.crt": string(ca.CACert)}})
	}
	var caBundle []byte
	if opts.CertManager {
		add(issuer(ns))
		add(certificate(ns))
	} else {
		add(&corev1.Secret{
			TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: meta(Name+"-tls", true), Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": opts.Certs.Serving.CertPEM, "tls.key": opts.Certs.Serving.KeyPEM, "ca.crt": opts.Certs.CA.CertPEM},
		})
		caBundle = opts.Certs.CA.CertPEM
	}
	add(deployment(opts))
	add(&policyv1.PodDisruptionBudget{
		TypeMeta: typeMeta("policy/v1", "PodDisruptionBudget"), ObjectMeta: meta(Name, true),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels()},
		},
	})
	add(&corev1.Service{
		TypeMeta: typeMeta("v1", "Service"), ObjectMeta: meta(Name, true),
		Spec: corev1.ServiceSpec{
			Selector: selectorLabels(),
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}},
		},
	})
	add(webhookConfiguration(opts, caBundle))

	out := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		m, ok := o.(map[string]any)
		if !ok {
			var err error
			if m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(o); err != nil {
				return nil, fmt.Errorf("convert %T: %w", o, err)
			}
			delete(m, "status")
			pruneEmpty(m)
		}
		out = append(out, m)
	}
	return out, nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func deployment(opts Options) *appsv1.Deployment {
	ns := opts.Namespace
	podLabels := selectorLabels()
	for k, v := range Labels() {
		podLabels[k] = v
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("ops"), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds: 5, FailureThreshold: 3,
		}
	}
	args := []string{"admission", "serve",
		"--config=/etc/kordon/config/config.yaml",
		"--cert-file=/etc/kordon/tls/tls.crt",
		"--key-file=/etc/kordon/tls/tls.key",
		"--addr=:8443",
		"--ops-addr=:8081",
	}
	mounts := []corev1.VolumeMount{
		{Name: "config", MountPath: "/etc/kordon/config", ReadOnly: true},
		{Name: "tls", MountPath: "/etc/kordon/tls", ReadOnly: true},
	}
	volumes := []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: Name + "-tls"}}},
	}
	if ca := opts.ClientAuth; ca != nil {
		args = append(args, "--client-ca="+clientCADir+"/ca.crt", "--client-cn="+ca.CommonName)
		mounts = append(mounts, corev1.VolumeMount{Name: "client-ca", MountPath: clientCADir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "client-ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: clientCAName}}}})
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: ns, Labels: Labels()},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(opts.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels()},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            Name,
					PriorityClassName:             "system-cluster-critical",
					TerminationGracePeriodSeconds: ptr.To(int64(30)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)), RunAsGroup: ptr.To(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels()},
					}},
					Containers: []corev1.Container{{
						Name:  "webhook",
						Image: opts.Image,
						Args:  args,
						Env: []corev1.EnvVar{
							{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
							// The live heap is small (compiled rules, caches) and every
							// review allocates ~70 KB: collect less often, bounded by
							// a memory limit below the container's.
							{Name: "GOGC", Value: "400"},
							{Name: "GOMEMLIMIT", Value: "400MiB"},
						},
						Ports: []corev1.ContainerPort{
							{Name: "https", ContainerPort: 8443, Protocol: corev1.ProtocolTCP},
							// Plain HTTP: /healthz, /readyz, /metrics (not on the webhook's port).
							{Name: "ops", ContainerPort: 8081, Protocol: corev1.ProtocolTCP},
						},
						ReadinessProbe: probe("/readyz"),
						LivenessProbe:  probe("/healthz"),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
}

// WebhookRules are the resources the webhook judges, on CREATE and UPDATE.
func WebhookRules() []admissionregistrationv1.RuleWithOperations {
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources, Scope: ptr.To(admissionregistrationv1.AllScopes),
		}}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers", "services", "namespaces", "configmaps", "secrets", "serviceaccounts"),
		rule("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule("batch", "jobs", "cronjobs"),
		rule("networking.k8s.io", "networkpolicies", "ingresses"),
		rule("rbac.authorization.k8s.io", "roles", "rolebindings", "clusterroles", "clusterrolebindings"),
	}
}

func webhookConfiguration(opts Options, caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	policy := admissionregistrationv1.FailurePolicyType(opts.FailurePolicy)
	m := metav1.ObjectMeta{Name: Name, Labels: Labels()}
	if opts.CertManager {
		m.Annotations = map[string]string{"cert-manager.io/inject-ca-from": opts.Namespace + "/" + Name}
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
		ObjectMeta: m,
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: WebhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: opts.Namespace, Name: Name, Path: ptr.To("/validate"), Port: ptr.To(int32(443))},
				CABundle: caBundle,
			},
			Rules:                   WebhookRules(),
			FailurePolicy:           &policy,
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(opts.TimeoutSeconds),
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", opts.Namespace},
			}}},
		}},
	}
}

func issuer(ns string) map[string]any {
	return map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
		"metadata": map[string]any{"name": Name, "namespace": ns, "labels": toAny(Labels())},
		"spec":     map[string]any{"selfSigned": map[string]any{}},
	}
}

func certificate(ns string) map[string]any {
	host := ServiceHost(ns)
	return map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": Name, "namespace": ns, "labels": toAny(Labels())},
		"spec": map[string]any{
			"secretName": Name + "-tls",
			"dnsNames":   []any{host, Name + "." + ns, Name},
			"issuerRef":  map[string]any{"name": Name, "kind": "Issuer"},
			"privateKey": map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Always"},
		},
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// pruneEmpty removes the empty creationTimestamp, status and other empty
// maps the converter leaves behind.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			pruneEmpty(t)
			if len(t) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneEmpty(em)
				}
			}
		case nil:
			delete(m, k)
		}
	}
}

// YAML writes the objects as a multi-document YAML stream.
func YAML(objs []map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode object %d: %w", i, err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
