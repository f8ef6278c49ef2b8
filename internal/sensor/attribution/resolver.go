package attribution

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Pods finds the pod a container belongs to: by pod UID and container id.
// Implementations are safe for concurrent use.
type Pods interface {
	// Lookup returns the workload of the container, or nil when no pod of
	// the node has it (yet).
	Lookup(ctx context.Context, podUID, containerID string) *event.Workload
}

// Resolver attributes events to workloads, caching per cgroup id. It is
// safe for concurrent use.
type Resolver struct {
	procRoot   string
	cgroupRoot string
	pods       Pods // nil: no Kubernetes
	maxEntries int

	mu    sync.Mutex
	cache map[uint64]*entry
}

type entry struct {
	w       *event.Workload
	info    CgroupInfo
	checked time.Time
}

// Options configure a Resolver.
type Options struct {
	// ProcRoot is /proc unless set.
	ProcRoot string
	// CgroupRoot is the cgroup2 mount; found in mountinfo unless set.
	CgroupRoot string
	// Pods looks pods up; nil means a plain host (--no-kubernetes): the
	// workload of a cgroup is its path.
	Pods Pods
	// MaxEntries bounds the cache (default 65536 cgroups).
	MaxEntries int
}

// NewResolver returns a resolver.
func NewResolver(opts Options) (*Resolver, error) {
	r := &Resolver{procRoot: opts.ProcRoot, cgroupRoot: opts.CgroupRoot, pods: opts.Pods, maxEntries: opts.MaxEntries, cache: map[uint64]*entry{}}
	if r.procRoot == "" {
		r.procRoot = "/proc"
	}
	if r.maxEntries <= 0 {
		r.maxEntries = 65536
	}
	if r.cgroupRoot == "" {
		root, err := Cgroup2Mount(r.procRoot)
		if err != nil {
			return nil, fmt.Errorf("find cgroup2 mount: %w", err)
		}
		r.cgroupRoot = root
	}
	return r, nil
}

// retry is how long an unattributed container waits before its pod is
// looked up again (the pod list may lag the container's start).
const retry = 2 * time.Second

// Resolve returns the workload of an event's cgroup, or nil for the host
// (the root cgroup and cgroups no container runtime made, with
// Kubernetes) or when the cgroup cannot be found.
func (r *Resolver) Resolve(ctx context.Context, cgroupID uint64, pid uint32) *event.Workload {
	if cgroupID == 0 {
		return nil
	}
	r.mu.Lock()
	en, ok := r.cache[cgroupID]
	r.mu.Unlock()
	if ok && (en.w != nil || en.info.ContainerID == "" || time.Since(en.checked) < retry) {
		return en.w
	}
	if !ok {
		path, found := r.cgroupPath(cgroupID, pid)
		if !found {
			return nil
		}
		en = &entry{info: ParseCgroupPath(path)}
	}
	en.checked = time.Now()
	en.w = r.workload(ctx, en.info)
	r.mu.Lock()
	if len(r.cache) >= r.maxEntries {
		clear(r.cache) // bounded: start over rather than grow
	}
	r.cache[cgroupID] = en
	r.mu.Unlock()
	return en.w
}

func (r *Resolver) workload(ctx context.Context, info CgroupInfo) *event.Workload {
	if r.pods == nil {
		if info.Path == "/" || info.Path == "" {
			return nil
		}
		return &event.Workload{Cgroup: info.Path, ContainerID: info.ContainerID}
	}
	if info.ContainerID == "" {
		return nil
	}
	w := r.pods.Lookup(ctx, info.PodUID, info.ContainerID)
	if w != nil {
		w.Cgroup = info.Path
	}
	return w
}

// cgroupPath finds the path of a cgroup id: from the process's
// /proc/<pid>/cgroup when the inode matches, else by a bounded walk of the
// cgroup2 mount (events without a process, such as TCP state changes).
func (r *Resolver) cgroupPath(id uint64, pid uint32) (string, bool) {
	if pid != 0 {
		if p, err := ProcCgroupPath(r.procRoot, pid); err == nil && r.inode(p) == id {
			return p, true
		}
	}
	const maxDirs = 20000
	n := 0
	var found string
	filepath.WalkDir(r.cgroupRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if n++; n > maxDirs || found != "" {
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(r.cgroupRoot, p)
		if r.inode("/"+rel) == id {
			found = "/" + filepath.ToSlash(rel)
			if rel == "." {
				found = "/"
			}
			return filepath.SkipAll
		}
		return nil
	})
	return found, found != ""
}

func (r *Resolver) inode(path string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(r.cgroupRoot, path), &st); err != nil {
		return 0
	}
	return st.Ino
}

// Forget drops a cgroup from the cache (its last process exited).
func (r *Resolver) Forget(cgroupID uint64) {
	r.mu.Lock()
	delete(r.cache, cgroupID)
	r.mu.Unlock()
}
