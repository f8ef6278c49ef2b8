package crstest

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"

	crstests "github.com/corazawaf/coraza-coreruleset/v4/tests"
	"go.yaml.in/yaml/v3"
)

// Test is one regression test: one or more request stages.
type Test struct {
	// ID is RULE-N, as CRS and go-ftw name tests.
	ID     string
	RuleID int
	File   string
	Stages []Stage
}

// Stage is one request and what it must produce.
type Stage struct {
	Input  Input  `yaml:"input"`
	Output Output `yaml:"output"`
}

// Input is a test request, in go-ftw's format.
type Input struct {
	Method              *string        `yaml:"method"`
	URI                 *string        `yaml:"uri"`
	Version             *string        `yaml:"version"`
	Headers             yaml.Node      `yaml:"headers"`
	Data                *string        `yaml:"data"`
	EncodedRequest      string         `yaml:"encoded_request"`
	AutocompleteHeaders *bool          `yaml:"autocomplete_headers"`
	Extra               map[string]any `yaml:",inline"`
}

// Output is what a test expects.
type Output struct {
	Status      int  `yaml:"status"`
	ExpectError bool `yaml:"expect_error"`
	Log         struct {
		ExpectIDs    []int  `yaml:"expect_ids"`
		NoExpectIDs  []int  `yaml:"no_expect_ids"`
		MatchRegex   string `yaml:"match_regex"`
		NoMatchRegex string `yaml:"no_match_regex"`
	} `yaml:"log"`
	ResponseContains string `yaml:"response_contains"`
}

type file struct {
	RuleID int `yaml:"rule_id"`
	Tests  []struct {
		TestID int     `yaml:"test_id"`
		Stages []Stage `yaml:"stages"`
	} `yaml:"tests"`
}

// Load reads every test of the coreruleset module, ordered by file and
// test number. A file that does not parse is an error naming it.
func Load() ([]Test, error) {
	return LoadFS(crstests.FS)
}

// LoadFS reads the tests of fsys (folders of YAML files).
func LoadFS(fsys fs.FS) ([]Test, error) {
	var out []Test
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var f file
		if err := yaml.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for i, t := range f.Tests {
			n := t.TestID
			if n == 0 {
				n = i + 1
			}
			out = append(out, Test{ID: strconv.Itoa(f.RuleID) + "-" + strconv.Itoa(n), RuleID: f.RuleID, File: p, Stages: t.Stages})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Test) int {
		if a.RuleID != b.RuleID {
			return a.RuleID - b.RuleID
		}
		return 0
	})
	return out, err
}
