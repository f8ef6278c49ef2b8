// Package vulnindex records what a vulnerability scan found in an image
// under the image's digests, in a folder that kordon image scan --cluster
// writes and the admission webhook reads (governance.vulnerableImages):
// DIR/images/sha256-<hex>.json, one file per digest naming the image — the
// digest of the reference the kubelet reported (a multi-platform index)
// and that of the platform manifest that was scanned.
//
// Writes are atomic (a temporary file renamed), so a reader never sees a
// half-written record. A Reader is safe for concurrent use and keeps
// decoded records in memory while their file is unchanged.
package vulnindex

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kordon-dev/kordon/internal/image/findings"
)

// Subdir is the folder of the records under the cache directory.
const Subdir = "images"

// MaxRecordBytes bounds a record file read.
const MaxRecordBytes = 16 << 20

// maxErrors bounds the scan errors a record keeps.
const maxErrors = 20

// Record is what one scan found in one image.
type Record struct {
	// Digests name the image: the reference's digest and, when it differs
	// (an index), the scanned platform manifest's.
	Digests []string `json:"digests"`
	// Ref is the reference that was scanned (repo@sha256:...).
	Ref string `json:"ref"`
	// Scanned is when the image was matched against the database.
	Scanned time.Time `json:"scanned"`
	// Database is the vulnerability database the scan read (--db).
	Database string `json:"database,omitempty"`
	// Findings are every vulnerability found, unfiltered (no exception,
	// no --ignore-unfixed): the reader decides what counts.
	Findings []findings.JSONFinding `json:"findings"`
	// Errors are the scan's problems (a bad layer, an unreadable file): when
	// set, the image may have vulnerabilities the record lacks. At most 20
	// are kept.
	Errors []string `json:"errors,omitempty"`
}

// Complete reports whether the scan met no error.
func (r *Record) Complete() bool { return len(r.Errors) == 0 }

// ErrNotFound is returned by Reader.Get for a digest without a record.
var ErrNotFound = errors.New("no scan record")

// ValidDigest reports whether d is "sha256:" and 64 lower-case hex digits.
func ValidDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// file is the record file of a digest.
func file(dir, digest string) string {
	return filepath.Join(dir, Subdir, strings.Replace(digest, ":", "-", 1)+".json")
}

// Put writes r under each of its digests in dir (created when missing).
func Put(dir string, r *Record) error {
	if len(r.Digests) == 0 {
		return errors.New("scan record: no digest")
	}
	for _, d := range r.Digests {
		if !ValidDigest(d) {
			return fmt.Errorf("scan record: %q is not a sha256 digest", d)
		}
	}
	if len(r.Errors) > maxErrors {
		r.Errors = append(r.Errors[:maxErrors:maxErrors], fmt.Sprintf("... and %d more", len(r.Errors)-maxErrors))
	}
	if r.Findings == nil {
		r.Findings = []findings.JSONFinding{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("scan record: %w", err)
	}
	sub := filepath.Join(dir, Subdir)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return fmt.Errorf("scan record: %w", err)
	}
	for _, d := range r.Digests {
		if err := writeAtomic(sub, file(dir, d), b); err != nil {
			return fmt.Errorf("scan record %s: %w", d, err)
		}
	}
	return nil
}

func writeAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, ".record-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// Reader reads records, keeping decoded ones in memory while their file's
// size and modification time are unchanged (one stat per lookup). It is
// safe for concurrent use.
type Reader struct {
	dir  string
	size int

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	mod  time.Time
	size int64
	rec  *Record
}

// NewReader reads the records of dir, keeping at most size decoded
// (default 10000).
func NewReader(dir string, size int) *Reader {
	if size <= 0 {
		size = 10000
	}
	return &Reader{dir: dir, size: size, entries: map[string]entry{}}
}

// Dir returns the cache directory the reader reads.
func (r *Reader) Dir() string { return r.dir }

// Get returns the record of digest. It returns an error wrapping
// ErrNotFound when there is none, and other errors for a digest that is
// not sha256 or a record that cannot be read or decoded (naming the file).
// The record is shared: callers must not modify it.
func (r *Reader) Get(digest string) (*Record, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("%q is not a sha256 digest", digest)
	}
	name := file(r.dir, digest)
	fi, err := os.Stat(name)
	if errors.Is(err, os.ErrNotExist) {
		r.mu.Lock()
		delete(r.entries, digest)
		r.mu.Unlock()
		return nil, fmt.Errorf("%w for %s in %s", ErrNotFound, digest, filepath.Join(r.dir, Subdir))
	}
	if err != nil {
		return nil, fmt.Errorf("scan record: %w", err)
	}
	r.mu.Lock()
	e, ok := r.entries[digest]
	r.mu.Unlock()
	if ok && e.size == fi.Size() && e.mod.Equal(fi.ModTime()) {
		return e.rec, nil
	}
	rec, err := read(name, digest)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.entries) >= r.size {
		for k := range r.entries { // evict an arbitrary entry
			delete(r.entries, k)
			break
		}
	}
	r.entries[digest] = entry{mod: fi.ModTime(), size: fi.Size(), rec: rec}
	r.mu.Unlock()
	return rec, nil
}

func read(name, digest string) (*Record, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("scan record: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scan record %s: %w", name, err)
	}
	if len(b) > MaxRecordBytes {
		return nil, fmt.Errorf("scan record %s: larger than %d MiB", name, MaxRecordBytes>>20)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("scan record %s: %w", name, err)
	}
	found := false
	for _, d := range rec.Digests {
		found = found || d == digest
	}
	if !found {
		return nil, fmt.Errorf("scan record %s: it is the record of %v, not of %s", name, rec.Digests, digest)
	}
	return &rec, nil
}
