package testgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// Objects returns n objects: per namespace one Namespace, and a mix of
// workloads (about half the objects, of every controller kind), Services,
// ConfigMaps, ServiceAccounts, Roles, RoleBindings, NetworkPolicies and
// Ingresses, with file and line sources as if read from one file per
// namespace. The same seed gives the same objects.
func Objects(n int, seed uint64) []*k8s.Object {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var out []*k8s.Object
	for ns := 0; len(out) < n; ns++ {
		name := fmt.Sprintf("team-%03d", ns)
		file := fmt.Sprintf("generated/%s.yaml", name)
		line := 1
		add := func(m map[string]any) {
			if len(out) < n {
				out = append(out, &k8s.Object{Content: m, Source: k8s.Source{File: file, Line: line}})
				line += 40
			}
		}
		add(g.namespace(name))
		for app := 0; app < 12 && len(out) < n; app++ {
			appName := fmt.Sprintf("app-%02d", app)
			add(g.workload(name, appName))
			add(g.service(name, appName))
			switch app % 4 {
			case 0:
				add(g.configMap(name, appName))
			case 1:
				add(g.serviceAccount(name, appName))
			case 2:
				add(g.networkPolicy(name, appName))
			case 3:
				add(g.role(name, appName))
				add(g.roleBinding(name, appName))
			}
		}
		add(g.ingress(name))
	}
	return out
}

// YAML renders objects as one multi-document YAML stream, for benchmarks
// of the loader.
func YAML(objs []*k8s.Object) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Content)
		if err != nil {
			panic(err) // generated maps always marshal
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes()
}

type gen struct{ r *rand.Rand }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func meta(ns, name string, labels map[string]any) map[string]any {
	m := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		m["labels"] = labels
	}
	return m
}

func (g *gen) namespace(name string) map[string]any {
	labels := map[string]any{"kubernetes.io/metadata.name": name}
	if g.chance(0.5) {
		labels["pod-security.kubernetes.io/enforce"] = "restricted"
	}
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": labels}}
}

var images = []string{
	"nginx:1.27", "nginx:latest", "redis", "ghcr.io/acme/api:2.4.1",
	"registry.example.com/payments@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"quay.io/prometheus/node-exporter:v1.8.2", "docker.io/library/postgres:16",
}

func (g *gen) container(name string) map[string]any {
	c := map[string]any{
		"name":  name,
		"image": images[g.r.IntN(len(images))],
		"ports": []any{map[string]any{"name": "http", "containerPort": int64(8080), "protocol": "TCP"}},
	}
	if g.chance(0.6) {
		c["resources"] = map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
			"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
		}
	}
	if g.chance(0.5) {
		c["livenessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}}
		c["readinessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/ready", "port": "http"}}
	}
	if g.chance(0.3) {
		c["env"] = []any{
			map[string]any{"name": "LOG_LEVEL", "value": "info"},
			map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}},
		}
	}
	switch g.r.IntN(4) {
	case 0: // hardened
		c["securityContext"] = map[string]any{
			"runAsNonRoot": true, "runAsUser": int64(10001), "allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		}
	case 1: // risky
		sc := map[string]any{"capabilities": map[string]any{"add": []any{"NET_ADMIN"}}}
		if g.chance(0.2) {
			sc["privileged"] = true
		}
		c["securityContext"] = sc
	case 2:
		c["securityContext"] = map[string]any{"allowPrivilegeEscalation": false}
	}
	return c
}

func (g *gen) podSpec(app string) map[string]any {
	spec := map[string]any{"containers": []any{g.container(app)}}
	if g.chance(0.3) {
		spec["containers"] = append(spec["containers"].([]any), g.container("sidecar"))
	}
	if g.chance(0.2) {
		spec["initContainers"] = []any{g.container("init")}
	}
	if g.chance(0.5) {
		spec["serviceAccountName"] = app
	}
	if g.chance(0.3) {
		spec["automountServiceAccountToken"] = false
	}
	if g.chance(0.05) {
		spec["hostNetwork"] = true
	}
	if g.chance(0.05) {
		spec["volumes"] = []any{map[string]any{"name": "host", "hostPath": map[string]any{"path": "/var/run"}}}
	}
	if g.chance(0.4) {
		spec["securityContext"] = map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}
	}
	return spec
}

func (g *gen) workload(ns, app string) map[string]any {
	labels := map[string]any{"app": app, "tier": []string{"web", "api", "data"}[g.r.IntN(3)]}
	template := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": g.podSpec(app)}
	selector := map[string]any{"matchLabels": map[string]any{"app": app}}
	switch k := g.r.IntN(10); {
	case k < 5:
		return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(ns, app, labels),
			"spec": map[string]any{"replicas": int64(1 + g.r.IntN(3)), "selector": selector, "template": template}}
	case k < 6:
		return map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(ns, app, labels),
			"spec": map[string]any{"serviceName": app, "selector": selector, "template": template}}
	case k < 7:
		return map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(ns, app, labels),
			"spec": map[string]any{"selector": selector, "template": template}}
	case k < 8:
		template["spec"].(map[string]any)["restartPolicy"] = "OnFailure"
		return map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(ns, app, labels),
			"spec": map[string]any{"schedule": "*/10 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}}
	case k < 9:
		template["spec"].(map[string]any)["restartPolicy"] = "Never"
		return map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(ns, app, labels),
			"spec": map[string]any{"template": template}}
	default:
		spec := template["spec"].(map[string]any)
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta(ns, app, labels), "spec": spec}
	}
}

func (g *gen) service(ns, app string) map[string]any {
	typ := "ClusterIP"
	if g.chance(0.1) {
		typ = "NodePort"
	}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(ns, app, nil),
		"spec": map[string]any{"type": typ, "selector": map[string]any{"app": app},
			"ports": []any{map[string]any{"port": int64(80), "targetPort": "http"}}}}
}

func (g *gen) configMap(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(ns, app+"-config", nil),
		"data": map[string]any{"LOG_LEVEL": "info", "FEATURES": "a,b,c"}}
}

func (g *gen) serviceAccount(ns, app string) map[string]any {
	sa := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ns, app, nil)}
	if g.chance(0.5) {
		sa["automountServiceAccountToken"] = false
	}
	return sa
}

func (g *gen) networkPolicy(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(ns, app, nil),
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{"app": app}},
			"policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{
				"from":  []any{map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"tier": "web"}}}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(8080)}},
			}},
		}}
}

func (g *gen) role(ns, app string) map[string]any {
	verbs := []any{"get", "list", "watch"}
	resources := []any{"configmaps", "pods"}
	if g.chance(0.2) {
		verbs = []any{"*"}
	}
	if g.chance(0.2) {
		resources = append(resources, "secrets")
	}
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(ns, app, nil),
		"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": resources, "verbs": verbs}}}
}

func (g *gen) roleBinding(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(ns, app, nil),
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": app},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": app, "namespace": ns}}}
}

func (g *gen) ingress(ns string) map[string]any {
	ing := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(ns, "web", nil),
		"spec": map[string]any{"rules": []any{map[string]any{"host": ns + ".example.com", "http": map[string]any{
			"paths": []any{map[string]any{"path": "/", "pathType": "Prefix",
				"backend": map[string]any{"service": map[string]any{"name": "app-00", "port": map[string]any{"number": int64(80)}}}}}}}}}}
	if g.chance(0.5) {
		ing["spec"].(map[string]any)["tls"] = []any{map[string]any{"hosts": []any{ns + ".example.com"}, "secretName": "tls"}}
	}
	return ing
}
