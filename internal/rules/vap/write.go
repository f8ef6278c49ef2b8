package vap

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Write prints the export as multi-document YAML, ready for kubectl apply:
// a comment that summarises the export and lists the skipped rules, then
// each rule's policy followed by its binding. The output depends only on
// the export, so repeated exports of the same rules are identical.
func (e *Export) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	minVersion := e.MinKubernetes
	if minVersion == nil {
		minVersion = OldestKubernetes
	}
	fmt.Fprintf(bw, "# Kordon rules as ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) for Kubernetes %d.%d or later.\n",
		minVersion.Major(), minVersion.Minor())
	fmt.Fprintf(bw, "# %d rules exported, each as a policy and a binding of the same name; %d skipped.\n", len(e.Policies), len(e.Skipped))
	if len(e.Policies) > 0 {
		p, b := e.Policies[0].Policy, e.Policies[0].Binding
		namespaces := "all namespaces"
		if mr := b.Spec.MatchResources; mr != nil && mr.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(mr.NamespaceSelector)
			if err != nil {
				return fmt.Errorf("write admission policies: namespace selector: %w", err)
			}
			namespaces = "namespaces " + sel.String()
		}
		failure := admissionv1.Fail // the API server's default
		if p.Spec.FailurePolicy != nil {
			failure = *p.Spec.FailurePolicy
		}
		fmt.Fprintf(bw, "# %s; failure policy %s, %s.\n", upperFirst(e.ActionSummary()), failure, namespaces)
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(bw, "# Skipped rules (run them with kordon scan or the kordon admission webhook):\n")
		for _, s := range e.Skipped {
			fmt.Fprintf(bw, "#   %s: %s\n", s.RuleID, s.Reason)
		}
	}
	for _, p := range e.Policies {
		comments := []string{
			fmt.Sprintf("%s: %s (severity %s)", p.Rule.ID, oneLine(p.Rule.Title), p.Rule.Severity),
			fmt.Sprintf("%s binding: %s (%s)", p.Rule.ID, actionsText(p.Binding.Spec.ValidationActions), p.ActionReason),
		}
		for i, obj := range []any{p.Policy, p.Binding} {
			data, err := marshal(obj)
			if err != nil {
				return fmt.Errorf("write policy for rule %s: %w", p.Rule.ID, err)
			}
			bw.WriteString("---\n# " + comments[i] + "\n")
			bw.Write(data)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write admission policies: %w", err)
	}
	return nil
}

// marshal prints an API object as YAML without its (empty) status, keys
// sorted as kubectl prints them, and CEL expressions as literal blocks so
// that they read as written.
func marshal(obj any) ([]byte, error) {
	m, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := doc.Encode(m); err != nil {
		return nil, err
	}
	literalExpressions(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// literalExpressions sets the literal block style on the values of
// expression and messageExpression keys.
func literalExpressions(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && (k.Value == "expression" || k.Value == "messageExpression") {
				v.Style = yaml.LiteralStyle
			}
		}
	}
	for _, c := range n.Content {
		literalExpressions(c)
	}
}

// ActionSummary says in one line what the bindings do: how many rules deny
// and how many warn, and from which severity, or the actions set for every
// rule.
func (e *Export) ActionSummary() string {
	if len(e.Actions) > 0 {
		return fmt.Sprintf("validation actions %s for every rule", actionsText(e.Actions))
	}
	deny, warn := 0, 0
	for _, p := range e.Policies {
		if p.Rule.Severity >= e.DenySeverity {
			deny++
		} else {
			warn++
		}
	}
	return fmt.Sprintf("%s violations (severity %s and above), %s (below %s)",
		counted(deny, "rule denies", "rules deny"), e.DenySeverity, counted(warn, "rule warns", "rules warn"), e.DenySeverity)
}

// counted prints n followed by the singular or the plural phrase.
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// actionsText prints validation actions as Deny, Warn+Audit...
func actionsText(actions []admissionv1.ValidationAction) string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = string(a)
	}
	return strings.Join(out, "+")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// WriteJSON prints the export as one JSON document, a v1 List of each
// rule's policy followed by its binding, ready for kubectl apply. JSON has
// no comments: the skipped rules are left out, and each binding's
// AnnotationActionReason says why it denies or warns.
func (e *Export) WriteJSON(w io.Writer) error {
	items := make([]any, 0, 2*len(e.Policies))
	for _, p := range e.Policies {
		for _, obj := range []any{p.Policy, p.Binding} {
			m, err := toMap(obj)
			if err != nil {
				return fmt.Errorf("write policy for rule %s: %w", p.Rule.ID, err)
			}
			items = append(items, m)
		}
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return fmt.Errorf("write admission policies: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write admission policies: %w", err)
	}
	return nil
}

// toMap turns an API object into its JSON map, without its (empty) status.
func toMap(obj any) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return m, nil
}
