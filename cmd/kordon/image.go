package main

import "github.com/spf13/cobra"

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Inventory container images and find their known vulnerabilities",
		Long: `Kordon's container-image tools: list the packages installed in an image (OS
packages, Go binaries, Java, Python, Node, Ruby, Rust, .NET) on its final
filesystem, and match them offline against OSV vulnerability records.

See docs/image.md.`,
	}
	cmd.AddCommand(newImageScanCmd())
	return cmd
}
