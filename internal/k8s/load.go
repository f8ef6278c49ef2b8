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
}

// Loaded is the result of loading inputs: the objects in input order, the
// documents that could not be loaded (errors) and the documents that were
// skipped because they are not Kubernetes objects (warnings).
type Loaded struct {
	Objects  []*Object
	Errors   []*InputError
	Warnings []*InputError

	parts []loadPart
}

func (l *Loaded) add(objs []*Object, errs []*InputError) {
	l.parts = append(l.parts, loadPart{objs: objs, errs: errs})
}

// loadPart is one input's share of a Loaded, kept in input order until
// finish: files are read in order but decoded in parallel.
type loadPart struct {
	file string // set while the file's data waits to be decoded
	data []byte
	objs []*Object
	errs []*InputError
}

// finish decodes the files that wait, in parallel, and lays every part out
// in input order.
func (l *Loaded) finish() {
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
	for i, p := range l.parts {
		if p.file != "" {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	for _, p := range l.parts {
		l.Objects = append(l.Objects, p.objs...)
		for _, e := range p.errs {
			if errors.Is(e.Err, ErrNotObject) {
				l.Warnings = append(l.Warnings, e)
			} else {
				l.Errors = append(l.Errors, e)
			}
		}
	}
	l.parts = nil
}

// LoadPaths loads every path: a YAML or JSON file, "-" for standard input,
// a Helm chart (a folder with Chart.yaml, or a .tgz archive), a kustomize
// folder (with kustomization.yaml), or any other folder, which is walked
// recursively in name order, reading .yaml, .yml, .json and chart archives.
// The walk skips hidden files and folders (names starting with "."), does not
// follow symbolic links to folders, and renders a chart or kustomize folder
// it meets instead of reading its files. Problems with single documents are
// collected in the result; the returned error is for inputs that cannot be
// read at all, such as a path that does not exist.
func LoadPaths(ctx context.Context, paths []string, opts LoadOptions) (*Loaded, error) {
	l := &Loaded{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := loadPath(ctx, l, p, opts); err != nil {
			return nil, err
		}
	}
	l.finish()
	return l, nil
}

func loadPath(ctx context.Context, l *Loaded, path string, opts LoadOptions) error {
	if path == "-" {
		if opts.Stdin == nil {
			return errors.New("read standard input: no input")
		}
		data, err := io.ReadAll(opts.Stdin)
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		l.add(Decode(data, "-"))
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	if !info.IsDir() {
		if isChartArchive(path) {
			return l.addRendered(RenderChart(ctx, path, opts.Helm))
		}
		return loadFile(l, path)
	}
	return loadDir(ctx, l, path, opts)
}

func (l *Loaded) addRendered(objs []*Object, errs []*InputError, err error) error {
	if err != nil {
		return err
	}
	l.add(objs, errs)
	return nil
}

func loadDir(ctx context.Context, l *Loaded, dir string, opts LoadOptions) error {
	switch {
	case IsChartDir(dir):
		return l.addRendered(RenderChart(ctx, dir, opts.Helm))
	case IsKustomizeDir(dir):
		return l.addRendered(BuildKustomization(dir))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // .git, .github and other hidden folders and files
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			if err := loadDir(ctx, l, p, opts); err != nil {
				return err
			}
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(p); err != nil || fi.IsDir() {
				continue
			}
		}
		switch {
		case isChartArchive(p):
			if err := l.addRendered(RenderChart(ctx, p, opts.Helm)); err != nil {
				return err
			}
		case isManifestFile(p):
			if err := loadFile(l, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func loadFile(l *Loaded, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	l.parts = append(l.parts, loadPart{file: path, data: data})
	return nil
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
