package k8s

import (
	"context"
	"fmt"
	"log/slog"
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
// returned *InputError naming dir.
//
// Files are read as LoadPaths reads them (regular files of at most
// opts.MaxFileSize). Unless opts.AllowRemote is set, the build uses neither
// the network nor a subprocess: a kustomization (or builtin plugin
// configuration) that references a remote base, resource, patch or file —
// an http(s) URL, or a git repository, which kustomize clones with the git
// program — fails before anything is fetched, with a *RemoteRefError. The
// build returns when ctx is done; kustomize takes no context, so a build
// given up on keeps running in the background until it ends.
func BuildKustomization(ctx context.Context, dir string, opts LoadOptions) ([]*Object, []*InputError, error) {
	objs, errs, err := buildKustomizationDir(ctx, dir, opts)
	if err != nil {
		return nil, nil, &InputError{File: dir, Err: err}
	}
	return objs, errs, nil
}

// buildKustomization is BuildKustomization for LoadPaths: the
// kustomization's failure is one of its input errors.
func buildKustomization(ctx context.Context, dir string, opts LoadOptions) ([]*Object, []*InputError) {
	objs, errs, err := buildKustomizationDir(ctx, dir, opts)
	if err != nil {
		return nil, []*InputError{{File: dir, Err: err}}
	}
	return objs, errs
}

func buildKustomizationDir(ctx context.Context, dir string, opts LoadOptions) ([]*Object, []*InputError, error) {
	slog.DebugContext(ctx, "build kustomization", "path", dir)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, nil, err
	}
	fs := &originFS{
		FileSystem:  filesys.MakeFsOnDisk(),
		root:        root,
		dir:         dir,
		limit:       maxFileSize(opts.MaxFileSize),
		allowRemote: opts.AllowRemote,
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("panic: %v", r)}
			}
		}()
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		resMap, err := k.Run(fs, abs)
		if err != nil {
			done <- result{err: err}
			return
		}
		out, err := resMap.AsYaml()
		done <- result{out, err}
	}()
	var out []byte
	select {
	case r := <-done:
		if fs.remote != nil {
			return nil, nil, fs.remote
		}
		if r.err != nil {
			return nil, nil, fmt.Errorf("kustomize build: %w", r.err)
		}
		out = r.out
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	objs, errs := Decode(out, dir)
	lines := originLines{limit: fs.limit, objs: map[string][]*Object{}}
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

// originFS is the file system kustomize reads through. Files are read as
// input files are: regular files only, within the size limit. The top
// kustomization file gets buildMetadata: [originAnnotations] added in
// memory, so that every resource is annotated with the file it came from.
// Unless remote references are allowed, every kustomization file and builtin
// plugin configuration is checked for them as kustomize reads it — before
// kustomize acts on it — and the first one found fails the build.
//
// An originFS is used by one build at a time; its fields are read once the
// build is over.
type originFS struct {
	filesys.FileSystem
	root        string // the kustomization folder, symbolic links resolved
	dir         string // the kustomization folder as the user named it
	limit       int64  // the largest file read
	allowRemote bool
	userAsked   bool            // the kustomization asks for origin annotations itself
	remote      *RemoteRefError // the first remote reference refused
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := readRegular(path, f.limit)
	if err != nil {
		return nil, err
	}
	isKustomization := slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path))
	if !f.allowRemote {
		if ref := remoteRef(filepath.Dir(path), data, isKustomization); ref != "" {
			f.remote = &RemoteRefError{File: f.display(path), Ref: ref}
			return nil, f.remote
		}
	}
	if !isKustomization || filepath.Dir(path) != f.root {
		return data, nil
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

// display names path as the user would: relative to the kustomization
// folder they gave.
func (f *originFS) display(path string) string {
	rel, err := filepath.Rel(f.root, path)
	if err != nil {
		return path
	}
	return filepath.Join(f.dir, rel)
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
type originLines struct {
	limit int64 // the largest file read
	objs  map[string][]*Object
}

// find returns the line where o starts in file, or 0. A kustomization may
// have renamed the object (namePrefix, nameSuffix): the object of the same
// kind whose name is the output name, or else the only one whose name is
// part of it, or else the only one of that kind in the file, is taken.
func (ol originLines) find(file string, o *Object) int {
	objs, ok := ol.objs[file]
	if !ok {
		if data, err := readRegular(file, ol.limit); err == nil {
			objs, _ = Decode(data, file)
		}
		ol.objs[file] = objs
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
