package k8s

import (
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// BuildKustomization runs kustomize build on dir with kustomize's Go API and
// decodes the result. Objects carry the kustomization folder as Source.File
// (kustomize output has no lines of its own). A kustomization that fails to
// build is a returned error.
func BuildKustomization(dir string) ([]*Object, []*InputError, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	objs, errs := Decode(out, dir)
	for _, o := range objs {
		o.Source.Line = 0
	}
	return objs, errs, nil
}
