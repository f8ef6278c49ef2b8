package model

import (
	"os"
	"testing"

	"github.com/kordon-dev/kordon/internal/k8s"
)

// FuzzFromObjects feeds arbitrary YAML through the decoder and the model
// builder: it must never panic, and every policy it keeps must be valid.
func FuzzFromObjects(f *testing.F) {
	for _, path := range []string{"../reference/testdata/cluster.yaml", "../render/testdata/shop.yaml", "../lint/testdata/lint.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(owned))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := k8s.Decode(data, "fuzz.yaml")
		c, _ := FromObjects(objs)
		for _, p := range c.Policies {
			if p.Namespace == "" {
				t.Fatalf("policy %s without namespace", p.Name)
			}
			if err := p.PodSelector.Validate(); err != nil {
				t.Fatalf("policy %s kept with invalid selector: %v", p.ID(), err)
			}
			for _, rules := range [][]Rule{p.Ingress, p.Egress} {
				for _, r := range rules {
					for _, port := range r.Ports {
						if port.EndPort != 0 && (port.Name != "" || port.EndPort < port.Port) {
							t.Fatalf("policy %s kept with invalid port %+v", p.ID(), port)
						}
					}
				}
			}
		}
		for _, ns := range c.Namespaces {
			if ns.Labels[MetadataNameLabel] != ns.Name {
				t.Fatalf("namespace %s lacks its name label", ns.Name)
			}
		}
	})
}
