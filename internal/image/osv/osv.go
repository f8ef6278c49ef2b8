// Package osv reads Open Source Vulnerability records (the OSV schema,
// https://ossf.github.io/osv-schema/) from a folder of JSON files at any
// depth or from osv.dev's per-ecosystem zip files (ECOSYSTEM/all.zip), and
// indexes their affected packages by ecosystem and name. A malformed
// record is an error naming its file (and zip entry) and never stops the
// others from loading. A DB is immutable once loaded and safe for
// concurrent use.
package osv

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Record is one OSV record (the fields matching uses).
type Record struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Aliases   []string   `json:"aliases,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected"`
	// DatabaseSpecific may carry a textual severity ("HIGH").
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Severity is a scored severity: type CVSS_V2, CVSS_V3, CVSS_V4 (a vector)
// or Ubuntu (a word).
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected names one package and the versions a record affects.
type Affected struct {
	Package  Package    `json:"package"`
	Ranges   []Range    `json:"ranges,omitempty"`
	Versions []string   `json:"versions,omitempty"`
	Severity []Severity `json:"severity,omitempty"`
	// EcosystemSpecific and DatabaseSpecific are kept for callers
	// (e.g. Go's affected symbols, Debian's urgency).
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// Package identifies a package in an ecosystem.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a list of events over an ordering: SEMVER, ECOSYSTEM or GIT.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one point of a range: exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Validate checks what matching relies on.
func (r *Record) Validate() error {
	if r.ID == "" {
		return errors.New("record has no id")
	}
	for i, a := range r.Affected {
		for j, rg := range a.Ranges {
			if rg.Type == "" {
				return fmt.Errorf("affected[%d].ranges[%d]: no type", i, j)
			}
			for k, e := range rg.Events {
				n := 0
				for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("affected[%d].ranges[%d].events[%d]: want exactly one of introduced, fixed, last_affected, limit", i, j, k)
				}
			}
		}
	}
	return nil
}

// Entry is one affected package of one record, as indexed.
type Entry struct {
	Record   *Record
	Affected *Affected
}

// DB is an index of OSV records.
type DB struct {
	// byKey maps "ecosystem\x00name" to entries.
	byKey   map[string][]Entry
	records int
	// Errors are the records that could not be read.
	Errors []error
}

// Records returns the number of records loaded.
func (db *DB) Records() int { return db.records }

// Lookup returns the entries for a package in an ecosystem. The ecosystem
// must be the record's exactly ("Debian:12", "Go", "PyPI").
func (db *DB) Lookup(ecosystem, name string) []Entry {
	if db == nil {
		return nil
	}
	if ecosystem == "PyPI" {
		name = normalizePyPI(name)
	}
	return db.byKey[ecosystem+"\x00"+name]
}

// normalizePyPI applies PEP 503 name normalization.
func normalizePyPI(n string) string {
	n = strings.ToLower(n)
	return strings.NewReplacer("_", "-", ".", "-").Replace(n)
}

// MaxRecordBytes bounds one record file.
const MaxRecordBytes = 8 << 20

// New returns an empty DB; Add records to it.
func New() *DB { return &DB{byKey: map[string][]Entry{}} }

// Add indexes a record.
func (db *DB) Add(r *Record) {
	db.records++
	for i := range r.Affected {
		a := &r.Affected[i]
		name := a.Package.Name
		if a.Package.Ecosystem == "PyPI" {
			name = normalizePyPI(name)
		}
		k := a.Package.Ecosystem + "\x00" + name
		db.byKey[k] = append(db.byKey[k], Entry{Record: r, Affected: a})
	}
}

// Load reads the records under each path: a JSON file, a zip file, or a
// folder searched at any depth for *.json and *.zip files (symbolic links
// below the folder are not followed). Unreadable or malformed records are
// collected in DB.Errors; Load fails only when a path cannot be read at
// all.
func Load(paths ...string) (*DB, error) {
	db := New()
	for _, p := range paths {
		if err := db.load(p); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) load(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("vulnerability database: %w", err)
	}
	if !st.IsDir() {
		db.loadFile(path)
		return nil
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			db.Errors = append(db.Errors, err)
			return nil
		}
		if d.Type().IsRegular() {
			db.loadFile(p)
		}
		return nil
	})
}

func (db *DB) loadFile(p string) {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".json":
		f, err := os.Open(p)
		if err != nil {
			db.Errors = append(db.Errors, err)
			return
		}
		defer f.Close()
		db.decode(p, f)
	case ".zip":
		db.loadZip(p)
	}
}

func (db *DB) decode(where string, r io.Reader) {
	b, err := io.ReadAll(io.LimitReader(r, MaxRecordBytes+1))
	if err != nil {
		db.Errors = append(db.Errors, fmt.Errorf("%s: %w", where, err))
		return
	}
	if len(b) > MaxRecordBytes {
		db.Errors = append(db.Errors, fmt.Errorf("%s: record larger than %d bytes", where, MaxRecordBytes))
		return
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		db.Errors = append(db.Errors, fmt.Errorf("%s: %w", where, err))
		return
	}
	if err := rec.Validate(); err != nil {
		db.Errors = append(db.Errors, fmt.Errorf("%s: %w", where, err))
		return
	}
	db.Add(&rec)
}

func (db *DB) loadZip(p string) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		db.Errors = append(db.Errors, fmt.Errorf("%s: %w", p, err))
		return
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		where := p + ": " + f.Name
		if f.UncompressedSize64 > MaxRecordBytes {
			db.Errors = append(db.Errors, fmt.Errorf("%s: record larger than %d bytes", where, MaxRecordBytes))
			continue
		}
		rc, err := f.Open()
		if err != nil {
			db.Errors = append(db.Errors, fmt.Errorf("%s: %w", where, err))
			continue
		}
		db.decode(where, rc)
		rc.Close()
	}
}

// Names returns the package names of an ecosystem that records affect,
// in no particular order.
func (db *DB) Names(ecosystem string) []string {
	var out []string
	for k := range db.byKey {
		if eco, n, ok := strings.Cut(k, "\x00"); ok && eco == ecosystem {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
