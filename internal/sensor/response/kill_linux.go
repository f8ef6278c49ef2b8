package response

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// KillProcess sends SIGKILL through a pidfd, so that a process id reused
// between the open and the signal is never hit.
func KillProcess(pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill %d: the process has already exited", pid)
		}
		// Kernels before 5.3: plain kill.
		if errors.Is(err, unix.ENOSYS) {
			return unix.Kill(pid, unix.SIGKILL)
		}
		return fmt.Errorf("kill %d: pidfd_open: %w", pid, err)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	return nil
}
