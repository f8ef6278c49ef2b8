//go:build !linux

package response

import "errors"

// KillProcess is only available on Linux, where the sensor runs.
func KillProcess(pid int) error {
	return errors.New("kill: the sensor runs on Linux only")
}
