package bpf

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ensureTracefs mounts tracefs at /sys/kernel/tracing unless a tracefs is
// already reachable there or under debugfs.
func ensureTracefs() error {
	for _, dir := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(dir); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll("/sys/kernel/tracing", 0o755); err != nil {
		return fmt.Errorf("tracefs: %w", err)
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs at /sys/kernel/tracing: %w", err)
	}
	return nil
}

// cgroupDepth is the level of a cgroup directory below the cgroup2 mount
// it is in (the mount's root is level 0), found by walking up until the
// parent is no longer a cgroup2 directory.
func cgroupDepth(dir string) int {
	depth := 0
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		var fs unix.Statfs_t
		parent := filepath.Dir(d)
		if parent == d || unix.Statfs(parent, &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
			return depth
		}
		depth++
	}
}
