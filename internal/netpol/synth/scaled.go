package synth

import (
	"fmt"
	"net/netip"

	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// Scaled returns a realistic cluster for benchmarks: workloads spread over
// one namespace per 25 workloads, each with a unique app label, a tier, a
// team and named ports; and policies of the kinds real clusters hold —
// namespace default denies, tier-to-tier allowances within and across
// namespaces (with label expressions), monitoring scrapes, DNS egress and
// ipBlock rules with exceptions — until there are the given number.
func Scaled(src Source, workloads, policies int) *model.Cluster {
	c := &model.Cluster{}
	nsCount := max(1, workloads/25)
	envs := []string{"prod", "staging", "dev"}
	tiers := []string{"web", "api", "db", "cache", "worker"}
	for i := range nsCount {
		c.Namespaces = append(c.Namespaces, model.Namespace{Name: fmt.Sprintf("ns-%d", i), Labels: map[string]string{
			"team": fmt.Sprintf("team-%d", i%10), "env": envs[i%3],
		}})
	}
	c.Namespaces = append(c.Namespaces, model.Namespace{Name: "monitoring", Labels: map[string]string{"team": "obs"}},
		model.Namespace{Name: "kube-system"})
	c.Workloads = append(c.Workloads,
		model.Workload{Namespace: "monitoring", Name: "prometheus", Kind: "StatefulSet", Labels: map[string]string{"app": "prometheus"}},
		model.Workload{Namespace: "kube-system", Name: "coredns", Kind: "Deployment", Labels: map[string]string{"k8s-app": "kube-dns"},
			Ports: []model.ContainerPort{{Name: "dns", Protocol: portset.UDP, Port: 53}, {Name: "dns-tcp", Protocol: portset.TCP, Port: 53}}})
	for i := len(c.Workloads); i < workloads; i++ {
		ns := i % nsCount
		tier := tiers[src.IntN(len(tiers))]
		w := model.Workload{
			Namespace: fmt.Sprintf("ns-%d", ns), Name: fmt.Sprintf("app-%d", i), Kind: "Deployment",
			Labels: map[string]string{"app": fmt.Sprintf("app-%d", i), "tier": tier, "team": fmt.Sprintf("team-%d", ns%10)},
			Ports: []model.ContainerPort{
				{Name: "http", Protocol: portset.TCP, Port: int32(8000 + src.IntN(100))},
				{Name: "metrics", Protocol: portset.TCP, Port: 9090},
			},
		}
		if src.IntN(4) == 0 {
			w.Labels["version"] = []string{"v1", "v2"}[src.IntN(2)]
		}
		c.Workloads = append(c.Workloads, w)
	}
	n := 0
	add := func(p model.Policy) {
		p.Name = fmt.Sprintf("%s-%d", p.Name, n)
		n++
		c.Policies = append(c.Policies, p)
	}
	for i := 0; n < policies; i++ {
		ns := fmt.Sprintf("ns-%d", i%nsCount)
		if i < nsCount {
			add(model.Policy{Namespace: ns, Name: "default-deny", AffectsIngress: true, AffectsEgress: true})
			add(model.Policy{Namespace: ns, Name: "allow-dns", AffectsEgress: true, Egress: []model.Rule{{
				Peers: []model.Peer{{NamespaceSelector: sel(model.MetadataNameLabel, "kube-system"), PodSelector: sel("k8s-app", "kube-dns")}},
				Ports: []model.Port{{Protocol: portset.UDP, Port: 53}, {Protocol: portset.TCP, Port: 53}},
			}}})
			continue
		}
		app := fmt.Sprintf("app-%d", src.IntN(workloads))
		switch src.IntN(5) {
		case 0: // web → app on the named http port, within the namespace
			add(model.Policy{Namespace: ns, Name: "allow-web", PodSelector: *sel("app", app), AffectsIngress: true, Ingress: []model.Rule{{
				Peers: []model.Peer{{PodSelector: sel("tier", "web")}},
				Ports: []model.Port{{Protocol: portset.TCP, Name: "http"}},
			}}})
		case 1: // api tier from prod namespaces, with an expression
			add(model.Policy{Namespace: ns, Name: "allow-api", PodSelector: *sel("tier", "api"), AffectsIngress: true, Ingress: []model.Rule{{
				Peers: []model.Peer{{
					NamespaceSelector: &model.Selector{MatchExpressions: []model.Requirement{{Key: "env", Operator: model.OpIn, Values: []string{"prod", "staging"}}}},
					PodSelector:       &model.Selector{MatchExpressions: []model.Requirement{{Key: "tier", Operator: model.OpIn, Values: []string{"web", "api"}}}},
				}},
				Ports: []model.Port{{Protocol: portset.TCP, Port: 8000, EndPort: 8099}},
			}}})
		case 2: // monitoring scrapes metrics
			add(model.Policy{Namespace: ns, Name: "allow-metrics", AffectsIngress: true, Ingress: []model.Rule{{
				Peers: []model.Peer{{NamespaceSelector: sel("team", "obs"), PodSelector: sel("app", "prometheus")}},
				Ports: []model.Port{{Protocol: portset.TCP, Name: "metrics"}},
			}}})
		case 3: // egress to databases in prod namespaces
			add(model.Policy{Namespace: ns, Name: "allow-db", PodSelector: *sel("app", app), AffectsEgress: true, Egress: []model.Rule{{
				Peers: []model.Peer{{NamespaceSelector: sel("env", "prod"), PodSelector: sel("tier", "db")}},
				Ports: []model.Port{{Protocol: portset.TCP, Port: 5432}},
			}}})
		default: // external partners by address, with exceptions
			cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(src.IntN(256)), byte(src.IntN(256)), 0}), 24)
			except := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, cidr.Addr().As4()[1], cidr.Addr().As4()[2], byte(src.IntN(16) * 16)}), 28)
			add(model.Policy{Namespace: ns, Name: "allow-partner", PodSelector: *sel("tier", "api"), AffectsIngress: true, AffectsEgress: true,
				Ingress: []model.Rule{{Peers: []model.Peer{{IPBlock: &model.IPBlock{CIDR: cidr, Except: []netip.Prefix{except}}}}, Ports: []model.Port{{Protocol: portset.TCP, Port: 443}}}},
				Egress:  []model.Rule{{Peers: []model.Peer{{IPBlock: &model.IPBlock{CIDR: cidr}}}, Ports: []model.Port{{Protocol: portset.TCP, Port: 443}}}},
			})
		}
	}
	c.Normalize()
	return c
}

func sel(k, v string) *model.Selector { return &model.Selector{MatchLabels: map[string]string{k: v}} }
