package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// LoadOptions configures LoadPaths.
type LoadOptions struct {
	// Stdin is read when a path is "-".
	Stdin io.Reader
	// Helm configures how charts are rendered.
	Helm HelmOptions
	// MaxFileSize is the largest file (and standard input) read, in bytes;
	// a larger one is an input error. 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// AllowRemote lets kustomize fetch remote bases and resources (over
	// HTTP, and with the git program for repositories) and Helm read values
	// files from URLs. Without it, loading uses neither the network nor a
	// subprocess: a kustomization that references something remote is an
	// input error naming the reference.
	AllowRemote bool
	// Namespace is the namespace path inputs are applied to, as with
	// kubectl apply -n: namespaced objects of plain files and
	// kustomizations that name none are given it (charts get
	// Helm.Namespace), and an object of a plain file that names another one
	// is reported in a warning and judged in its own. Empty means
	// DefaultNamespace, without such warnings.
	Namespace string
	// Exclude are globs of files and folders not to read, matched against
	// the path relative to each path argument and against the base name
	// (see MatchGlob). Each excluded file or folder is reported in a
	// warning wrapping ErrExcluded.
	Exclude []string
	// OneCluster treats all inputs as one unit, as if applied to one
	// cluster together: objects get no Unit, and a kustomization that is a
	// base of another one in the input is still built on its own.
	OneCluster bool
}

// Loaded is the result of loading inputs: the objects in input order, the
// parts that could not be loaded (errors: documents, files, charts,
// kustomizations) and what was skipped (warnings: documents that are not
// Kubernetes objects, files that are not regular).
type Loaded struct {
	Objects  []*Object
	Errors   []*InputError
	Warnings []*InputError
	// Units are the units of input, in input order (none for a live
	// cluster, nor with LoadOptions.OneCluster); every object of a Unit
	// points to it.
	Units []*Unit
	// Excluded counts the files and folders left out by
	// LoadOptions.Exclude (each also in a warning).
	Excluded int

	parts []loadPart
}

func (l *Loaded) add(unit *Unit, objs []*Object, errs []*InputError) {
	l.parts = append(l.parts, loadPart{unit: unit, objs: objs, errs: errs})
}

// addError records a problem with one input, in input order.
func (l *Loaded) addError(file string, err error) {
	l.parts = append(l.parts, loadPart{errs: []*InputError{{File: file, Err: err}}})
}

// addWarning records an input that was skipped, in input order.
func (l *Loaded) addWarning(file string, err error) {
	l.parts = append(l.parts, loadPart{warns: []*InputError{{File: file, Err: err}}})
}

// loadPart is one input's share of a Loaded, kept in input order until
// finish: files are read in order but decoded in parallel.
type loadPart struct {
	unit  *Unit
	file  string // set while the file's data waits to be decoded
	data  []byte
	kdir  string // a kustomization folder waiting to be built
	objs  []*Object
	errs  []*InputError
	warns []*InputError // inputs skipped
}

// finish decodes the files that wait, in parallel, and lays every part out
// in input order: objects, errors, and warnings (documents that are not
// Kubernetes objects, inputs that are not regular files). It stops early
// when ctx is done.
func (l *Loaded) finish(ctx context.Context, opts LoadOptions) error {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := &l.parts[i]
				p.objs, p.errs = Decode(p.data, p.file)
				p.data = nil
			}
		}()
	}
feed:
	for i, p := range l.parts {
		if p.file == "" {
			continue
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	units := map[*Unit]bool{}
	for _, p := range l.parts {
		for _, o := range p.objs {
			o.Unit = p.unit
		}
		if p.unit != nil && len(p.objs) > 0 && !units[p.unit] {
			units[p.unit] = true
			l.Units = append(l.Units, p.unit)
		}
		l.Objects = append(l.Objects, p.objs...)
		for _, e := range p.errs {
			if errors.Is(e.Err, ErrNotObject) {
				l.Warnings = append(l.Warnings, e)
			} else {
				l.Errors = append(l.Errors, e)
			}
		}
		l.Warnings = append(l.Warnings, p.warns...)
	}
	l.parts = nil
	l.giveNamespaces(opts)
	if opts.OneCluster {
		for _, o := range l.Objects {
			o.Unit = nil
		}
		l.Units = nil
	}
	return nil
}

// giveNamespaces gives the namespaced objects of each unit that name no
// namespace the one the unit is applied to (see LoadOptions.Namespace).
func (l *Loaded) giveNamespaces(opts LoadOptions) {
	scopes := NewScopes(l.Objects)
	byUnit := map[*Unit][]*Object{}
	for _, o := range l.Objects {
		byUnit[o.Unit] = append(byUnit[o.Unit], o)
	}
	for _, u := range l.Units {
		// kubectl apply -n refuses plain manifests of another namespace;
		// a kustomization's own namespace field is its author's choice.
		strict := u.Kind == UnitPath && u.NamespaceFrom == NamespaceFromOption
		ng := namespaceGiven{namespace: u.Namespace, from: u.NamespaceFrom, strict: strict}
		l.Warnings = append(l.Warnings, giveNamespace(byUnit[u], scopes, ng)...)
	}
}

// LoadPaths loads every path: a YAML or JSON file, "-" for standard input,
// a Helm chart (a folder with Chart.yaml, or a .tgz archive), a kustomize
// folder (with kustomization.yaml), or any other folder, which is walked
// recursively in name order, reading .yaml, .yml, .json and chart archives.
// The walk skips hidden files and folders (names starting with "."), does not
// follow symbolic links to folders, and renders a chart or kustomize folder
// it meets instead of reading its files.
//
// Input that is hostile or broken does not stop the load. Only regular files
// are read: a named pipe, a device or a symbolic link that does not resolve
// is skipped with a warning wrapping ErrNotRegular. A file larger than
// MaxFileSize, a chart that does not render (within its time and size
// budget, see HelmOptions) and a kustomization that does not build (or
// needs the network without AllowRemote) are input errors naming the file,
// chart or kustomization, collected in the result with problems of single
// documents; the rest is still loaded.
//
// The returned error is for inputs that cannot be read at all, such as a
// path that does not exist, and for ctx being done: LoadPaths then returns
// promptly, abandoning a chart render or kustomize build under way (Go
// cannot interrupt them; they end with the process).
//
// Every object belongs to a Unit (see Loaded.Units): the plain manifests of
// its path argument, its chart or its kustomization; a kustomization that
// another one of the input uses as a base or component is rendered through
// it only. Namespaced objects that name no namespace are given the one
// their unit is applied to (LoadOptions.Namespace, a chart's release
// namespace), with Source.NamespaceFrom saying so. Files and folders that
// match LoadOptions.Exclude are left out with a warning each.
func LoadPaths(ctx context.Context, paths []string, opts LoadOptions) (*Loaded, error) {
	if err := checkGlobs(opts.Exclude); err != nil {
		return nil, err
	}
	l := &Loaded{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := loadPath(ctx, l, p, opts); err != nil {
			return nil, err
		}
	}
	if err := l.buildKustomizations(ctx, opts); err != nil {
		return nil, err
	}
	if err := l.finish(ctx, opts); err != nil {
		return nil, err
	}
	return l, nil
}

// walk is the loading of one path argument.
type walk struct {
	l    *Loaded
	opts LoadOptions
	root string // the path argument
	unit *Unit  // the unit of its plain manifests, made when first needed
}

// pathUnit returns the unit of the argument's plain manifests.
func (w *walk) pathUnit() *Unit {
	if w.unit == nil {
		w.unit = &Unit{Kind: UnitPath, Path: w.root}
		w.unit.Namespace, w.unit.NamespaceFrom = w.opts.pathNamespace()
	}
	return w.unit
}

// chartUnit returns the unit of the chart at path.
func (w *walk) chartUnit(path string) *Unit {
	return &Unit{Kind: UnitChart, Path: path, Namespace: defaultString(w.opts.Helm.Namespace, DefaultNamespace), NamespaceFrom: NamespaceFromRelease}
}

// pathNamespace returns the namespace of path inputs and where it comes from.
func (o LoadOptions) pathNamespace() (string, string) {
	if o.Namespace != "" {
		return o.Namespace, NamespaceFromOption
	}
	return DefaultNamespace, NamespaceFromDefault
}

// excluded reports whether the file or folder at path (inside the
// argument) matches an --exclude glob, and records it when it does.
func (w *walk) excluded(path string) bool {
	if len(w.opts.Exclude) == 0 {
		return false
	}
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." {
		rel = filepath.Base(path)
	}
	rel = filepath.ToSlash(rel)
	for _, g := range w.opts.Exclude {
		if MatchGlob(g, rel) || MatchGlob(g, filepath.Base(path)) {
			w.l.Excluded++
			w.l.addWarning(path, fmt.Errorf("%w %q", ErrExcluded, g))
			return true
		}
	}
	return false
}

func loadPath(ctx context.Context, l *Loaded, path string, opts LoadOptions) error {
	w := &walk{l: l, opts: opts, root: path}
	if path == "-" {
		if opts.Stdin == nil {
			return errors.New("read standard input: no input")
		}
		data, err := readContext(ctx, opts.Stdin, maxFileSize(opts.MaxFileSize))
		switch {
		case errors.Is(err, ErrTooLarge):
			l.addError("-", inputFileError(err))
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("read standard input: %w", err)
		default:
			l.parts = append(l.parts, loadPart{unit: w.pathUnit(), file: "-", data: data})
		}
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	switch {
	case info.IsDir():
		return w.dir(ctx, path)
	case w.excluded(path):
	case !info.Mode().IsRegular():
		// A named pipe given as a path (bash's <(...)) could block forever;
		// standard input is read with "-".
		l.addWarning(path, inputFileError(notRegularError(info.Mode())))
	case isChartArchive(path):
		objs, errs := renderChart(ctx, path, opts)
		l.add(w.chartUnit(path), objs, errs)
	default:
		loadFile(l, w.pathUnit(), path, opts)
	}
	return ctx.Err()
}

func (w *walk) dir(ctx context.Context, dir string) error {
	l, opts := w.l, w.opts
	switch {
	case IsChartDir(dir):
		objs, errs := renderChart(ctx, dir, opts)
		l.add(w.chartUnit(dir), objs, errs)
		return ctx.Err()
	case IsKustomizeDir(dir):
		// Built once every argument is walked: a kustomization that is the
		// base of another one is rendered through it only.
		u := &Unit{Kind: UnitKustomization, Path: dir}
		u.Namespace, u.NamespaceFrom = opts.pathNamespace()
		l.parts = append(l.parts, loadPart{unit: u, kdir: dir})
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.addError(dir, inputFileError(err))
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // .git, .github and other hidden folders and files
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			if w.excluded(p) {
				continue
			}
			if err := w.dir(ctx, p); err != nil {
				return err
			}
			continue
		}
		wanted := isChartArchive(p) || isManifestFile(p)
		if !wanted {
			continue
		}
		if w.excluded(p) {
			continue
		}
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				// Dangling, a loop, or a target that cannot be reached.
				l.addWarning(p, inputFileError(brokenLinkError(err)))
				continue
			case fi.IsDir():
				continue // links to folders are not followed: no loops
			}
			mode = fi.Mode()
		}
		switch {
		case !mode.IsRegular():
			l.addWarning(p, inputFileError(notRegularError(mode)))
		case isChartArchive(p):
			objs, errs := renderChart(ctx, p, opts)
			l.add(w.chartUnit(p), objs, errs)
		default:
			loadFile(l, w.pathUnit(), p, opts)
		}
	}
	return nil
}

// loadFile reads a manifest file for decoding; a file that cannot be read
// (not regular, too large, no permission) is recorded as its problem.
func loadFile(l *Loaded, unit *Unit, path string, opts LoadOptions) {
	data, err := readRegular(path, maxFileSize(opts.MaxFileSize))
	switch {
	case errors.Is(err, ErrNotRegular):
		// Swapped for a named pipe since it was looked at.
		l.addWarning(path, inputFileError(err))
		return
	case err != nil:
		l.addError(path, inputFileError(err))
		return
	}
	l.parts = append(l.parts, loadPart{unit: unit, file: path, data: data})
}

func isManifestFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func isChartArchive(path string) bool {
	return strings.HasSuffix(path, ".tgz") || strings.HasSuffix(path, ".tar.gz")
}

// IsChartDir reports whether dir is a Helm chart (holds Chart.yaml).
func IsChartDir(dir string) bool { return fileExists(filepath.Join(dir, "Chart.yaml")) }

// IsKustomizeDir reports whether dir holds a kustomization file.
func IsKustomizeDir(dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fileExists(filepath.Join(dir, n)) {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
