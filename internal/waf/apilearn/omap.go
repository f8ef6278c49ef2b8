package apilearn

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// omap is a mapping that keeps its keys in the order they were set, so
// that the draft reads as OpenAPI documents are written (openapi, info,
// paths…) and is the same for the same traffic.
type omap []kv

type kv struct {
	key string
	val any
}

func (m *omap) set(key string, val any) { *m = append(*m, kv{key, val}) }

// MarshalYAML implements yaml.Marshaler.
func (m omap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range m {
		var v yaml.Node
		if err := v.Encode(e.val); err != nil {
			return nil, fmt.Errorf("%s: %w", e.key, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.key}, &v)
	}
	return n, nil
}
