package k8s

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

// maxChartEntries bounds the files and folders one chart folder may have,
// counting every path a symbolic link leads to again: links that fan out
// into the same folders many times would otherwise make the walk endless.
const maxChartEntries = 100000

// loadChart loads a chart folder or archive. An archive is read like any
// input file (regular, at most limit bytes) and then by Helm, with Helm's
// limits on its decompressed size.
func loadChart(ctx context.Context, path string, limit int64) (*chart.Chart, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return loadChartDir(ctx, path)
	}
	data, err := readRegular(path, limit)
	if errors.Is(err, ErrTooLarge) {
		return nil, inputFileError(err)
	}
	if err != nil {
		return nil, err
	}
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if errors.Is(err, gzip.ErrHeader) {
		return nil, fmt.Errorf("not a chart archive (gzip-compressed tar): %w", err)
	}
	return c, err
}

// loadChartDir reads a chart folder as Helm's loader.LoadDir does — the
// chart's .helmignore and Helm's default ignore rules apply, symbolic links
// are followed, a file that is not regular or is larger than
// loader.MaxDecompressedFileSize is an error — but it fails on a symbolic
// link that leads back into a folder being walked (Helm walks such a loop
// until paths grow too long, repeating the work at every level), caps the
// folder at loader.MaxDecompressedChartSize and maxChartEntries, never
// blocks on a named pipe, and stops when ctx is done.
func loadChartDir(ctx context.Context, dir string) (*chart.Chart, error) {
	top, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if top, err = filepath.EvalSymlinks(top); err != nil {
		return nil, err
	}
	rules := ignore.Empty()
	if data, err := readRegular(filepath.Join(top, ignore.HelmIgnore), loader.MaxDecompressedFileSize); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
	}
	rules.AddDefaults()
	w := &chartWalk{ctx: ctx, rules: rules, open: map[string]bool{}}
	if err := w.dir(top, ""); err != nil {
		return nil, err
	}
	return loader.LoadFiles(w.files)
}

// chartWalk is the state of one loadChartDir.
type chartWalk struct {
	ctx     context.Context
	rules   *ignore.Rules
	open    map[string]bool // real paths of the folders being walked
	files   []*loader.BufferedFile
	size    int64
	entries int
}

// dir walks the folder at real path abs, known in the chart as rel ("" for
// the chart's root), in name order.
func (w *chartWalk) dir(abs, rel string) error {
	if w.open[abs] {
		return fmt.Errorf("%s: symbolic link loop: leads back to %s", rel, abs)
	}
	w.open[abs] = true
	defer delete(w.open, abs)
	entries, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if w.entries++; w.entries > maxChartEntries {
			return fmt.Errorf("more than %d files and folders (symbolic links leading to the same folders?)", maxChartEntries)
		}
		path := filepath.Join(abs, name)
		n := name
		if rel != "" {
			n = rel + "/" + name
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if path, err = filepath.EvalSymlinks(path); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			if fi, err = os.Lstat(path); err != nil {
				return err
			}
		}
		if fi.IsDir() {
			if w.rules.Ignore(n, fi) {
				continue
			}
			if err := w.dir(path, n); err != nil {
				return err
			}
			continue
		}
		if w.rules.Ignore(n, fi) {
			continue
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: %w", n, notRegularError(fi.Mode()))
		}
		data, err := readRegular(path, loader.MaxDecompressedFileSize)
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("chart file %s is larger than Helm's limit of %s", n, formatSize(loader.MaxDecompressedFileSize))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if w.size += int64(len(data)); w.size > loader.MaxDecompressedChartSize {
			return fmt.Errorf("chart files add up to more than Helm's limit of %s", formatSize(loader.MaxDecompressedChartSize))
		}
		data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}) // a UTF-8 byte order mark
		w.files = append(w.files, &loader.BufferedFile{Name: n, Data: data})
	}
	return nil
}
