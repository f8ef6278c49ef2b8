package config

import (
	"errors"
	"testing"

	"github.com/kordon-dev/kordon/internal/strictyaml"
)

// FuzzParse: any input gives a configuration or a *strictyaml.Error whose
// problems all name the file, never a panic; a parsed configuration's
// flags all have names and positions.
func FuzzParse(f *testing.F) {
	f.Add([]byte(applyConfig))
	f.Add([]byte("apiVersion: kordon.dev/v1alpha1\nkind: Config\nexceptions: [{rule: A, reason: b}]\nparameters: {R: {p: [1]}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			var se *strictyaml.Error
			if !errors.As(err, &se) || len(se.Problems) == 0 {
				t.Fatalf("error %v is not a *strictyaml.Error with problems", err)
			}
			for _, p := range se.Problems {
				if p.File != "f.yaml" {
					t.Fatalf("problem %q without the file", p)
				}
			}
			return
		}
		for _, fl := range cfg.Flags {
			if fl.Name == "" && fl.Field == "" {
				t.Fatalf("flag without name or field: %+v", fl)
			}
		}
	})
}
