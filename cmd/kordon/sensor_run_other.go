//go:build !linux

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSensorRunCmd: the sensor's eBPF programs need Linux.
func newSensorRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the sensor on this node (Linux only)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("kordon sensor run needs Linux with eBPF; replay, profiles and install work everywhere")
		},
	}
}
