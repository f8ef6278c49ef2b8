package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/rules/packs"
)

// FixturesDir is the folder, beside a folder's rule files, that holds each
// rule's fixtures: fixtures/<RULE-ID>/pass*.yaml and fail*.yaml.
const FixturesDir = "fixtures"

// Builtin returns the rules of the built-in packs embedded in the binary,
// each linked to its root cause from the packs' causes file (see Cause).
// The causes file must name existing rules, each in one cause at most.
func Builtin() ([]*Rule, error) {
	const prefix = "builtin:"
	rules, err := loadFS(packs.FS, ".", prefix, CausesFile)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(packs.FS, CausesFile)
	if err != nil {
		return nil, fmt.Errorf("load causes: %w", err)
	}
	causes, err := ParseCauses(data, prefix+CausesFile)
	if err != nil {
		return nil, err
	}
	if err := linkCauses(rules, causes); err != nil {
		return nil, err
	}
	for _, r := range rules {
		r.builtin = true
	}
	return rules, nil
}

// LoadDir loads every rule file (*.yaml, *.yml) below dir, skipping the
// fixtures folders. Rules loaded from a folder must be CEL rules: a native
// rule there is an error, as no Go code would decide it.
func LoadDir(dir string) ([]*Rule, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("load rules %s: %w", dir, err)
	}
	rs, err := LoadFS(os.DirFS(dir), ".", dir+"/")
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range rs {
		if r.IsNative() {
			errs = append(errs, fmt.Errorf("rule %s (%s): native: only Kordon's built-in checks are decided by Go code; write validations in CEL", r.ID, r.Where()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rs, nil
}

// LoadFS loads every rule file below root in fsys. Each YAML document of a
// rule file is one rule. prefix is prepended to file names in rule
// locations and errors. All files are read before returning; the error
// lists every problem with file and line.
func LoadFS(fsys fs.FS, root, prefix string) ([]*Rule, error) {
	return loadFS(fsys, root, prefix, "")
}

// loadFS is LoadFS leaving out the file skip (a path below root), unless
// skip is empty.
func loadFS(fsys fs.FS, root, prefix, skip string) ([]*Rule, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == FixturesDir || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if skip != "" && p == path.Join(root, skip) {
			return nil
		}
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	sort.Strings(files)
	var rules []*Rule
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("load rules %s%s: %w", prefix, f, err))
			continue
		}
		rs, err := ParseRules(data, prefix+f)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, rs...)
	}
	if err := errors.Join(append(errs, checkUnique(rules))...); err != nil {
		return nil, err
	}
	return rules, nil
}

// ParseRules parses a rule file: one rule per YAML document. Unknown fields
// are errors. Every rule is checked with Validate.
func ParseRules(data []byte, file string) ([]*Rule, error) {
	var rules []*Rule
	var errs []error
	for _, doc := range k8s.SplitDocuments(data) {
		r := &Rule{}
		if err := yaml.UnmarshalStrict(doc.Text, r); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, doc.Line, err))
			continue
		}
		r.File, r.Line = file, doc.Line
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// checkUnique reports IDs and aliases that name two rules.
func checkUnique(rules []*Rule) error {
	seen := map[string]*Rule{}
	var errs []error
	for _, r := range rules {
		for _, id := range r.IDs() {
			if prev, ok := seen[id]; ok {
				errs = append(errs, fmt.Errorf("rule ID %s defined twice: %s and %s", id, prev.Where(), r.Where()))
				continue
			}
			seen[id] = r
		}
	}
	return errors.Join(errs...)
}

// Merge appends custom rules to built-in ones; an ID defined in both is an
// error (custom rules must use their own IDs).
func Merge(builtin, custom []*Rule) ([]*Rule, error) {
	all := append(slices.Clip(builtin), custom...)
	if err := checkUnique(all); err != nil {
		return nil, err
	}
	return all, nil
}
