// Package attribution maps an event's cgroup to the container, pod,
// namespace and workload it belongs to: the cgroup v2 path comes from
// /proc/<pid>/cgroup (or a walk of the cgroup2 mount), the container id and
// pod UID from the container runtimes' cgroup path conventions (containerd,
// CRI-O, Docker; systemd and cgroupfs drivers), and the pod, its owner and
// the image digest from a pod list (the API server's pods of this node).
// Without Kubernetes the workload is the cgroup path itself.
package attribution

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CgroupInfo is what a cgroup path tells on its own.
type CgroupInfo struct {
	// Path is the cgroup v2 path, e.g. /kubepods.slice/.../cri-containerd-<id>.scope.
	Path string
	// Runtime is containerd, cri-o or docker, when the path names one.
	Runtime string
	// ContainerID is the runtime's container id (64 hex digits).
	ContainerID string
	// PodUID is the pod's UID from a kubepods path.
	PodUID string
}

var (
	// systemd driver: cri-containerd-<id>.scope, crio-<id>.scope,
	// docker-<id>.scope; cgroupfs driver: a bare <id> below pod<uid>/ or
	// /docker/.
	scopeRE  = regexp.MustCompile(`^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$`)
	bareIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	podRE    = regexp.MustCompile(`pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$`)
)

// ParseCgroupPath reads the container id, runtime and pod UID out of a
// cgroup path, following the runtimes' naming conventions.
func ParseCgroupPath(path string) CgroupInfo {
	info := CgroupInfo{Path: path}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if m := podRE.FindStringSubmatch(p); m != nil && strings.Contains(path, "kubepods") {
			info.PodUID = strings.ReplaceAll(m[1], "_", "-")
			continue
		}
		if m := scopeRE.FindStringSubmatch(p); m != nil {
			info.ContainerID = m[2]
			info.Runtime = map[string]string{"cri-containerd": "containerd", "crio": "cri-o", "docker": "docker"}[m[1]]
			continue
		}
		if bareIDRE.MatchString(p) && i > 0 {
			info.ContainerID = p
			if parts[i-1] == "docker" {
				info.Runtime = "docker"
			}
		}
	}
	return info
}

// ProcCgroupPath returns the cgroup v2 path of a process from
// /proc/<pid>/cgroup (the "0::" line).
func ProcCgroupPath(procRoot string, pid uint32) (string, error) {
	f, err := os.Open(filepath.Join(procRoot, fmt.Sprint(pid), "cgroup"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	return parseProcCgroup(io.LimitReader(f, 64<<10))
}

func parseProcCgroup(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no cgroup v2 entry")
}

// Cgroup2Mount returns where the cgroup v2 hierarchy is mounted, from
// /proc/self/mountinfo (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
// hybrid host).
func Cgroup2Mount(procRoot string) (string, error) {
	f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4<<20))
	for sc.Scan() {
		// id parent major:minor root mountpoint opts ... - fstype source superopts
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no cgroup2 file system is mounted")
}
