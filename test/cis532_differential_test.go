package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestCIS532Differential is the acceptance test of CIS 5.3.2 being decided
// in one place: on generated clusters, kordon scan, kordon netpol lint and
// the admission webhook flag the same objects, and agree with a
// brute-force reference of the NetworkPolicy semantics (see
// cis532_engines_test.go for what is compared). Seeds are fixed; a failure
// prints the seed and the cluster shrunk to the objects the disagreement
// needs.
func TestCIS532Differential(t *testing.T) {
	e := newCIS532Engines(t)
	ctx := context.Background()
	var stats cis532Stats
	failures := 0
	for seed := uint64(1); seed <= cis532Seeds; seed++ {
		docs := generateCluster(seed)
		v := e.run(ctx, docs)
		stats.add(v)
		if d := v.disagreements(); len(d) > 0 {
			failures++
			small := shrinkCluster(docs, func(docs []map[string]any) bool { return len(e.run(ctx, docs).disagreements()) > 0 })
			yaml, _ := renderDocs(small)
			t.Errorf("seed %d: %d disagreement(s):\n  %s\nshrunk to %d of %d objects:\n%s\nits disagreements:\n  %s",
				seed, len(d), strings.Join(d, "\n  "), len(small), len(docs), yaml,
				strings.Join(e.run(ctx, small).disagreements(), "\n  "))
			if failures == 3 {
				t.Fatal("stopping after 3 failing seeds")
			}
		}
	}
	t.Logf("%d clusters: %s", cis532Seeds, stats)
	stats.requireCoverage(t)
}

// cis532Stats counts what the generated clusters exercised, so that a
// generator that stops producing a case fails the test instead of
// silently testing less.
type cis532Stats struct {
	objects, judged, flagged, denied, excluded, collapsed, namespacesFlagged int

	kinds map[string]int // workload objects per kind
}

func (s *cis532Stats) add(v *verdicts) {
	if s.kinds == nil {
		s.kinds = map[string]int{}
	}
	for _, o := range v.objects {
		s.objects++
		kind, _, _ := strings.Cut(o.object, " ")
		s.kinds[kind]++
		if o.judged {
			s.judged++
		}
		if o.flagged {
			s.flagged++
		}
		if o.denied {
			s.denied++
		}
		if o.excluded {
			s.excluded++
		}
		if o.reportedAs != o.object {
			s.collapsed++
		}
	}
	for k := range v.reference {
		if strings.HasPrefix(k, "KOR-NET-001 ") {
			s.namespacesFlagged++
		}
	}
}

func (s cis532Stats) String() string {
	return fmt.Sprintf("%d workload objects (%d judged, %d flagged, %d denied, %d in kube-system, %d judged through a controller), %d namespaces flagged",
		s.objects, s.judged, s.flagged, s.denied, s.excluded, s.collapsed, s.namespacesFlagged)
}

func (s cis532Stats) requireCoverage(t *testing.T) {
	t.Helper()
	counts := map[string]int{
		"judged objects": s.judged, "flagged objects": s.flagged, "isolated objects": s.judged - s.flagged,
		"objects not judged": s.objects - s.judged, "objects in kube-system": s.excluded,
		"objects judged through a controller": s.collapsed, "namespaces flagged": s.namespacesFlagged,
	}
	for _, k := range genKinds {
		counts[k.kind+" objects"] = s.kinds[k.kind]
	}
	for name, n := range counts {
		if n < 20 {
			t.Errorf("the generator made only %d %s; want at least 20", n, name)
		}
	}
}

// shrinkCluster removes documents one at a time while the cluster still
// fails, and returns the smallest failing cluster found.
func shrinkCluster(docs []map[string]any, fails func([]map[string]any) bool) []map[string]any {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(docs); i++ {
			smaller := slices.Delete(slices.Clone(docs), i, i+1)
			if fails(smaller) {
				docs, changed = smaller, true
				i--
			}
		}
	}
	return docs
}

// The generator. Label keys and values come from small pools so that
// selectors often match; no selector names a label that controllers add
// to what they make (pod-template-hash, controller-revision-hash,
// job-name, ...), so that a controller and its pods get one verdict.
var (
	genLabelKeys   = []string{"app", "tier", "team", "app.kubernetes.io/name"}
	genLabelValues = []string{"web", "api", "db", ""}
	genNamespaces  = []string{"default", "shop", "pay", "team-a", "kube-public", "kube-system"}
)

// gen builds one cluster from a seed.
type gen struct {
	rng  *rand.Rand
	docs []map[string]any
	n    int // names objects uniquely
}

// generateCluster returns the documents of one generated cluster: a few
// namespaces (some declared, with labels), workloads of every kind (some
// without namespace, some on the host network, some mirror pods, some
// controllers with what they made) and NetworkPolicies.
func generateCluster(seed uint64) []map[string]any {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x5_3_2))}
	var namespaces []string
	for _, i := range g.rng.Perm(len(genNamespaces))[:2+g.rng.IntN(3)] {
		ns := genNamespaces[i]
		if ns == "kube-system" && g.rng.IntN(2) == 0 {
			continue // less often than the others
		}
		namespaces = append(namespaces, ns)
		if g.rng.IntN(3) > 0 {
			g.add(map[string]any{"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": ns, "labels": g.labels(2)}})
		}
	}
	if len(namespaces) == 0 {
		namespaces = []string{"default"}
	}
	pick := func() string { return namespaces[g.rng.IntN(len(namespaces))] }
	for range 2 + g.rng.IntN(7) {
		if g.rng.IntN(4) == 0 {
			g.controllerFamily(pick())
		} else {
			g.standalone(pick())
		}
	}
	for range g.rng.IntN(7) {
		g.policy(pick())
	}
	// Shuffle, so that owners come before or after what they own.
	g.rng.Shuffle(len(g.docs), func(i, j int) { g.docs[i], g.docs[j] = g.docs[j], g.docs[i] })
	return g.docs
}

func (g *gen) add(doc map[string]any) { g.docs = append(g.docs, doc) }

func (g *gen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s-%d", prefix, g.n)
}

func (g *gen) pickOne(from []string) string { return from[g.rng.IntN(len(from))] }

// labels returns up to max labels from the pools.
func (g *gen) labels(max int) map[string]any {
	out := map[string]any{}
	for range g.rng.IntN(max + 1) {
		out[g.pickOne(genLabelKeys)] = g.pickOne(genLabelValues)
	}
	return out
}

// meta returns the metadata of an object in ns; an object in "default"
// names no namespace half the time (a manifest applied without -n).
func (g *gen) meta(name, ns string) map[string]any {
	m := map[string]any{"name": name}
	if ns != "default" || g.rng.IntN(2) == 0 {
		m["namespace"] = ns
	}
	if g.rng.IntN(3) == 0 {
		m["labels"] = g.labels(2) // the object's own labels, which policies do not select
	}
	return m
}

// podTemplate returns a pod template with these labels.
func podTemplate(labels map[string]any, hostNetwork bool) map[string]any {
	spec := map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.example.com/app:1"}}}
	if hostNetwork {
		spec["hostNetwork"] = true
	}
	return map[string]any{"metadata": map[string]any{"labels": labels}, "spec": spec}
}

var genKinds = []struct{ apiVersion, kind string }{
	{"v1", "Pod"}, {"v1", "PodTemplate"}, {"v1", "ReplicationController"},
	{"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "DaemonSet"}, {"apps/v1", "ReplicaSet"},
	{"batch/v1", "Job"}, {"batch/v1", "CronJob"},
}

// standalone adds one workload of a random kind that no controller owns.
func (g *gen) standalone(ns string) {
	k := genKinds[g.rng.IntN(len(genKinds))]
	labels := g.labels(3)
	hostNetwork := g.rng.IntN(7) == 0
	name := g.name(strings.ToLower(k.kind))
	if k.kind == "Pod" && g.rng.IntN(5) == 0 {
		g.add(mirrorPod(g.meta(name, ns), labels, hostNetwork))
		return
	}
	g.add(workload(k.apiVersion, k.kind, g.meta(name, ns), labels, hostNetwork))
}

// workload builds a workload object of any kind around a pod template.
func workload(apiVersion, kind string, meta, labels map[string]any, hostNetwork bool) map[string]any {
	tmpl := podTemplate(labels, hostNetwork)
	doc := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	selector := map[string]any{"matchLabels": labels}
	switch kind {
	case "Pod":
		md := tmpl["metadata"].(map[string]any)
		for k, v := range meta {
			if k != "labels" {
				md[k] = v
			}
		}
		doc["metadata"], doc["spec"] = md, tmpl["spec"]
	case "PodTemplate":
		doc["template"] = tmpl
	case "ReplicationController":
		doc["spec"] = map[string]any{"selector": labels, "template": tmpl}
	case "CronJob":
		doc["spec"] = map[string]any{"schedule": "0 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}
	case "Job":
		doc["spec"] = map[string]any{"template": tmpl}
	default:
		doc["spec"] = map[string]any{"selector": selector, "template": tmpl}
	}
	return doc
}

// mirrorPod is the API server's copy of a static pod: the mirror
// annotation and the Node as controller.
func mirrorPod(meta, labels map[string]any, hostNetwork bool) map[string]any {
	meta["annotations"] = map[string]any{"kubernetes.io/config.mirror": "0123456789abcdef"}
	meta["ownerReferences"] = []any{map[string]any{"apiVersion": "v1", "kind": "Node", "name": "node-1",
		"uid": "node-uid-1", "controller": true}}
	return workload("v1", "Pod", meta, labels, hostNetwork)
}

// controllerFamily adds a controller and what it made (a Deployment, its
// ReplicaSet and Pods; a CronJob, its Job and Pod; a StatefulSet,
// DaemonSet, ReplicaSet, ReplicationController or Job and its Pods), each
// object present or not, as a live cluster or a partial dump has them.
// What a controller makes carries the labels of its template plus the
// labels the controller adds.
func (g *gen) controllerFamily(ns string) {
	labels := g.labels(3)
	hostNetwork := g.rng.IntN(7) == 0
	present := func() bool { return g.rng.IntN(3) > 0 }
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range labels {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	uid := func(name string) string { return "uid-" + name }
	owned := func(name string, owner map[string]any) map[string]any {
		m := g.meta(name, ns)
		m["uid"] = uid(name)
		if owner != nil {
			m["ownerReferences"] = []any{owner}
		}
		return m
	}
	ownerRef := func(apiVersion, kind, name string) map[string]any {
		return map[string]any{"apiVersion": apiVersion, "kind": kind, "name": name, "uid": uid(name),
			"controller": true, "blockOwnerDeletion": true}
	}
	pods := func(ownerAPIVersion, ownerKind, owner string, podLabels func(i int) map[string]any) {
		for i := range 1 + g.rng.IntN(2) {
			if present() {
				name := fmt.Sprintf("%s-%d", owner, i)
				g.add(workload("v1", "Pod", owned(name, ownerRef(ownerAPIVersion, ownerKind, owner)), podLabels(i), hostNetwork))
			}
		}
	}
	switch g.rng.IntN(6) {
	case 0: // Deployment → ReplicaSet → Pods
		d := g.name("deploy")
		hash := fmt.Sprintf("%08x", g.rng.Uint32())
		rs := d + "-" + hash
		if present() {
			g.add(workload("apps/v1", "Deployment", owned(d, nil), labels, hostNetwork))
		}
		hashed := with(map[string]any{"pod-template-hash": hash})
		if present() {
			g.add(workload("apps/v1", "ReplicaSet", owned(rs, ownerRef("apps/v1", "Deployment", d)), hashed, hostNetwork))
		}
		pods("apps/v1", "ReplicaSet", rs, func(int) map[string]any { return hashed })
	case 1: // CronJob → Job → Pod
		c := g.name("cron")
		j := c + "-29000000"
		if present() {
			g.add(workload("batch/v1", "CronJob", owned(c, nil), labels, hostNetwork))
		}
		jobLabels := with(map[string]any{"batch.kubernetes.io/job-name": j, "job-name": j,
			"batch.kubernetes.io/controller-uid": uid(j), "controller-uid": uid(j)})
		if present() {
			g.add(workload("batch/v1", "Job", owned(j, ownerRef("batch/v1", "CronJob", c)), jobLabels, hostNetwork))
		}
		pods("batch/v1", "Job", j, func(int) map[string]any { return jobLabels })
	case 2: // StatefulSet → Pods
		s := g.name("sts")
		if present() {
			g.add(workload("apps/v1", "StatefulSet", owned(s, nil), labels, hostNetwork))
		}
		pods("apps/v1", "StatefulSet", s, func(i int) map[string]any {
			return with(map[string]any{"controller-revision-hash": s + "-7f9c", "statefulset.kubernetes.io/pod-name": fmt.Sprintf("%s-%d", s, i)})
		})
	case 3: // DaemonSet → Pods
		ds := g.name("ds")
		if present() {
			g.add(workload("apps/v1", "DaemonSet", owned(ds, nil), labels, hostNetwork))
		}
		pods("apps/v1", "DaemonSet", ds, func(int) map[string]any {
			return with(map[string]any{"controller-revision-hash": "6b8d", "pod-template-generation": "1"})
		})
	case 4: // ReplicaSet or ReplicationController of no Deployment → Pods
		apiVersion, kind := "apps/v1", "ReplicaSet"
		if g.rng.IntN(2) == 0 {
			apiVersion, kind = "v1", "ReplicationController"
		}
		r := g.name(strings.ToLower(kind))
		if present() {
			g.add(workload(apiVersion, kind, owned(r, nil), labels, hostNetwork))
		}
		pods(apiVersion, kind, r, func(int) map[string]any { return labels })
	default: // Job of no CronJob → Pods
		j := g.name("job")
		jobLabels := with(map[string]any{"batch.kubernetes.io/job-name": j, "job-name": j})
		if present() {
			g.add(workload("batch/v1", "Job", owned(j, nil), jobLabels, hostNetwork))
		}
		pods("batch/v1", "Job", j, func(int) map[string]any { return jobLabels })
	}
}

// policy adds one NetworkPolicy in ns with a random selector, policyTypes
// and rules, each in the forms manifests write them (absent, empty, set).
func (g *gen) policy(ns string) {
	meta := g.meta(g.name("np"), ns)
	if g.rng.IntN(2) == 0 {
		// The lister holds it with policyTypes as the API server defaults
		// them; otherwise as written.
		meta["annotations"] = map[string]any{storeDefaultedAnnotation: "true"}
	}
	spec := map[string]any{}
	switch g.rng.IntN(8) {
	case 0: // no podSelector at all: the empty selector
	case 1:
		spec["podSelector"] = map[string]any{}
	case 2:
		spec["podSelector"] = map[string]any{"matchLabels": map[string]any{}, "matchExpressions": []any{}}
	default:
		spec["podSelector"] = g.selector()
	}
	switch g.rng.IntN(7) {
	case 0: // absent
	case 1:
		spec["policyTypes"] = []any{}
	case 2:
		spec["policyTypes"] = []any{"Ingress"}
	case 3:
		spec["policyTypes"] = []any{"Egress"}
	case 4:
		spec["policyTypes"] = []any{"Egress", "Ingress"}
	default:
		spec["policyTypes"] = []any{"Ingress", "Egress"}
	}
	if r := g.rules("from"); r != nil {
		spec["ingress"] = r
	}
	if r := g.rules("to"); r != nil {
		spec["egress"] = r
	}
	g.add(map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec})
}

// selector returns a label selector with matchLabels, matchExpressions of
// every operator, or both.
func (g *gen) selector() map[string]any {
	sel := map[string]any{}
	if g.rng.IntN(2) == 0 {
		sel["matchLabels"] = g.labels(2)
	}
	if g.rng.IntN(2) == 0 {
		var exprs []any
		for range 1 + g.rng.IntN(2) {
			key := g.pickOne(genLabelKeys)
			switch op := g.pickOne([]string{"In", "NotIn", "Exists", "DoesNotExist"}); op {
			case "In", "NotIn":
				values := []any{g.pickOne(genLabelValues)}
				if g.rng.IntN(2) == 0 {
					values = append(values, g.pickOne(genLabelValues))
				}
				exprs = append(exprs, map[string]any{"key": key, "operator": op, "values": values})
			default:
				exprs = append(exprs, map[string]any{"key": key, "operator": op})
			}
		}
		sel["matchExpressions"] = exprs
	}
	return sel
}

// rules returns an ingress or egress rule list (peer field "from" or
// "to"): nil for none, or an empty list, an allow-all rule, or rules with
// peers and ports. None of it changes which pods a policy isolates.
func (g *gen) rules(peers string) []any {
	switch g.rng.IntN(6) {
	case 0, 1:
		return nil
	case 2:
		return []any{}
	case 3:
		return []any{map[string]any{}}
	case 4:
		return []any{map[string]any{peers: []any{
			map[string]any{"podSelector": g.selector()},
			map[string]any{"namespaceSelector": map[string]any{"matchLabels": g.labels(1)}},
		}}}
	default:
		return []any{map[string]any{
			peers:   []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/8", "except": []any{"10.1.0.0/16"}}}},
			"ports": []any{map[string]any{"protocol": "UDP", "port": int64(53)}, map[string]any{"port": int64(8080), "endPort": int64(8090)}},
		}}
	}
}
