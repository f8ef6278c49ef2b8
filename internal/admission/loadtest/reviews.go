package loadtest

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Reviews returns n encoded AdmissionReviews, a realistic mix: 30%
// Pods created by the ReplicaSet controller, 20% Deployments created by
// users (some violating the restricted profile), 20% Pod status-free
// updates, 10% Services, 10% ConfigMaps, 10% namespace label updates. The
// namespaces are ns-0..ns-9; users user-0..user-999.
func Reviews(n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		ar, err := review(i)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request:  ar,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

const podTemplate = `
apiVersion: v1
kind: Pod
metadata:
  name: web-%[1]d-7d9f8c
  namespace: ns-%[2]d
  labels: {app: web-%[3]d, pod-template-hash: 7d9f8c, tier: frontend}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-%[3]d-7d9f8c, uid: 6b0a2f5e-0000-4000-8000-000000000001, controller: true}]
spec:
  serviceAccountName: web
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: web
      image: registry.example.com/shop/web:1.%[4]d.0
      ports: [{containerPort: 8080, name: http}]
      env: [{name: LOG_LEVEL, value: info}, {name: PORT, value: "8080"}]
      resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5}
      livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10}
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: tmp, mountPath: /tmp}]
    - name: proxy
      image: registry.example.com/platform/envoy:1.31.%[4]d
      ports: [{containerPort: 9901, name: admin}]
      resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 128Mi}}
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  volumes: [{name: tmp, emptyDir: {}}]
`

const deploymentTemplate = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-%[1]d, namespace: ns-%[2]d, labels: {app: api-%[1]d}}
spec:
  replicas: 3
  selector: {matchLabels: {app: api-%[1]d}}
  template:
    metadata: {labels: {app: api-%[1]d, tier: backend}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: api
          image: %[3]s
          resources: {requests: {cpu: 200m, memory: 256Mi}, limits: {memory: 512Mi}}
          securityContext: {allowPrivilegeEscalation: %[4]t, capabilities: {drop: [ALL]}}
`

func review(i int) (*admissionv1.AdmissionRequest, error) {
	ns := i % 10
	user := fmt.Sprintf("user-%d", i%1000)
	groups := []string{"developers", "system:authenticated"}
	ar := &admissionv1.AdmissionRequest{UID: types.UID(fmt.Sprintf("uid-%d", i))}
	var obj, old string
	switch m := i % 10; {
	case m < 3:
		user, groups = "system:serviceaccount:kube-system:replicaset-controller", []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}
		ar.Operation = admissionv1.Create
		obj = fmt.Sprintf(podTemplate, i, ns, i%50, i%7)
	case m < 5:
		ar.Operation = admissionv1.Create
		image, escalate := "registry.example.com/shop/api:2.4.1", false
		if i%20 == 3 {
			image, escalate = "docker.io/library/api:latest", true // violates several rules
		}
		obj = fmt.Sprintf(deploymentTemplate, i, ns, image, escalate)
	case m < 7:
		ar.Operation = admissionv1.Update
		user, groups = "system:serviceaccount:kube-system:replicaset-controller", []string{"system:serviceaccounts", "system:authenticated"}
		obj = fmt.Sprintf(podTemplate, i, ns, i%50, i%7)
		old = obj
	case m < 8:
		ar.Operation = admissionv1.Create
		obj = fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: ns-%d}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n", i, ns)
	case m < 9:
		ar.Operation = admissionv1.Create
		obj = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: ns-%d}\ndata: {LOG_LEVEL: info, FEATURE_X: 'true'}\n", i, ns)
	default:
		ar.Operation = admissionv1.Update
		obj = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%d, labels: {team: shop, env: prod, kordon.io/netpol: required}}\n", ns)
		old = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%d, labels: {team: shop, kordon.io/netpol: required}}\n", ns)
	}
	ar.UserInfo = authenticationv1.UserInfo{Username: user, Groups: groups}
	for k, src := range []string{obj, old} {
		if src == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(src))
		if err != nil {
			return nil, fmt.Errorf("review %d: %w", i, err)
		}
		if k == 0 {
			ar.Object = runtime.RawExtension{Raw: j}
		} else {
			ar.OldObject = runtime.RawExtension{Raw: j}
		}
	}
	var meta struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(ar.Object.Raw, &meta); err != nil {
		return nil, err
	}
	group, version := "", meta.APIVersion
	if g, v, ok := cutSlash(meta.APIVersion); ok {
		group, version = g, v
	}
	resource := map[string]string{"Pod": "pods", "Deployment": "deployments", "Service": "services", "ConfigMap": "configmaps", "Namespace": "namespaces"}[meta.Kind]
	ar.Kind = metav1.GroupVersionKind{Group: group, Version: version, Kind: meta.Kind}
	ar.Resource = metav1.GroupVersionResource{Group: group, Version: version, Resource: resource}
	ar.RequestKind, ar.RequestResource = &ar.Kind, &ar.Resource
	ar.Name, ar.Namespace = meta.Metadata.Name, meta.Metadata.Namespace
	return ar, nil
}

func cutSlash(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
