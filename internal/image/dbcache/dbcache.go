// Package dbcache keeps osv.dev's per-ecosystem vulnerability zip files
// (BASE/ECOSYSTEM/all.zip) in a local folder, so that scans read them
// offline. Update downloads them (only when the server has a newer copy,
// using the Last-Modified date), each into a temporary file checked as a
// zip before it replaces the cached one; Status tells the age of each.
// The network is used only by Update.
package dbcache

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultBaseURL is osv.dev's bucket of per-ecosystem zip files.
const DefaultBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are downloaded when none are named: the OS
// distributions and languages the image inventory reports.
var DefaultEcosystems = []string{"Alpine", "Debian", "Ubuntu", "Go", "Maven", "PyPI", "npm", "RubyGems", "crates.io", "NuGet"}

// MaxZipBytes bounds one downloaded file.
const MaxZipBytes = 2 << 30

// DefaultDir returns the cache folder: $XDG_CACHE_HOME/kordon/osv (or the
// platform's user cache folder).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kordon", "osv"), nil
}

// Entry is one cached ecosystem.
type Entry struct {
	Ecosystem string
	Path      string
	Size      int64
	// Modified is the server's Last-Modified date of the copy (the file's
	// modification time).
	Modified time.Time
	// Updated reports whether Update downloaded a new copy.
	Updated bool
}

// Age is how old the copy is at now.
func (e Entry) Age(now time.Time) time.Duration { return now.Sub(e.Modified) }

func fileFor(dir, eco string) string { return filepath.Join(dir, eco, "all.zip") }

// Status lists the cached ecosystems, sorted by name.
func Status(dir string) ([]Entry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range ents {
		if !d.IsDir() {
			continue
		}
		st, err := os.Stat(fileFor(dir, d.Name()))
		if err != nil {
			continue
		}
		out = append(out, Entry{Ecosystem: d.Name(), Path: fileFor(dir, d.Name()), Size: st.Size(), Modified: st.ModTime()})
	}
	return out, nil
}

// Update downloads the zip of each ecosystem from base into dir. An
// ecosystem that fails is an error in the returned list; the others are
// still updated.
func Update(ctx context.Context, client *http.Client, base, dir string, ecosystems []string) ([]Entry, []error) {
	var out []Entry
	var errs []error
	for _, eco := range ecosystems {
		e, err := update(ctx, client, base, dir, eco)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", eco, err))
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Ecosystem, b.Ecosystem) })
	return out, errs
}

func update(ctx context.Context, client *http.Client, base, dir, eco string) (Entry, error) {
	if eco == "" || strings.ContainsAny(eco, `/\`) || eco == "." || eco == ".." {
		return Entry{}, errors.New("not an ecosystem name")
	}
	u := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(eco) + "/all.zip"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Entry{}, err
	}
	dst := fileFor(dir, eco)
	if st, err := os.Stat(dst); err == nil {
		req.Header.Set("If-Modified-Since", st.ModTime().UTC().Format(http.TimeFormat))
	}
	resp, err := client.Do(req)
	if err != nil {
		return Entry{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		st, err := os.Stat(dst)
		if err != nil {
			return Entry{}, err
		}
		return Entry{Ecosystem: eco, Path: dst, Size: st.Size(), Modified: st.ModTime()}, nil
	case http.StatusOK:
	default:
		return Entry{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Entry{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return Entry{}, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, MaxZipBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Entry{}, fmt.Errorf("GET %s: %w", u, err)
	}
	if n > MaxZipBytes {
		return Entry{}, fmt.Errorf("GET %s: larger than %d bytes", u, MaxZipBytes)
	}
	zr, err := zip.OpenReader(tmp.Name())
	if err != nil {
		return Entry{}, fmt.Errorf("GET %s: not a zip file: %w", u, err)
	}
	zr.Close()
	mod := time.Now()
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mod = lm
	}
	if err := os.Chtimes(tmp.Name(), mod, mod); err != nil {
		return Entry{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Entry{}, err
	}
	return Entry{Ecosystem: eco, Path: dst, Size: n, Modified: mod, Updated: true}, nil
}
