package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testTree builds a command tree like kordon's: scan with a repeatable
// array flag, a comma-separated slice, a path flag and scalars; netpol
// lint sharing some of them.
type testFlags struct {
	failOn, minSeverity string
	exclude, exceptions []string
	frameworks          []string
	quiet               bool
	maxSize             int
	lintFailOn          string
	logLevel            string
}

func testTree(f *testFlags) (*cobra.Command, *cobra.Command, *cobra.Command) {
	root := &cobra.Command{Use: "kordon"}
	root.PersistentFlags().StringVar(&f.logLevel, "log-level", "warn", "")
	scan := &cobra.Command{Use: "scan", Run: func(*cobra.Command, []string) {}}
	fl := scan.Flags()
	fl.StringVar(&f.failOn, "fail-on", "low", "")
	fl.StringVar(&f.minSeverity, "min-severity", "info", "")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "")
	fl.StringArrayVar(&f.exceptions, "exceptions", nil, "")
	_ = scan.MarkFlagFilename("exceptions", "yaml")
	fl.StringSliceVar(&f.frameworks, "framework", nil, "")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "")
	fl.IntVar(&f.maxSize, "max-size", 10, "")
	netpol := &cobra.Command{Use: "netpol"}
	lint := &cobra.Command{Use: "lint", Run: func(*cobra.Command, []string) {}}
	lint.Flags().StringVar(&f.lintFailOn, "fail-on", "medium", "")
	netpol.AddCommand(lint)
	root.AddCommand(scan, netpol)
	return root, scan, lint
}

const applyConfig = `apiVersion: kordon.dev/v1alpha1
kind: Config
defaults:
  fail-on: critical
  min-severity: low
  log-level: debug
commands:
  scan:
    fail-on: high
    exclude: ["vendor/**", "**/testdata/**"]
    exceptions: [security/exceptions.yaml]
    framework: CIS,PSS
    quiet: true
    max-size: 2048
`

// TestApplyPrecedence runs the command line through cobra and checks that
// a flag on it beats the command's section, which beats defaults, which
// beat the built-in default.
func TestApplyPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Parse(filepath.Join(dir, ".kordon.yaml"), []byte(applyConfig))
	if err != nil {
		t.Fatal(err)
	}
	var f testFlags
	var applied []Flag
	var scan *cobra.Command
	// run executes a command line on a fresh command tree, as kordon does
	// once per process.
	run := func(args ...string) {
		t.Helper()
		f = testFlags{}
		var root *cobra.Command
		root, scan, _ = testTree(&f)
		if err := cfg.Validate(TreeOf(root)); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
			var err error
			applied, err = cfg.Apply(Name(cmd), cmd.Flags())
			return err
		}
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
	}
	run("scan", "--fail-on", "medium", "--exclude", "x/**")
	if f.failOn != "medium" {
		t.Errorf("--fail-on = %q, want medium (command line beats config)", f.failOn)
	}
	if !slices.Equal(f.exclude, []string{"x/**"}) {
		t.Errorf("--exclude = %q, want only the command line's", f.exclude)
	}
	if f.minSeverity != "low" || f.logLevel != "debug" {
		t.Errorf("--min-severity, --log-level = %q, %q; want low, debug from defaults", f.minSeverity, f.logLevel)
	}
	if !slices.Equal(f.frameworks, []string{"CIS", "PSS"}) {
		t.Errorf("--framework = %q, want CIS, PSS (a scalar splits as on the command line)", f.frameworks)
	}
	if want := []string{filepath.Join(dir, "security/exceptions.yaml")}; !slices.Equal(f.exceptions, want) {
		t.Errorf("--exceptions = %q, want %q (relative to the config file)", f.exceptions, want)
	}
	if !f.quiet || f.maxSize != 2048 {
		t.Errorf("--quiet, --max-size = %v, %d; want true, 2048", f.quiet, f.maxSize)
	}
	var names []string
	for _, a := range applied {
		names = append(names, a.Name)
	}
	if want := []string{"min-severity", "log-level", "exceptions", "framework", "quiet", "max-size"}; !slices.Equal(names, want) {
		t.Errorf("applied %q, want %q", names, want)
	}
	if !scan.Flags().Lookup("min-severity").Changed {
		t.Error("a flag set from the config is not marked changed")
	}

	// netpol lint has fail-on but no section: defaults apply.
	run("netpol", "lint")
	if f.lintFailOn != "critical" {
		t.Errorf("netpol lint --fail-on = %q, want critical from defaults", f.lintFailOn)
	}

	// A list and an array flag: each item as if given once.
	run("scan")
	if !slices.Equal(f.exclude, []string{"vendor/**", "**/testdata/**"}) || f.failOn != "high" {
		t.Errorf("--exclude, --fail-on = %q, %q; want the scan section's", f.exclude, f.failOn)
	}
}

func TestApplyErrors(t *testing.T) {
	var f testFlags
	root, scan, _ := testTree(&f)
	cfg, err := Parse(".kordon.yaml", []byte(`apiVersion: kordon.dev/v1alpha1
kind: Config
commands:
  scan:
    fail-on: [high, critical]
    max-size: lots
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := root.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Apply("scan", scan.Flags())
	for _, want := range []string{
		".kordon.yaml:5: commands.scan.fail-on: --fail-on: takes one value, not a list",
		".kordon.yaml:6: commands.scan.max-size: --max-size: ",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Apply error = %v, want it to contain %q", err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	var f testFlags
	root, _, _ := testTree(&f)
	cfg, err := Parse(".kordon.yaml", []byte(`apiVersion: kordon.dev/v1alpha1
kind: Config
defaults:
  fail-on: high
  min-severty: low
  allow-remote: true
commands:
  scan:
    framwork: [CIS]
  netpol lnt:
    fail-on: low
  netpol lint:
    exclude: [x]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(TreeOf(root))
	want := []string{
		".kordon.yaml:5: defaults.min-severty: no command has a flag --min-severty (did you mean min-severity?)",
		".kordon.yaml:6: defaults.allow-remote: --allow-remote cannot be set in a configuration file",
		".kordon.yaml:9: commands.scan.framwork: kordon scan has no flag --framwork (did you mean framework?)",
		".kordon.yaml:11: commands.netpol lnt.fail-on: no command kordon netpol lnt (did you mean netpol lint?)",
		".kordon.yaml:13: commands.netpol lint.exclude: kordon netpol lint has no flag --exclude",
	}
	if err == nil {
		t.Fatal("Validate = nil")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Validate:\n%s\nwant %d problems", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}
