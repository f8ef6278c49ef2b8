package netmap

import (
	"encoding/json"
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kordon-dev/kordon/internal/netpol/compile"
	"github.com/kordon-dev/kordon/internal/netpol/diff"
	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// MaxChanges bounds the connectivity changes a preview lists.
const MaxChanges = 1000

// Preview is what applying a compiled intent would do.
type Preview struct {
	// Policies are the generated NetworkPolicies (YAML), as
	// `kordon netpol compile` writes them.
	Policies string `json:"policies"`
	// Notes say which policies were renamed or split.
	Notes []string `json:"notes"`
	// Changes are the connections whose allowed ports change when the
	// policies are applied beside the inventory's (a policy of the same
	// namespace and name replaces the inventory's), at most MaxChanges.
	Changes []diff.Change `json:"changes"`
	// Total is the number of changes.
	Total int `json:"total"`
}

// Preview compiles an intent (the `kordon netpol compile` format) and
// compares the connectivity of the inventory before and after its
// policies are applied. An error says what is wrong with the intent.
func (m *Map) Preview(intent []byte) (*Preview, error) {
	in, err := compile.Parse(intent)
	if err != nil {
		return nil, err
	}
	out, err := compile.Compile(in, compile.Options{})
	if err != nil {
		return nil, err
	}
	text, err := compile.Marshal(out.Policies)
	if err != nil {
		return nil, err
	}
	added := make([]model.Policy, 0, len(out.Policies))
	for _, obj := range out.Policies {
		raw, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(raw, &np); err != nil {
			return nil, fmt.Errorf("generated policy: %w", err)
		}
		p, err := model.PolicyFromAPI(&np)
		if err != nil {
			return nil, fmt.Errorf("generated policy %s/%s: %w", np.Namespace, np.Name, err)
		}
		added = append(added, *p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cluster
	after := &model.Cluster{Namespaces: slices.Clone(old.Namespaces), Workloads: slices.Clone(old.Workloads)}
	replaced := map[string]bool{}
	for i := range added {
		replaced[added[i].ID()] = true
	}
	for _, p := range old.Policies {
		if !replaced[p.ID()] {
			after.Policies = append(after.Policies, p)
		}
	}
	after.Policies = append(after.Policies, added...)
	after.Normalize()
	changes := incrementalDiff(old, after)
	pv := &Preview{Policies: string(text), Notes: out.Changes, Total: len(changes), Changes: changes[:min(len(changes), MaxChanges)]}
	if pv.Notes == nil {
		pv.Notes = []string{}
	}
	if pv.Changes == nil {
		pv.Changes = []diff.Change{}
	}
	return pv, nil
}
