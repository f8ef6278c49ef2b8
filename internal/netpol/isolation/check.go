package isolation

import (
	"context"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
)

// Checks returns KOR-NET-001 and KOR-NET-002 as native checks over a set
// of objects (a scan's input, a fixture file).
func Checks() []rules.NativeCheck {
	return []rules.NativeCheck{
		&check{id: NamespaceCheckID, judge: Namespaces, kinds: func(g, k string) bool { return g == "" && k == "Namespace" }},
		&check{id: WorkloadCheckID, judge: Workloads, kinds: func(g, k string) bool {
			return k8s.IsWorkload(g, k) || (g == "networking.k8s.io" && k == "NetworkPolicy")
		}},
	}
}

type check struct {
	id    string
	judge func(*model.Cluster) []rules.Outcome
	kinds func(group, kind string) bool
}

var (
	_ rules.NativeCheck = (*check)(nil)
	_ rules.KindJudge   = (*check)(nil)
)

// Judges implements rules.KindJudge: the kinds the check judges, and for
// KOR-NET-002 the NetworkPolicies it reads.
func (c *check) Judges(group, kind string) bool { return c.kinds(group, kind) }

// ID implements rules.NativeCheck.
func (c *check) ID() string { return c.id }

// Evaluate implements rules.NativeCheck: it builds the network model of
// objs (as netpol does: NetworkPolicies the API server would reject are
// left out, objects owned by a loaded controller are judged through it)
// and judges it.
func (c *check) Evaluate(ctx context.Context, objs []*k8s.Object) ([]rules.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cluster, _ := model.FromObjects(objs)
	return c.judge(cluster), nil
}
