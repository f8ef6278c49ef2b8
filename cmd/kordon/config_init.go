package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
)

// starterConfig is what kordon config init writes: valid as it is (a test
// loads it), every setting explained, most of them commented out.
const starterConfig = `# Kordon configuration: docs/configuration.md.
# kordon reads this file when it runs in this folder or below it (up to the
# git root). A flag on the command line wins over a value here, which wins
# over the built-in default. kordon config show [COMMAND] prints what applies.
apiVersion: kordon.dev/v1alpha1
kind: Config

# Flag values for every command that has the flag, by long name.
defaults:
  # min-severity: low

# Flag values for one command (its name without kordon), by long name.
# A list gives a repeatable flag several values.
commands:
  scan:
    fail-on: high
    # framework: [CIS, PSS]
    # exceptions: [security/exceptions.yaml]   # relative to this file
  # netpol lint:
  #   fail-on: medium

# Exceptions, written as in an exceptions file; each needs a rule and a reason.
exceptions:
  # - rule: KOR-POD-001
  #   kind: DaemonSet
  #   namespace: kube-system
  #   name: "cilium-*"
  #   reason: the CNI needs the host network
  #   expires: 2027-06-30

# Exceptions files, relative to this file.
exceptionFiles: []

# Rule parameters, by rule ID: kordon rules show RULE-ID lists a rule's
# parameters and their defaults. A value replaces the default.
parameters:
  # KOR-IMG-003:
  #   trustedRegistries: [registry.example.com/, registry.k8s.io/]
  # KOR-WL-010:
  #   minUserID: 10000
`

func newConfigInitCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented starter .kordon.yaml",
		Long: `Write a starter configuration, with every section explained, to FILE
(default .kordon.yaml in the current folder). An existing file is kept unless
--force.`,
		Example:     "  kordon config init\n  kordon config init deploy/.kordon.yaml --force",
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{annotationNoConfig: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ".kordon.yaml"
			if len(args) == 1 {
				file = args[0]
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			fh, err := os.OpenFile(file, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usageErr(fmt.Errorf("%s exists: keep it, or overwrite it with --force", file))
			}
			if err != nil {
				return usageErr(err)
			}
			if _, err := fh.WriteString(starterConfig); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; kordon config show prints what it sets\n", file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
