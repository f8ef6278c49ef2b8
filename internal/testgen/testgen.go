package testgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// Shape is the shape of a generated cluster.
type Shape struct {
	// PerNamespace is about how many objects each namespace holds (the
	// last namespace may hold fewer).
	PerNamespace int
}

// Realistic is the shape of a large production cluster: namespaces of
// about 1,000 objects. Workloads have one to three containers (and
// sometimes an init container) with environments, volumes,
// probes and resources; with the Services, ConfigMaps, Secrets,
// ServiceAccounts, RBAC, NetworkPolicies, PodDisruptionBudgets,
// HorizontalPodAutoscalers and Ingresses around them, 10,000 objects make
// about 17 MB of YAML.
var Realistic = Shape{PerNamespace: 1000}

// Small is the shape of a cluster of many small namespaces (about 40
// objects each).
var Small = Shape{PerNamespace: 40}

// Objects returns n objects in the Realistic shape. The same seed gives
// the same objects.
func Objects(n int, seed uint64) []*k8s.Object { return Generate(n, seed, Realistic) }

// Generate returns n objects of the given shape: per namespace one
// Namespace, its default policies and quotas, then applications — each a
// workload (about half the objects, of every controller kind) with the
// Service, config, service account, RBAC, NetworkPolicy, disruption budget
// and autoscaler it may have — with file and line sources as if read from
// one file per namespace. Some objects are hardened, some misconfigured.
// The same seed and shape give the same objects.
func Generate(n int, seed uint64, shape Shape) []*k8s.Object {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	per := max(shape.PerNamespace, 10)
	var out []*k8s.Object
	for ns := 0; len(out) < n; ns++ {
		name := fmt.Sprintf("team-%03d", ns)
		file := fmt.Sprintf("generated/%s.yaml", name)
		line := 1
		start := len(out)
		add := func(m map[string]any) {
			if len(out) < n {
				out = append(out, &k8s.Object{Content: m, Source: k8s.Source{File: file, Line: line}})
				line += 40
			}
		}
		add(g.namespace(name))
		if g.chance(0.6) {
			add(g.defaultDeny(name))
		}
		if g.chance(0.5) {
			add(g.resourceQuota(name))
			add(g.limitRange(name))
		}
		// Leave room for the namespace's Ingresses (one per 20 apps).
		for app := 0; len(out)-start < per-per/40 && len(out) < n; app++ {
			appName := fmt.Sprintf("%s-%03d", appNames[app%len(appNames)], app)
			for _, o := range g.application(name, appName) {
				add(o)
			}
			if app%20 == 19 {
				add(g.ingress(name, app-19, app))
			}
		}
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

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

var appNames = []string{
	"api", "web", "worker", "checkout", "cart", "search", "auth", "billing",
	"catalog", "ledger", "notifier", "gateway", "reports", "ingest", "scheduler",
}

func meta(ns, name string, labels map[string]any) map[string]any {
	m := map[string]any{"name": name, "namespace": ns}
	if labels != nil {
		m["labels"] = labels
	}
	return m
}

func appLabels(app, component string) map[string]any {
	return map[string]any{
		"app":                          app,
		"app.kubernetes.io/name":       app,
		"app.kubernetes.io/instance":   app + "-prod",
		"app.kubernetes.io/component":  component,
		"app.kubernetes.io/part-of":    "shop",
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/version":    "2.4.1",
	}
}

func (g *gen) namespace(name string) map[string]any {
	labels := map[string]any{"kubernetes.io/metadata.name": name, "team": name}
	if g.chance(0.5) {
		labels["pod-security.kubernetes.io/enforce"] = "restricted"
	}
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": labels,
		"annotations": map[string]any{"owner": name + "@example.com", "cost-center": fmt.Sprintf("cc-%04d", g.r.IntN(10000))}}}
}

func (g *gen) defaultDeny(ns string) map[string]any {
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(ns, "default-deny", nil),
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}}
}

func (g *gen) resourceQuota(ns string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta(ns, "quota", nil),
		"spec": map[string]any{"hard": map[string]any{"requests.cpu": "200", "requests.memory": "400Gi",
			"limits.cpu": "400", "limits.memory": "800Gi", "pods": "2000"}}}
}

func (g *gen) limitRange(ns string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "LimitRange", "metadata": meta(ns, "limits", nil),
		"spec": map[string]any{"limits": []any{map[string]any{"type": "Container",
			"default":        map[string]any{"cpu": "500m", "memory": "512Mi"},
			"defaultRequest": map[string]any{"cpu": "100m", "memory": "128Mi"}}}}}
}

// application returns one workload and what surrounds it.
func (g *gen) application(ns, app string) []map[string]any {
	w := g.workload(ns, app)
	out := []map[string]any{w}
	kind := w["kind"].(string)
	if kind != "Job" && kind != "CronJob" && g.chance(0.9) {
		out = append(out, g.service(ns, app))
	}
	if g.chance(0.4) {
		out = append(out, g.configMap(ns, app))
	}
	if g.chance(0.15) {
		out = append(out, g.secret(ns, app))
	}
	if g.chance(0.3) {
		out = append(out, g.serviceAccount(ns, app))
	}
	if g.chance(0.3) {
		out = append(out, g.networkPolicy(ns, app))
	}
	if g.chance(0.1) {
		out = append(out, g.role(ns, app), g.roleBinding(ns, app))
	}
	if kind == "Deployment" || kind == "StatefulSet" {
		if g.chance(0.3) {
			out = append(out, g.podDisruptionBudget(ns, app))
		}
		if kind == "Deployment" && g.chance(0.2) {
			out = append(out, g.autoscaler(ns, app))
		}
	}
	return out
}

var images = []string{
	"nginx:1.27", "nginx:latest", "redis", "ghcr.io/acme/api:2.4.1",
	"registry.example.com/payments@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"quay.io/prometheus/node-exporter:v1.8.2", "docker.io/library/postgres:16",
	"registry.example.com/platform/envoy:v1.31.2", "gcr.io/distroless/static:nonroot",
	"registry.example.com/shop/checkout:2024.11.3", "busybox:1.36",
}

var sidecars = []string{"envoy", "log-shipper", "metrics-exporter", "vault-agent", "cloudsql-proxy"}

var envNames = []string{
	"LOG_LEVEL", "LOG_FORMAT", "HTTP_PORT", "GRPC_PORT", "METRICS_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_SERVICE_NAME", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "CACHE_URL", "QUEUE_URL",
	"FEATURE_FLAGS", "REGION", "ENVIRONMENT", "TZ", "GOMAXPROCS", "JAVA_OPTS", "TIMEOUT_SECONDS",
	"RETRY_LIMIT", "TRACE_SAMPLE_RATE", "UPSTREAM_URL", "CONFIG_PATH",
}

func (g *gen) env(app string) []any {
	n := 2 + g.r.IntN(7)
	out := make([]any, 0, n+3)
	for i := 0; i < n; i++ {
		name := envNames[(i+g.r.IntN(3))%len(envNames)]
		out = append(out, map[string]any{"name": fmt.Sprintf("%s_%d", name, i), "value": fmt.Sprintf("%s-%d", strings.ToLower(name), g.r.IntN(1000))})
	}
	out = append(out, map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}})
	if g.chance(0.4) {
		out = append(out, map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": app + "-db", "key": "password"}}})
	}
	if g.chance(0.03) {
		out = append(out, map[string]any{"name": "API_TOKEN", "value": "tok_" + fmt.Sprintf("%016x", g.r.Uint64())})
	}
	return out
}

func (g *gen) securityContext() map[string]any {
	switch g.r.IntN(4) {
	case 0, 1: // hardened
		return map[string]any{
			"runAsNonRoot": true, "runAsUser": int64(10001), "allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		}
	case 2: // risky
		sc := map[string]any{"capabilities": map[string]any{"add": []any{"NET_ADMIN"}}}
		if g.chance(0.2) {
			sc["privileged"] = true
		}
		return sc
	default:
		if g.chance(0.5) {
			return map[string]any{"allowPrivilegeEscalation": false}
		}
		return nil
	}
}

func (g *gen) container(app, name string, port int64) map[string]any {
	c := map[string]any{
		"name":            name,
		"image":           g.pick(images),
		"imagePullPolicy": g.pick([]string{"IfNotPresent", "Always", "IfNotPresent"}),
		"ports": []any{
			map[string]any{"name": "http", "containerPort": port, "protocol": "TCP"},
			map[string]any{"name": "metrics", "containerPort": port + 1000, "protocol": "TCP"},
		},
		"env":          g.env(app),
		"volumeMounts": []any{map[string]any{"name": "tmp", "mountPath": "/tmp"}, map[string]any{"name": "config", "mountPath": "/etc/" + app, "readOnly": true}},
	}
	if g.chance(0.3) {
		c["envFrom"] = []any{map[string]any{"configMapRef": map[string]any{"name": app + "-config"}}}
	}
	if g.chance(0.1) {
		c["args"] = []any{"--config=/etc/" + app + "/config.yaml", "--log-level=info", fmt.Sprintf("--port=%d", port)}
	}
	if g.chance(0.75) {
		c["resources"] = map[string]any{
			"requests": map[string]any{"cpu": fmt.Sprintf("%dm", 50*(1+g.r.IntN(8))), "memory": fmt.Sprintf("%dMi", 64*(1+g.r.IntN(8)))},
			"limits":   map[string]any{"cpu": "1", "memory": "1Gi"},
		}
	}
	if g.chance(0.6) {
		c["livenessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}, "initialDelaySeconds": int64(10), "periodSeconds": int64(10)}
		c["readinessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/ready", "port": "http"}, "periodSeconds": int64(5), "failureThreshold": int64(3)}
	}
	if g.chance(0.1) {
		c["startupProbe"] = map[string]any{"tcpSocket": map[string]any{"port": "http"}, "failureThreshold": int64(30)}
	}
	if sc := g.securityContext(); sc != nil {
		c["securityContext"] = sc
	}
	return c
}

func (g *gen) podSpec(app string) map[string]any {
	containers := []any{g.container(app, app, 8080)}
	for i, n := 0, g.r.IntN(3); i < n; i++ { // zero to two sidecars, one on average
		containers = append(containers, g.container(app, sidecars[(i+g.r.IntN(2))%len(sidecars)]+fmt.Sprint(i), int64(9000+i)))
	}
	spec := map[string]any{
		"containers": containers,
		"volumes": []any{
			map[string]any{"name": "tmp", "emptyDir": map[string]any{"sizeLimit": "1Gi"}},
			map[string]any{"name": "config", "configMap": map[string]any{"name": app + "-config"}},
		},
		"terminationGracePeriodSeconds": int64(30),
	}
	if g.chance(0.3) {
		spec["initContainers"] = []any{g.container(app, "init-"+app, 7000)}
	}
	if g.chance(0.5) {
		spec["serviceAccountName"] = app
	}
	if g.chance(0.3) {
		spec["automountServiceAccountToken"] = false
	}
	if g.chance(0.03) {
		spec["hostNetwork"] = true
	}
	if g.chance(0.04) {
		spec["volumes"] = append(spec["volumes"].([]any), map[string]any{"name": "host", "hostPath": map[string]any{"path": "/var/run"}})
	}
	if g.chance(0.5) {
		spec["securityContext"] = map[string]any{"runAsNonRoot": true, "fsGroup": int64(10001), "seccompProfile": map[string]any{"type": "RuntimeDefault"}}
	}
	if g.chance(0.4) {
		spec["affinity"] = map[string]any{"podAntiAffinity": map[string]any{"preferredDuringSchedulingIgnoredDuringExecution": []any{
			map[string]any{"weight": int64(100), "podAffinityTerm": map[string]any{
				"topologyKey":   "kubernetes.io/hostname",
				"labelSelector": map[string]any{"matchLabels": map[string]any{"app": app}},
			}},
		}}}
	}
	if g.chance(0.2) {
		spec["tolerations"] = []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"}}
		spec["nodeSelector"] = map[string]any{"kubernetes.io/os": "linux", "node.example.com/pool": "shop"}
	}
	if g.chance(0.3) {
		spec["imagePullSecrets"] = []any{map[string]any{"name": "registry-credentials"}}
	}
	return spec
}

func (g *gen) workload(ns, app string) map[string]any {
	labels := appLabels(app, g.pick([]string{"web", "api", "data"}))
	podLabels := map[string]any{"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app + "-prod"}
	template := map[string]any{"metadata": map[string]any{"labels": podLabels,
		"annotations": map[string]any{"prometheus.io/scrape": "true", "prometheus.io/port": "9080", "checksum/config": fmt.Sprintf("%016x%016x%016x%016x", g.r.Uint64(), g.r.Uint64(), g.r.Uint64(), g.r.Uint64())}},
		"spec": g.podSpec(app)}
	selector := map[string]any{"matchLabels": map[string]any{"app": app, "app.kubernetes.io/instance": app + "-prod"}}
	m := meta(ns, app, labels)
	m["annotations"] = map[string]any{"meta.helm.sh/release-name": app, "meta.helm.sh/release-namespace": ns}
	switch k := g.r.IntN(20); {
	case k < 12:
		return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m,
			"spec": map[string]any{"replicas": int64(1 + g.r.IntN(4)), "revisionHistoryLimit": int64(5), "selector": selector, "template": template,
				"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}}}}
	case k < 14:
		return map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": m,
			"spec": map[string]any{"replicas": int64(1 + g.r.IntN(3)), "serviceName": app, "selector": selector, "template": template}}
	case k < 15:
		return map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": m,
			"spec": map[string]any{"selector": selector, "template": template}}
	case k < 17:
		template["spec"].(map[string]any)["restartPolicy"] = "OnFailure"
		return map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": m,
			"spec": map[string]any{"schedule": "*/10 * * * *", "concurrencyPolicy": "Forbid",
				"jobTemplate": map[string]any{"spec": map[string]any{"backoffLimit": int64(2), "template": template}}}}
	case k < 18:
		template["spec"].(map[string]any)["restartPolicy"] = "Never"
		return map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": m,
			"spec": map[string]any{"backoffLimit": int64(4), "template": template}}
	default:
		spec := template["spec"].(map[string]any)
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta(ns, app, podLabels), "spec": spec}
	}
}

func (g *gen) service(ns, app string) map[string]any {
	typ := "ClusterIP"
	if g.chance(0.1) {
		typ = "NodePort"
	}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(ns, app, appLabels(app, "service")),
		"spec": map[string]any{"type": typ, "selector": map[string]any{"app": app, "app.kubernetes.io/instance": app + "-prod"},
			"ports": []any{
				map[string]any{"name": "http", "port": int64(80), "targetPort": "http", "protocol": "TCP"},
				map[string]any{"name": "metrics", "port": int64(9080), "targetPort": "metrics", "protocol": "TCP"},
			}}}
}

func (g *gen) configMap(ns, app string) map[string]any {
	var conf strings.Builder
	for i, n := 0, 2+g.r.IntN(6); i < n; i++ {
		fmt.Fprintf(&conf, "%s:\n  enabled: %v\n  endpoint: https://%s.internal.example.com/v1/%d\n", envNames[i%len(envNames)], g.chance(0.5), app, i)
	}
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(ns, app+"-config", appLabels(app, "config")),
		"data": map[string]any{"LOG_LEVEL": "info", "FEATURES": "a,b,c", "config.yaml": conf.String()}}
}

func (g *gen) secret(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta(ns, app+"-db", appLabels(app, "secret")),
		"type": "Opaque", "data": map[string]any{"username": "YXBw", "password": fmt.Sprintf("%032x", g.r.Uint64())}}
}

func (g *gen) serviceAccount(ns, app string) map[string]any {
	sa := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ns, app, appLabels(app, "identity"))}
	if g.chance(0.5) {
		sa["automountServiceAccountToken"] = false
	}
	return sa
}

func (g *gen) networkPolicy(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(ns, app, nil),
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{"app": app}},
			"policyTypes": []any{"Ingress", "Egress"},
			"ingress": []any{map[string]any{
				"from": []any{
					map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/part-of": "shop"}}},
					map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}},
				},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(8080)}, map[string]any{"protocol": "TCP", "port": "metrics"}},
			}},
			"egress": []any{map[string]any{
				"to":    []any{map[string]any{"namespaceSelector": map[string]any{}}},
				"ports": []any{map[string]any{"protocol": "UDP", "port": int64(53)}, map[string]any{"protocol": "TCP", "port": int64(443)}},
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
	if g.chance(0.1) { // an operator's role: everything in the namespace
		verbs, resources = []any{"*"}, []any{"*"}
	}
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(ns, app, nil),
		"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": resources, "verbs": verbs}}}
}

func (g *gen) roleBinding(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(ns, app, nil),
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": app},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": app, "namespace": ns}}}
}

func (g *gen) podDisruptionBudget(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(ns, app, nil),
		"spec": map[string]any{"maxUnavailable": int64(1), "selector": map[string]any{"matchLabels": map[string]any{"app": app}}}}
}

func (g *gen) autoscaler(ns, app string) map[string]any {
	return map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(ns, app, nil),
		"spec": map[string]any{"minReplicas": int64(2), "maxReplicas": int64(10),
			"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
			"metrics": []any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu",
				"target": map[string]any{"type": "Utilization", "averageUtilization": int64(70)}}}}}}
}

// ingress routes to the Services of apps first..last.
func (g *gen) ingress(ns string, first, last int) map[string]any {
	var paths []any
	for app := first; app <= last; app++ {
		paths = append(paths, map[string]any{"path": fmt.Sprintf("/%s-%03d", appNames[app%len(appNames)], app), "pathType": "Prefix",
			"backend": map[string]any{"service": map[string]any{"name": fmt.Sprintf("%s-%03d", appNames[app%len(appNames)], app), "port": map[string]any{"number": int64(80)}}}})
	}
	host := fmt.Sprintf("%s-%d.example.com", ns, first/20)
	ing := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(ns, fmt.Sprintf("web-%d", first/20), nil),
		"spec": map[string]any{"ingressClassName": "nginx", "rules": []any{map[string]any{"host": host, "http": map[string]any{"paths": paths}}}}}
	if g.chance(0.7) {
		ing["spec"].(map[string]any)["tls"] = []any{map[string]any{"hosts": []any{host}, "secretName": "tls"}}
	}
	return ing
}
