// Package event defines what the runtime sensor observes: one Event per
// process exec or exit, file open, connection or security-relevant system
// call, with the process, its cgroup and — once attributed — the workload it
// belongs to. Events come from the kernel (internal/sensor/bpf) or from a
// recorded stream (JSON lines, as the rule fixtures are), and are the input
// of baselines and runtime rules alike. The JSON form is documented in
// docs/sensor.md.
package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Kind is what happened.
type Kind string

// Event kinds.
const (
	Exec    Kind = "exec"    // a process ran a new executable (Path, Args)
	Exit    Kind = "exit"    // a process ended (Ret: exit status)
	Open    Kind = "open"    // a file was opened (Path, Flags, Ret: fd or -errno)
	Connect Kind = "connect" // a process connected a socket (Addr, Port)
	TCP     Kind = "tcp"     // a TCP connection was established (Direction, Addr, Port, Local*)
	Accept  Kind = "accept"  // a process accepted a connection (Ret: fd)
	Ptrace  Kind = "ptrace"  // ptrace(2) (Flags: request, Target)
	Mount   Kind = "mount"   // mount(2) (Path: target, FSType, Flags)
	Setuid  Kind = "setuid"  // setuid(2) or setresuid(2) (Flags: the uid asked for)
	Unshare Kind = "unshare" // unshare(2) (Flags: CLONE_* flags)
	Memfd   Kind = "memfd"   // memfd_create(2) (Path: name)
	// Capability is a capability check (Capability, Flags: its number,
	// Ret: 0 granted or -EPERM denied), from the capability/cap_capable
	// tracepoint or, without it, from the system calls that need one
	// (Syscall): the first of each capability and result per process.
	Capability Kind = "capability"
)

// Kinds lists every kind, in documentation order.
func Kinds() []Kind {
	return []Kind{Exec, Exit, Open, Connect, TCP, Accept, Ptrace, Mount, Setuid, Unshare, Memfd, Capability}
}

// Event is one observation. Fields that do not apply to a kind are zero.
type Event struct {
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// PID is the process (thread group) id; 0 when the kernel reported the
	// event outside the process (TCP state changes). TID is the thread.
	PID  uint32 `json:"pid,omitempty"`
	TID  uint32 `json:"tid,omitempty"`
	PPID uint32 `json:"ppid,omitempty"`
	UID  uint32 `json:"uid"`
	// Comm is the kernel's task name (at most 15 bytes).
	Comm string `json:"comm,omitempty"`
	// Exe is the executable the process runs, from its last exec (or
	// /proc/<pid>/exe for processes older than the sensor).
	Exe string `json:"exe,omitempty"`
	// CgroupID is the cgroup v2 id of the task or socket.
	CgroupID uint64 `json:"cgroupID,omitempty"`
	// Path is the executable (exec), file (open), mount target (mount) or
	// memfd name (memfd).
	Path string `json:"path,omitempty"`
	// Args are the exec's arguments, bounded to 256 bytes in all.
	Args []string `json:"args,omitempty"`
	// Flags are the open flags (O_*), mount flags, unshare flags, ptrace
	// request or the uid asked for by setuid.
	Flags uint64 `json:"flags,omitempty"`
	// Capability is the capability checked (CAP_SYS_ADMIN), for capability
	// events.
	Capability string `json:"capability,omitempty"`
	// Syscall, on a capability event, is the system call it was derived
	// from when the sensor runs without capability/cap_capable (the
	// fallback mode of docs/sensor.md); empty from the tracepoint.
	Syscall string `json:"syscall,omitempty"`
	// Repeats, on an open, counts identical opens (same process, path,
	// flags and success, within a second) the kernel folded into this
	// record instead of reporting each.
	Repeats uint64 `json:"repeats,omitempty"`
	// Ret is the system call's result (an fd, or -errno) or the exit status.
	Ret int32 `json:"ret,omitempty"`
	// Target is ptrace's target process.
	Target uint32 `json:"target,omitempty"`
	// FSType is mount's file system type.
	FSType string `json:"fsType,omitempty"`
	// Addr and Port are the remote peer (connect, tcp); LocalAddr and
	// LocalPort the local end (tcp).
	Addr      string `json:"addr,omitempty"`
	Port      uint16 `json:"port,omitempty"`
	LocalAddr string `json:"localAddr,omitempty"`
	LocalPort uint16 `json:"localPort,omitempty"`
	// Direction is outbound or inbound (tcp, connect: outbound).
	Direction string `json:"direction,omitempty"`
	// Workload is who the event belongs to; nil on the host or before
	// attribution.
	Workload *Workload `json:"workload,omitempty"`
}

// Workload identifies a container of a pod (or a plain host cgroup).
type Workload struct {
	Namespace   string `json:"namespace,omitempty"`
	Pod         string `json:"pod,omitempty"`
	PodUID      string `json:"podUID,omitempty"`
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
	// OwnerKind and Owner name the controller the pod belongs to (a
	// Deployment rather than its ReplicaSet), or the pod itself.
	OwnerKind string `json:"ownerKind,omitempty"`
	Owner     string `json:"owner,omitempty"`
	Image     string `json:"image,omitempty"`
	// ImageDigest is the image's content digest (sha256:...), when known.
	ImageDigest string `json:"imageDigest,omitempty"`
	// Cgroup is the cgroup path, for hosts without Kubernetes.
	Cgroup string `json:"cgroup,omitempty"`
}

// Key is the baseline key of a workload: owner, container and image
// digest (the image reference when the digest is unknown). Two replicas
// of a Deployment share a key; a new image is a new key.
func (w *Workload) Key() string {
	if w == nil {
		return ""
	}
	img := w.ImageDigest
	if img == "" {
		img = w.Image
	}
	if w.Owner == "" && w.Pod == "" {
		return "cgroup:" + w.Cgroup
	}
	owner := w.Owner
	kind := w.OwnerKind
	if owner == "" {
		owner, kind = w.Pod, "Pod"
	}
	return fmt.Sprintf("%s/%s/%s/%s@%s", w.Namespace, kind, owner, w.Container, img)
}

// Open flags the rules test.
const (
	OWronly = 0x1
	ORdwr   = 0x2
	OCreat  = 0x40
	OTrunc  = 0x200
)

// Writes reports whether an open event opened its file for writing.
func (e *Event) Writes() bool {
	return e.Flags&(OWronly|ORdwr|OCreat|OTrunc) != 0
}

// capNames are the capabilities by number (linux/capability.h).
var capNames = [...]string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}

// CapabilityName names capability number n (CAP_SYS_ADMIN), or CAP_<n>
// for a number this table does not know.
func CapabilityName(n uint64) string {
	if n < uint64(len(capNames)) {
		return capNames[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// MaxLineBytes bounds one line of a recorded stream.
const MaxLineBytes = 64 << 10

// ReadStream reads a recorded stream: one JSON event per line, blank lines
// and lines starting with # skipped. Errors name the line.
func ReadStream(r io.Reader, name string) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	var out []Event
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var e Event
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if !validKind(e.Kind) {
			return nil, fmt.Errorf("%s:%d: kind %q is not one of %v", name, line, e.Kind, Kinds())
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return out, nil
}

func validKind(k Kind) bool {
	for _, v := range Kinds() {
		if v == k {
			return true
		}
	}
	return false
}
