package k8s

import (
	"context"
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, p := range []string{"../../examples/plain", "../../examples/helm/shop", "../../examples/kustomize/base", "../../examples/kustomize/overlays/production"} {
		l, err := LoadPaths(context.Background(), []string{p}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(p, len(l.Objects), l.Errors, l.Warnings)
		for _, o := range l.Objects {
			fmt.Println("  ", o.Source, o.Ref())
		}
	}
}
