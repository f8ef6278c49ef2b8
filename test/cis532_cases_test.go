package test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCIS532Cases runs the three engines and the reference on known
// tricky cases and checks that each says what the case expects: want
// lists every CIS 5.3.2 finding ("ID Kind ns/name", catalogue IDs), and
// the webhook must deny exactly the workload objects reported as a
// KOR-NET-002 finding of want (kube-system excepted).
func TestCIS532Cases(t *testing.T) {
	e := newCIS532Engines(t)
	tests := []struct {
		name    string
		objects string
		want    []string
	}{
		{
			name: "policy without policyTypes or egress rules isolates ingress only",
			objects: policy("shop", "web-in", `{podSelector: {matchLabels: {app: web}}}`) +
				pod("shop", "web", `app: web`),
			want: []string{"KOR-NET-002 Pod shop/web"},
		},
		{
			name: "egress rules without policyTypes isolate egress too",
			objects: policy("shop", "web", `
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]`) +
				pod("shop", "web", `app: web`),
		},
		{
			name: "an empty egress list or empty policyTypes is no egress",
			objects: policy("shop", "web", `
  podSelector: {matchLabels: {app: web}}
  policyTypes: []
  egress: []`) +
				pod("shop", "web", `app: web`),
			want: []string{"KOR-NET-002 Pod shop/web"},
		},
		{
			name: "policyTypes Egress leaves ingress open whatever the ingress rules",
			objects: policy("shop", "web", `
  podSelector: {}
  policyTypes: [Egress]
  ingress: [{from: [{podSelector: {}}]}]`) +
				pod("shop", "web", `app: web`),
			want: []string{"KOR-NET-002 Pod shop/web"},
		},
		{
			name: "one policy per direction isolate together",
			objects: policy("shop", "in", `{podSelector: {matchLabels: {app: web}}}`) +
				policy("shop", "out", `{podSelector: {matchLabels: {tier: front}}, policyTypes: [Egress]}`) +
				pod("shop", "both", `{app: web, tier: front}`) +
				pod("shop", "in-only", `app: web`),
			want: []string{"KOR-NET-002 Pod shop/in-only"},
		},
		{
			name: "host-network pods are not judged",
			objects: pod("bare", "agent", `app: agent`, "  hostNetwork: true\n") + `
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: bare}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec: {hostNetwork: true, containers: [{name: c, image: x}]}
`,
		},
		{
			name: "mirror pods are not judged",
			objects: `
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-node-1
  namespace: bare
  annotations: {kubernetes.io/config.mirror: 0a1b2c}
  ownerReferences: [{apiVersion: v1, kind: Node, name: node-1, uid: n1, controller: true}]
spec: {containers: [{name: c, image: etcd:3}]}
`,
		},
		{
			name: "NotIn and DoesNotExist match pods without the key",
			objects: policy("shop", "not-prod", `
  podSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}, {key: debug, operator: DoesNotExist}]}
  policyTypes: [Ingress, Egress]`) +
				pod("shop", "unlabelled", `{}`) +
				pod("shop", "dev", `env: dev`) +
				pod("shop", "prod", `env: prod`) +
				pod("shop", "debug", `debug: "on"`),
			want: []string{"KOR-NET-002 Pod shop/prod", "KOR-NET-002 Pod shop/debug"},
		},
		{
			name: "empty podSelector selects every pod of its namespace, of every kind",
			objects: policy("shop", "default-deny", `{podSelector: {}, policyTypes: [Ingress, Egress]}`) +
				pod("shop", "unlabelled", `{}`) + `
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: x}]}}}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl, namespace: shop}
template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: x}]}}
`,
		},
		{
			name: "a policy of another namespace does not count",
			objects: namespace("shop") + namespace("other") +
				policy("other", "default-deny", `{podSelector: {}, policyTypes: [Ingress, Egress]}`) +
				pod("shop", "web", `app: web`),
			want: []string{"KOR-NET-001 Namespace shop", "KOR-NET-002 Pod shop/web"},
		},
		{
			name: "objects without namespace are in default",
			objects: policy("", "default-deny", `{podSelector: {}, policyTypes: [Ingress, Egress]}`) +
				pod("", "implicit", `app: web`) +
				pod("default", "explicit", `app: web`) +
				pod("shop", "elsewhere", `app: web`) + namespace("default"),
			want: []string{"KOR-NET-002 Pod shop/elsewhere"},
		},
		{
			name: "policies select pod template labels, not the controller's labels",
			objects: policy("shop", "web", `{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress]}`) + `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: x}]}
`,
			want: []string{"KOR-NET-002 Deployment shop/api"},
		},
		{
			name: "matchLabels with an empty value needs the key",
			objects: policy("shop", "blank", `{podSelector: {matchLabels: {app: ""}}, policyTypes: [Ingress, Egress]}`) +
				pod("shop", "blank", `app: ""`) +
				pod("shop", "unlabelled", `{}`),
			want: []string{"KOR-NET-002 Pod shop/unlabelled"},
		},
		{
			name: "kube-public is not judged for KOR-NET-001, its workloads are",
			objects: namespace("kube-public") + namespace("kube-node-lease") +
				pod("kube-public", "p", `app: web`),
			want: []string{"KOR-NET-002 Pod kube-public/p"},
		},
		{
			name: "kube-system is judged by scan and lint, never by the webhook",
			objects: namespace("kube-system") +
				pod("kube-system", "coredns", `k8s-app: kube-dns`),
			want: []string{"KOR-NET-001 Namespace kube-system", "KOR-NET-002 Pod kube-system/coredns"},
		},
		{
			name: "a Pod of a loaded Deployment is judged through the Deployment, and by the webhook as it is",
			objects: `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x
  namespace: shop
  labels: {app: web, pod-template-hash: 5d8f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: rs1, controller: true}]
spec: {containers: [{name: c, image: x}]}
`,
			want: []string{"KOR-NET-002 Deployment shop/web"},
		},
		{
			// Found by TestCIS532Differential: the owner index compared
			// namespaces as written, so the Pod (no namespace) was not
			// matched with its Job (namespace default) and scan and lint
			// also reported the Job, which its CronJob stands for.
			name: "owners are matched across an unset and a default namespace",
			objects: `
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-29000000
  namespace: default
  uid: j1
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: c1, controller: true}]
spec:
  template:
    metadata: {labels: {app: nightly, job-name: nightly-29000000}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: nightly-29000000-abc
  labels: {app: nightly, job-name: nightly-29000000}
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly-29000000, uid: j1, controller: true}]
spec: {containers: [{name: c, image: x}]}
`,
			want: []string{"KOR-NET-002 CronJob default/nightly"},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := parseDocs(t, tt.objects)
			v := e.run(ctx, docs)
			want := map[string]bool{}
			for _, w := range tt.want {
				want[w] = true
			}
			for name, got := range map[string]map[string]bool{"scan": v.scan, "lint": v.lint, "reference": v.reference} {
				if !maps.Equal(got, want) {
					t.Errorf("%s: got %v, want %v", name, slices.Sorted(maps.Keys(got)), tt.want)
				}
			}
			for _, o := range v.objects {
				wantDenied := want["KOR-NET-002 "+o.reportedAs] && !strings.Contains(o.object, " kube-system/")
				if o.denied != wantDenied {
					t.Errorf("webhook on %s (reported as %s): denied=%v, want %v", o.object, o.reportedAs, o.denied, wantDenied)
				}
			}
			for _, d := range v.disagreements() {
				t.Error(d)
			}
		})
	}
}

func namespace(name string) string {
	return "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n"
}

// policy returns a NetworkPolicy; spec is YAML (a flow mapping or block
// lines indented by two spaces); ns "" writes no namespace.
func policy(ns, name, spec string) string {
	return "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + namespaceField(ns) + "}\nspec: " + spec + "\n"
}

// pod returns a Pod with these labels (a flow mapping or one key: value)
// and extra spec lines; ns "" writes no namespace.
func pod(ns, name, labels string, specLines ...string) string {
	if !strings.HasPrefix(labels, "{") {
		labels = "{" + labels + "}"
	}
	return "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + namespaceField(ns) + ", labels: " + labels + "}\nspec:\n" +
		strings.Join(specLines, "") + "  containers: [{name: c, image: x}]\n"
}

func namespaceField(ns string) string {
	if ns == "" {
		return ""
	}
	return ", namespace: " + ns
}

// parseDocs splits a multi-document YAML string into objects.
func parseDocs(t *testing.T, src string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, doc := range strings.Split(src, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		out = append(out, m)
	}
	return out
}
