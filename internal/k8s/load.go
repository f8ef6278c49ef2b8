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
}

// Loaded is the result of loading inputs: the objects in input order, the
// parts that could not be loaded (errors: documents, files, charts,
// kustomizations) and what was skipped (warnings: documents that are not
// Kubernetes objects, files that are not regular).
type Loaded struct {
	Objects  []*Object
	Errors   []*InputError
	Warnings []*InputError

	parts []loadPart
}

func (l *Loaded) add(objs []*Object, errs []*InputError) {
	l.parts = append(l.parts, loadPart{objs: objs, errs: errs})
}

// addError records a problem with one input, in input order.
func (l *Loaded) addError(file string, err error) {
	l.add(nil, []*InputError{{File: file, Err: err}})
}

// addWarning records an input that was skipped, in input order.
func (l *Loaded) addWarning(file string, err error) {
	l.parts = append(l.parts, loadPart{warns: []*InputError{{File: file, Err: err}}})
}

// loadPart is one input's share of a Loaded, kept in input order until
// finish: files are read in order but decoded in parallel.
type loadPart struct {
	file  string // set while the file's data waits to be decoded
	data  []byte
	objs  []*Object
	errs  []*InputError
	warns []*InputError // inputs skipped
}

// finish decodes the files that wait, in parallel, and lays every part out
// in input order: objects, errors, and warnings (documents that are not
// Kubernetes objects, inputs that are not regular files). It stops early
// when ctx is done.
func (l *Loaded) finish(ctx context.Context) error {
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
	for _, p := range l.parts {
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
	return nil
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
	if err := l.finish(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func loadPath(ctx context.Context, l *Loaded, path string, opts LoadOptions) error {
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
			l.parts = append(l.parts, loadPart{file: "-", data: data})
		}
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	switch {
	case info.IsDir():
		return loadDir(ctx, l, path, opts)
	case !info.Mode().IsRegular():
		// A named pipe given as a path (bash's <(...)) could block forever;
		// standard input is read with "-".
		l.addWarning(path, inputFileError(notRegularError(info.Mode())))
	case isChartArchive(path):
		l.add(renderChart(ctx, path, opts))
	default:
		loadFile(l, path, opts)
	}
	return ctx.Err()
}

func loadDir(ctx context.Context, l *Loaded, dir string, opts LoadOptions) error {
	switch {
	case IsChartDir(dir):
		l.add(renderChart(ctx, dir, opts))
		return ctx.Err()
	case IsKustomizeDir(dir):
		l.add(buildKustomization(ctx, dir, opts))
		return ctx.Err()
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
			if err := loadDir(ctx, l, p, opts); err != nil {
				return err
			}
			continue
		}
		wanted := isChartArchive(p) || isManifestFile(p)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				// Dangling, a loop, or a target that cannot be reached.
				if wanted {
					l.addWarning(p, inputFileError(brokenLinkError(err)))
				}
				continue
			case fi.IsDir():
				continue // links to folders are not followed: no loops
			}
			mode = fi.Mode()
		}
		switch {
		case !wanted:
		case !mode.IsRegular():
			l.addWarning(p, inputFileError(notRegularError(mode)))
		case isChartArchive(p):
			l.add(renderChart(ctx, p, opts))
		default:
			loadFile(l, p, opts)
		}
	}
	return nil
}

// loadFile reads a manifest file for decoding; a file that cannot be read
// (not regular, too large, no permission) is recorded as its problem.
func loadFile(l *Loaded, path string, opts LoadOptions) {
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
	l.parts = append(l.parts, loadPart{file: path, data: data})
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
