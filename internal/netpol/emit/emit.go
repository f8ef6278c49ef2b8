package emit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kordon-dev/kordon/internal/netpol/model"
)

// Size limits of one policy, as the JSON that kubectl sends.
const (
	// DefaultMaxBytes keeps a policy applicable with client-side kubectl
	// apply, which copies the whole object into the annotation
	// kubectl.kubernetes.io/last-applied-configuration: the API server
	// limits an object's annotations to 256 KiB in total.
	DefaultMaxBytes = 200 * 1024
	// LimitBytes is the largest MaxBytes: etcd's default request limit
	// (1.5 MiB). The API server itself takes requests of up to 3 MiB.
	LimitBytes = 1536 * 1024
	// MinBytes is the smallest MaxBytes: room for a policy's metadata and
	// selector and for the largest rule that cannot be split (one peer and
	// one port).
	MinBytes = 64 * 1024
)

// Labels and annotations of the parts of a split policy.
const (
	// LabelSplitFrom is set on every part to the name of the policy that
	// was split (a label value: derived as LabelValue does), so that
	// kubectl get networkpolicies -l kordon.dev/split-from=NAME lists them.
	LabelSplitFrom = "kordon.dev/split-from"
	// AnnotationPart says which part a policy is: "2 of 3".
	AnnotationPart = "kordon.dev/part"
)

// Options tunes Policies.
type Options struct {
	// MaxBytes bounds the JSON size of one policy, from MinBytes to
	// LimitBytes; 0 means DefaultMaxBytes.
	MaxBytes int
}

// Result is the policies ready to write.
type Result struct {
	// Policies are valid NetworkPolicy objects, sorted by namespace and
	// name, each at most Options.MaxBytes of JSON.
	Policies []map[string]any
	// Changes say which policies were renamed or split, one line each.
	Changes []string
	// Invalid are objects left out because the API server would still
	// reject them ("namespace/name: errors").
	Invalid []string
}

// Policies renames, splits and validates NetworkPolicy objects (as
// JSON-compatible maps) for writing; see the package documentation. The
// objects are not modified. The error is for options out of range and for
// a rule that cannot be made small enough.
func Policies(objs []map[string]any, opts Options) (*Result, error) {
	max := cmp.Or(opts.MaxBytes, DefaultMaxBytes)
	if max < MinBytes || max > LimitBytes {
		return nil, fmt.Errorf("policy size limit %d bytes: want %d to %d bytes", max, MinBytes, LimitBytes)
	}
	res := &Result{Policies: []map[string]any{}, Changes: []string{}, Invalid: []string{}}
	var out []map[string]any
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		ns, _ := md["namespace"].(string)
		name, _ := md["name"].(string)
		if valid := Name(name); valid != name {
			o = withName(o, valid)
			res.Changes = append(res.Changes, fmt.Sprintf("renamed %s/%s to %s: %s", ns, name, valid, nameProblem(name)))
			name = valid
		}
		parts, size, err := split(o, max)
		if err != nil {
			return nil, fmt.Errorf("policy %s/%s: %w", ns, name, err)
		}
		if len(parts) > 1 {
			var names []string
			for _, p := range parts {
				names = append(names, nameOf(p))
			}
			res.Changes = append(res.Changes, fmt.Sprintf("split %s/%s (%d bytes) into %d policies of at most %d bytes with the same podSelector, labelled %s=%s: %s",
				ns, name, size, len(parts), max, LabelSplitFrom, LabelValue(name), strings.Join(names, ", ")))
		}
		out = append(out, parts...)
	}
	out = unique(out, res)
	for _, o := range out {
		if err := Validate(o, max); err != nil {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s/%s: %v", namespaceOf(o), nameOf(o), err))
			continue
		}
		res.Policies = append(res.Policies, o)
	}
	slices.SortStableFunc(res.Policies, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(namespaceOf(a), namespaceOf(b)), cmp.Compare(nameOf(a), nameOf(b)))
	})
	return res, nil
}

// Validate returns an error when the API server would reject the object
// (model.DecodePolicy and model.ValidatePolicy for a new object) or when
// its JSON is larger than maxBytes.
func Validate(o map[string]any, maxBytes int) error {
	np, err := model.DecodePolicy(o)
	if err != nil {
		return err
	}
	var msgs []string
	for _, e := range model.ValidatePolicy(np, model.ValidateCreate) {
		msgs = append(msgs, e.Error())
	}
	if size := jsonSize(o); size > maxBytes {
		msgs = append(msgs, fmt.Sprintf("%d bytes of JSON, more than %d", size, maxBytes))
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// unique renames the later of two objects with the same namespace and name
// (which only hash collisions or names made to look like derived ones can
// cause).
func unique(objs []map[string]any, res *Result) []map[string]any {
	seen := map[string]bool{}
	for _, o := range objs {
		seen[namespaceOf(o)+"/"+nameOf(o)] = false
	}
	for i, o := range objs {
		ns, name := namespaceOf(o), nameOf(o)
		if !seen[ns+"/"+name] {
			seen[ns+"/"+name] = true
			continue
		}
		for k := 2; ; k++ {
			alt := Name(fmt.Sprintf("%s-%d", name, k))
			if _, taken := seen[ns+"/"+alt]; !taken {
				seen[ns+"/"+alt] = true
				objs[i] = withName(o, alt)
				res.Changes = append(res.Changes, fmt.Sprintf("renamed %s/%s to %s: another policy has that name", ns, name, alt))
				break
			}
		}
	}
	return objs
}

func namespaceOf(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	s, _ := md["namespace"].(string)
	return s
}

func nameOf(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}

// withName returns a copy of o with another name.
func withName(o map[string]any, name string) map[string]any {
	out := maps.Clone(o)
	md, _ := o["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	md["name"] = name
	out["metadata"] = md
	return out
}

func jsonSize(v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		return 0 // Validate reports what does not encode
	}
	return len(data)
}

// split returns the object, or the parts it is split into when its JSON
// (whose size it also returns) is larger than max.
func split(o map[string]any, max int) ([]map[string]any, int, error) {
	size := jsonSize(o)
	spec, _ := o["spec"].(map[string]any)
	if size <= max || spec == nil {
		return []map[string]any{o}, size, nil
	}
	name := nameOf(o)
	base := maps.Clone(o)
	baseSpec := maps.Clone(spec)
	delete(baseSpec, "ingress")
	delete(baseSpec, "egress")
	baseSpec["policyTypes"] = policyTypes(spec)
	base["spec"] = baseSpec
	// Room for the rules: what the object without rules leaves, less the
	// keys of the rule lists and the part's longer name, label and
	// annotation.
	budget := max - jsonSize(base) - len(`,"ingress":[],"egress":[]`) - 2*253 - 128
	if budget < MinBytes/2 {
		return nil, 0, fmt.Errorf("the policy without its rules takes %d of %d bytes", jsonSize(base), max)
	}
	type item struct {
		key  string
		rule any
		size int
	}
	var items []item
	for _, key := range []string{"ingress", "egress"} {
		peerKey := map[string]string{"ingress": "from", "egress": "to"}[key]
		rules, _ := spec[key].([]any)
		for _, r := range rules {
			fitted, err := fit(r, peerKey, budget)
			if err != nil {
				return nil, 0, fmt.Errorf("spec.%s: %w", key, err)
			}
			for _, f := range fitted {
				items = append(items, item{key, f, jsonSize(f)})
			}
		}
	}
	var groups [][]item
	used := budget + 1
	for _, it := range items {
		if used+it.size+1 > budget {
			groups = append(groups, nil)
			used = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], it)
		used += it.size + 1
	}
	parts := make([]map[string]any, len(groups))
	for i, g := range groups {
		p := maps.Clone(base)
		ps := maps.Clone(baseSpec)
		for _, it := range g {
			list, _ := ps[it.key].([]any)
			ps[it.key] = append(list, it.rule)
		}
		p["spec"] = ps
		md := maps.Clone(p["metadata"].(map[string]any))
		if i > 0 {
			md["name"] = Name(fmt.Sprintf("%s-part-%d", name, i+1))
		}
		md["labels"] = withEntry(md["labels"], LabelSplitFrom, LabelValue(name))
		md["annotations"] = withEntry(md["annotations"], AnnotationPart, fmt.Sprintf("%d of %d", i+1, len(groups)))
		p["metadata"] = md
		parts[i] = p
	}
	return parts, size, nil
}

// withEntry returns a copy of a labels or annotations map (as
// map[string]any or map[string]string, or nil) with one more entry.
func withEntry(m any, key, value string) map[string]any {
	out := map[string]any{}
	switch m := m.(type) {
	case map[string]any:
		maps.Copy(out, m)
	case map[string]string:
		for k, v := range m {
			out[k] = v
		}
	}
	out[key] = value
	return out
}

// policyTypes returns the policy types of a spec, with the API server's
// defaults when it has none: a part must isolate what the whole policy
// isolated, whichever rules it holds.
func policyTypes(spec map[string]any) []any {
	if t, ok := spec["policyTypes"].([]any); ok && len(t) > 0 {
		return t
	}
	types := []any{"Ingress"}
	if e, _ := spec["egress"].([]any); len(e) > 0 {
		types = append(types, "Egress")
	}
	return types
}

// fit returns the rule, or rules that together allow what it allows, each
// at most budget bytes of JSON: a rule's peers and ports are shared out
// between copies of it. When one of the lists takes at most half the
// budget it stays whole and the other is cut; when both are larger, the
// ports are cut into pieces of half the budget and the peers fill the rest.
func fit(r any, peerKey string, budget int) ([]any, error) {
	size := jsonSize(r)
	if size <= budget {
		return []any{r}, nil
	}
	rule, ok := r.(map[string]any)
	if !ok {
		return []any{r}, nil // Validate reports it
	}
	peers, _ := rule[peerKey].([]any)
	ports, _ := rule["ports"].([]any)
	cutPeers := len(peers) > 1 && (len(ports) < 2 || jsonSize(ports) <= budget/2)
	cutPorts := len(ports) > 1 && !cutPeers
	var pieces []map[string]any
	switch {
	case cutPeers:
		for _, c := range chunks(rule, peerKey, peers, budget) {
			pieces = append(pieces, with(rule, peerKey, c))
		}
	case cutPorts && len(peers) > 1 && jsonSize(peers) > budget/2:
		for _, c := range chunks(with(rule, peerKey, []any{}), "ports", ports, budget/2) {
			pieces = append(pieces, with(rule, "ports", c))
		}
	case cutPorts:
		for _, c := range chunks(rule, "ports", ports, budget) {
			pieces = append(pieces, with(rule, "ports", c))
		}
	default:
		return nil, fmt.Errorf("a rule of %d bytes with one peer and one port does not fit in %d bytes", size, budget)
	}
	var out []any
	for _, p := range pieces {
		more, err := fit(p, peerKey, budget)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// with returns a copy of rule with field set to list.
func with(rule map[string]any, field string, list []any) map[string]any {
	c := maps.Clone(rule)
	c[field] = list
	return c
}

// chunks cuts list into consecutive pieces such that the rule with one
// piece as its field is at most budget bytes (a piece of one element may
// be larger). There are at least two pieces when the rule with the whole
// list is larger than budget.
func chunks(rule map[string]any, field string, list []any, budget int) [][]any {
	empty := maps.Clone(rule)
	empty[field] = []any{}
	overhead := jsonSize(empty)
	var out [][]any
	used := budget + 1
	for _, x := range list {
		s := jsonSize(x) + 1
		if used+s > budget {
			out = append(out, nil)
			used = overhead
		}
		out[len(out)-1] = append(out[len(out)-1], x)
		used += s
	}
	return out
}
