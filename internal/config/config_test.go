package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kordon-dev/kordon/internal/strictyaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestInvalidGolden loads every file of testdata/invalid and compares the
// problems, one per line as kordon prints them, with the .golden file
// beside it.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			var se *strictyaml.Error
			if !errors.As(err, &se) {
				t.Fatalf("Load = %v, want a *strictyaml.Error", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (go test -update writes it): %v", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			for _, p := range se.Problems {
				if p.File != file || (p.Line == 0 && p.Field != "") {
					t.Errorf("problem %q: want file %s and a line", p, file)
				}
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".kordon.yaml")
	cfg, err := Parse(file, []byte(`apiVersion: kordon.dev/v1alpha1
kind: Config
defaults:
  min-severity: low
  max-file-size: 1048576
commands:
  scan:
    framework: [CIS, PSS]
    fail-on: high
    no-annotation-exceptions: true
  netpol   lint:
    fail-on: medium
exceptions:
  - rule: KOR-POD-001
    kind: DaemonSet
    name: "cilium-*"
    reason: the CNI needs the host network
    expires: 2027-06-30
exceptionFiles: [security/exceptions.yaml, /etc/kordon/exceptions.yaml]
parameters:
  KOR-IMG-003:
    trustedRegistries:
      - registry.example.com/
  KOR-WL-010: {minUserID: 1000}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range cfg.Flags {
		got = append(got, f.Command+"|"+f.Name+"="+strings.Join(f.Values, ";")+"|"+f.Where())
	}
	want := []string{
		"|min-severity=low|" + file + ":4: defaults.min-severity",
		"|max-file-size=1048576|" + file + ":5: defaults.max-file-size",
		"scan|framework=CIS;PSS|" + file + ":8: commands.scan.framework",
		"scan|fail-on=high|" + file + ":9: commands.scan.fail-on",
		"scan|no-annotation-exceptions=true|" + file + ":10: commands.scan.no-annotation-exceptions",
		"netpol lint|fail-on=medium|" + file + ":12: commands.netpol   lint.fail-on",
	}
	if !slices.Equal(got, want) {
		t.Errorf("flags:\n got %q\nwant %q", got, want)
	}
	if len(cfg.Exceptions) != 1 || cfg.Exceptions[0].Source != file+":14" || cfg.Exceptions[0].Expired(mustDay(t, "2027-06-30")) {
		t.Errorf("exceptions = %+v, want one from %s:14 valid through 2027-06-30", cfg.Exceptions, file)
	}
	if want := []string{filepath.Join(dir, "security/exceptions.yaml"), "/etc/kordon/exceptions.yaml"}; !slices.Equal(cfg.ExceptionFiles, want) {
		t.Errorf("exception files = %q, want %q", cfg.ExceptionFiles, want)
	}
	var params []string
	for _, p := range cfg.Params {
		params = append(params, p.Rule+"."+p.Name+"="+string(p.Value)+" @ "+p.Source)
	}
	wantParams := []string{
		`KOR-IMG-003.trustedRegistries=["registry.example.com/"] @ ` + file + ":22: parameters.KOR-IMG-003.trustedRegistries",
		`KOR-WL-010.minUserID=1000 @ ` + file + ":24: parameters.KOR-WL-010.minUserID",
	}
	if !slices.Equal(params, wantParams) {
		t.Errorf("params:\n got %q\nwant %q", params, wantParams)
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("apiVersion: kordon.dev/v1alpha1\nkind: Config\n#"+strings.Repeat("x", MaxSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v, want a size error", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) = %v, want not a regular file", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load(missing) = nil error")
	}
}
