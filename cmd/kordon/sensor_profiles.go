package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/sensor/baseline"
)

func newSensorProfilesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "Export, review and import the workload profiles a sensor learned",
		Long: `A sensor keeps one profile per workload in its --profiles directory. export
prints them as one YAML stream to review and keep in Git; import checks an
edited stream and writes it back (the sensor loads profiles when it starts).`,
	}
	var dir string
	export := &cobra.Command{
		Use:     "export",
		Short:   "Print the profiles of a profiles directory as YAML",
		Example: `  kordon sensor profiles export --profiles /var/lib/kordon/profiles > profiles.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := baseline.NewStore(baseline.Config{Dir: dir})
			if err != nil {
				return usageErr(err)
			}
			data, err := baseline.Encode(s.Profiles())
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	imp := &cobra.Command{
		Use:     "import FILE",
		Short:   "Check profiles (YAML) and write them into a profiles directory",
		Example: `  kordon sensor profiles import profiles.yaml --profiles /var/lib/kordon/profiles`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fh, err := os.Open(args[0])
			if err != nil {
				return usageErr(err)
			}
			defer fh.Close()
			ps, err := baseline.Decode(fh, args[0])
			if err != nil {
				return usageErr(err)
			}
			s, err := baseline.NewStore(baseline.Config{Dir: dir})
			if err != nil {
				return usageErr(err)
			}
			if err := s.Import(ps); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d profiles into %s\n", len(ps), dir)
			return nil
		},
	}
	for _, c := range []*cobra.Command{export, imp} {
		c.Flags().StringVar(&dir, "profiles", "/var/lib/kordon/profiles", "the sensor's profiles directory")
	}
	cmd.AddCommand(export, imp)
	return cmd
}
