package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// originAnnotation is where kustomize records the file a resource came from
// when a kustomization asks for buildMetadata: [originAnnotations].
const originAnnotation = "config.kubernetes.io/origin"

// BuildKustomization runs kustomize build on dir with kustomize's Go API and
// decodes the result. Each object carries the file it was defined in, as
// kustomize's origin tracking reports it (a base's resource file, or the
// kustomization whose generator made it), and the line where it starts in
// that file when the object can be found there (0 otherwise). The origin
// annotation is used only for this and removed again unless the
// kustomization itself asks for it. A kustomization that fails to build is a
// returned error.
func BuildKustomization(dir string) ([]*Object, []*InputError, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	fs := &originFS{FileSystem: filesys.MakeFsOnDisk(), root: root}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(fs, abs)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	objs, errs := Decode(out, dir)
	lines := originLines{}
	for _, o := range objs {
		o.Source = Source{File: dir}
		origin, ok := takeOrigin(o, !fs.userAsked)
		if !ok {
			continue
		}
		switch {
		case origin.Repo != "":
			o.Source.File = origin.Repo + "//" + origin.Path
			if origin.Ref != "" {
				o.Source.File += "?ref=" + origin.Ref
			}
		case origin.Path != "":
			o.Source.File = filepath.Join(dir, filepath.FromSlash(origin.Path))
			o.Source.Line = lines.find(o.Source.File, o)
		case origin.ConfiguredIn != "":
			o.Source.File = filepath.Join(dir, filepath.FromSlash(origin.ConfiguredIn))
		}
	}
	for _, e := range errs {
		e.Line = 0
	}
	return objs, errs, nil
}

// originFS is the file system kustomize reads through: the top
// kustomization file gets buildMetadata: [originAnnotations] added in
// memory, so that every resource is annotated with the file it came from.
type originFS struct {
	filesys.FileSystem
	root      string // the kustomization folder, symbolic links resolved
	userAsked bool   // the kustomization asks for origin annotations itself
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || filepath.Dir(path) != f.root ||
		!slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		return data, err
	}
	var kust map[string]any
	if yaml.Unmarshal(data, &kust) != nil || kust == nil {
		return data, nil // let kustomize report the problem
	}
	meta, _ := kust["buildMetadata"].([]any)
	if slices.Contains(meta, any(types.OriginAnnotations)) {
		f.userAsked = true
		return data, nil
	}
	kust["buildMetadata"] = append(meta, types.OriginAnnotations)
	changed, err := yaml.Marshal(kust)
	if err != nil {
		return data, nil
	}
	return changed, nil
}

// origin is the value of the origin annotation.
type origin struct {
	Path         string `json:"path"`
	Repo         string `json:"repo"`
	Ref          string `json:"ref"`
	ConfiguredIn string `json:"configuredIn"`
}

// takeOrigin reads the origin annotation of o and, when remove is set,
// deletes it (and the annotations map if that leaves it empty).
func takeOrigin(o *Object, remove bool) (origin, bool) {
	md := Map(o.Content, "metadata")
	ann := Map(md, "annotations")
	raw, ok := ann[originAnnotation].(string)
	if !ok {
		return origin{}, false
	}
	if remove {
		delete(ann, originAnnotation)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	var or origin
	if err := yaml.Unmarshal([]byte(raw), &or); err != nil {
		return origin{}, false
	}
	return or, true
}

// originLines finds objects in their source files, reading each file once.
type originLines map[string][]*Object

// find returns the line where o starts in file, or 0. A kustomization may
// have renamed the object (namePrefix, nameSuffix): the object of the same
// kind whose name is the output name, or else the only one whose name is
// part of it, or else the only one of that kind in the file, is taken.
func (ol originLines) find(file string, o *Object) int {
	objs, ok := ol[file]
	if !ok {
		if data, err := os.ReadFile(file); err == nil {
			objs, _ = Decode(data, file)
		}
		ol[file] = objs
	}
	var sameKind, contained []*Object
	for _, c := range objs {
		if c.Kind() != o.Kind() || c.Group() != o.Group() {
			continue
		}
		if c.Name() == o.Name() {
			return c.Source.Line
		}
		sameKind = append(sameKind, c)
		if c.Name() != "" && strings.Contains(o.Name(), c.Name()) {
			contained = append(contained, c)
		}
	}
	switch {
	case len(contained) == 1:
		return contained[0].Source.Line
	case len(sameKind) == 1:
		return sameKind[0].Source.Line
	}
	return 0
}
