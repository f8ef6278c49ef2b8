package lint

import (
	"errors"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/netpol/isolation"
	"github.com/kordon-dev/kordon/internal/netpol/model"
	"github.com/kordon-dev/kordon/internal/rules"
)

// The IDs lint reports. KOR-NETPOL-001 and 002 are aliases of the
// catalogue's KOR-NET-001 and KOR-NET-002, decided by package isolation as
// kordon scan decides them; the rest are lint's own checks. Titles,
// severities, controls and remediations are in the catalogue
// (internal/rules/packs: network.yaml and netpol-lint.yaml).
const (
	NamespaceWithoutPolicyID = "KOR-NETPOL-001"
	WorkloadNotIsolatedID    = "KOR-NETPOL-002"
	PolicySelectsNothingID   = "KOR-NETPOL-003"
	PeerMatchesNothingID     = "KOR-NETPOL-004"
	RedundantRuleID          = "KOR-NETPOL-005"
	BroadRuleID              = "KOR-NETPOL-006"
	MissingDNSID             = "KOR-NETPOL-007"
	UnresolvedNamedPortID    = "KOR-NETPOL-008"
)

// IDs returns every ID lint reports, in order.
func IDs() []string {
	return []string{NamespaceWithoutPolicyID, WorkloadNotIsolatedID, PolicySelectsNothingID, PeerMatchesNothingID,
		RedundantRuleID, BroadRuleID, MissingDNSID, UnresolvedNamedPortID}
}

// Result is what one lint run found.
type Result struct {
	// Findings are sorted.
	Findings []finding.Finding
	// Tallies count, per check, the namespaces, workloads or policies
	// judged (for compliance scores).
	Tallies []finding.RuleTally
}

// Run lints the cluster. The catalogue supplies every check's metadata; it
// fails only when the catalogue lacks one of lint's checks.
func Run(cat *rules.Catalogue, c *model.Cluster) (*Result, error) {
	l, err := run(cat, c)
	if err != nil {
		return nil, err
	}
	return &Result{Findings: l.out, Tallies: l.tallies}, nil
}

func run(cat *rules.Catalogue, c *model.Cluster) (*linter, error) {
	l := &linter{c: c, cat: cat}
	l.selected = make([][]*model.Workload, len(c.Policies))
	for i := range c.Policies {
		for j := range c.Workloads {
			if c.Policies[i].Selects(&c.Workloads[j]) {
				l.selected[i] = append(l.selected[i], &c.Workloads[j])
			}
		}
	}
	l.shared(NamespaceWithoutPolicyID, isolation.Namespaces(c))
	l.shared(WorkloadNotIsolatedID, isolation.Workloads(c))
	l.emptyPolicies()
	l.peers()
	l.redundant()
	l.broad()
	l.dns()
	l.namedPorts()
	for _, id := range []string{PolicySelectsNothingID, PeerMatchesNothingID, RedundantRuleID, BroadRuleID, UnresolvedNamedPortID} {
		l.tally(id, len(c.Policies))
	}
	l.tally(MissingDNSID, len(c.Workloads))
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	finding.Sort(l.out)
	return l, nil
}

type linter struct {
	c              *model.Cluster
	cat            *rules.Catalogue
	selected       [][]*model.Workload // per policy
	out            []finding.Finding
	tallies        []finding.RuleTally
	errs           []error
	redundantRules []ruleRef // the rules KOR-NETPOL-005 reports
}

// ruleRef names one rule: policy index, direction, rule index.
type ruleRef struct {
	policy int
	dir    model.Direction
	rule   int
}

// shared reports the outcomes of a check lint shares with other engines,
// under lint's ID for it.
func (l *linter) shared(id string, outcomes []rules.Outcome) {
	for _, o := range outcomes {
		if o.Failed {
			l.emit(id, o)
		}
	}
	l.tally(id, len(outcomes))
}

func (l *linter) tally(id string, evaluated int) {
	r, ok := l.cat.Lookup(id)
	if !ok {
		l.errs = append(l.errs, errors.New("lint check "+id+" is not in the catalogue"))
		return
	}
	l.tallies = append(l.tallies, finding.RuleTally{RuleID: id, Controls: r.Controls, Evaluated: evaluated})
}

func (l *linter) add(id string, res finding.Resource, src k8s.Source, msg string) {
	o := rules.Outcome{Resource: res, Failed: true, Message: msg}
	if src.File != "" {
		o.Location = &finding.Location{File: src.File, Line: src.Line}
	}
	l.emit(id, o)
}

func (l *linter) emit(id string, o rules.Outcome) {
	f, err := l.cat.Finding(id, o)
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	l.out = append(l.out, f)
}

func policyResource(p *model.Policy) finding.Resource {
	return finding.Resource{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name}
}

func workloadResource(w *model.Workload) finding.Resource {
	return finding.Resource{APIVersion: w.APIVersion, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
}
