package bpf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// TestDecodeLayout checks Decode's offsets against the type bpf2go
// generated from the C struct.
func TestDecodeLayout(t *testing.T) {
	var e sensorEvent
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"cgroup_id", unsafe.Offsetof(e.CgroupId), 8},
		{"kind", unsafe.Offsetof(e.Kind), 16},
		{"ret", unsafe.Offsetof(e.Ret), 36},
		{"arg0", unsafe.Offsetof(e.Arg0), 40},
		{"family", unsafe.Offsetof(e.Family), 56},
		{"args_len", unsafe.Offsetof(e.ArgsLen), 62},
		{"daddr", unsafe.Offsetof(e.Daddr), 64},
		{"saddr", unsafe.Offsetof(e.Saddr), 80},
		{"comm", unsafe.Offsetof(e.Comm), offComm},
		{"path", unsafe.Offsetof(e.Path), offPath},
		{"args", unsafe.Offsetof(e.Args), offArgs},
	} {
		if c.got != c.want {
			t.Errorf("offset of %s: generated %d, Decode uses %d", c.name, c.got, c.want)
		}
	}
	if err := Decode(make([]byte, 10), time.Time{}, &event.Event{}); err == nil {
		t.Error("a short record decoded")
	}
	b := make([]byte, EventSize)
	b[16] = 99
	if err := Decode(b, time.Time{}, &event.Event{}); err == nil {
		t.Error("an unknown kind decoded")
	}
}

// RequireBPF skips t unless the process may load BPF programs.
func requireBPF(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading eBPF programs needs root")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("kernel without BTF: ", err)
	}
}

// TestProbeReportsExecAndOpen loads the programs into the running kernel
// and checks a real exec and a real open.
func TestProbeReportsExecAndOpen(t *testing.T) {
	requireBPF(t)
	p, err := Load(Options{RingBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.Missing) > 0 {
		t.Logf("optional tracepoints missing: %v", p.Missing)
	}
	marker := filepath.Join(t.TempDir(), "kordon-probe-marker")
	cmd := exec.Command("/bin/sh", "-c", "echo x > "+marker+"; exec /bin/true probe-arg")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	var sawExec, sawOpen bool
	deadline := time.Now().Add(10 * time.Second)
	p.SetDeadline(deadline)
	var e event.Event
	for !(sawExec && sawOpen) {
		if err := p.Read(&e); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("no events before the deadline: exec %v, open %v", sawExec, sawOpen)
			}
			t.Fatal(err)
		}
		switch {
		case e.Kind == event.Exec && e.Path == "/bin/true":
			if len(e.Args) != 2 || e.Args[1] != "probe-arg" || e.CgroupID == 0 || e.PPID == 0 {
				t.Errorf("exec event: %+v", e)
			}
			sawExec = true
		case e.Kind == event.Open && e.Path == marker:
			if !e.Writes() || e.Ret < 0 {
				t.Errorf("open event: %+v", e)
			}
			sawOpen = true
		}
	}
	if _, err := p.Drops(); err != nil {
		t.Errorf("drop counter: %v", err)
	}
}

// TestWatchFilter checks the in-kernel cgroup filter: a process in the
// watched cgroup is reported, the same command outside it is not.
func TestWatchFilter(t *testing.T) {
	requireBPF(t)
	root := "/sys/fs/cgroup"
	var fs unix.Statfs_t
	if unix.Statfs(root, &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
		root = "/sys/fs/cgroup/unified"
	}
	dir := filepath.Join(root, fmt.Sprintf("kordon-watch-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot create a cgroup v2: ", err)
	}
	defer os.Remove(dir)
	if d := cgroupDepth(dir); d != 1 {
		t.Fatalf("depth of %s: %d, want 1", dir, d)
	}
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cg, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	outside := exec.Command("/bin/echo", "kordon-outside")
	inside := exec.Command("/bin/echo", "kordon-inside")
	inside.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	for _, c := range []*exec.Cmd{outside, inside} {
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
	}
	p.SetDeadline(time.Now().Add(10 * time.Second))
	var e event.Event
	for {
		if err := p.Read(&e); err != nil {
			t.Fatalf("the watched exec was not reported: %v", err)
		}
		if e.Kind != event.Exec {
			continue
		}
		if slices.Contains(e.Args, "kordon-outside") {
			t.Fatal("an exec outside the watched cgroup was reported")
		}
		if slices.Contains(e.Args, "kordon-inside") {
			break
		}
	}
}

// readUntil reads events until done returns true or the deadline passes.
func readUntil(t *testing.T, p *Probe, done func(*event.Event) bool) {
	t.Helper()
	p.SetDeadline(time.Now().Add(10 * time.Second))
	var e event.Event
	for {
		if err := p.Read(&e); err != nil {
			t.Fatalf("before the expected event: %v", err)
		}
		if done(&e) {
			return
		}
	}
}

// TestProbeFoldsRepeatedOpens runs a shell that opens one file 500 times
// on one CPU, then another file: the kernel reports the first open and
// folds the others into a later record's Repeats, so the records of the
// file account for every open, in fewer records.
func TestProbeFoldsRepeatedOpens(t *testing.T) {
	requireBPF(t)
	p, err := Load(Options{RingBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	file, other := filepath.Join(dir, "same"), filepath.Join(dir, "other")
	for _, f := range []string{file, other} {
		if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := p.Counters()
	cmd := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt 500 ]; do read x < `+file+`; i=$((i+1)); done; read x < `+other)
	// Pin the shell to one CPU: the fold is per CPU.
	var cpu0 unix.CPUSet
	cpu0.Set(0)
	runtime.LockOSThread()
	var saved unix.CPUSet
	unix.SchedGetaffinity(0, &saved)
	if err := unix.SchedSetaffinity(0, &cpu0); err != nil {
		t.Fatal(err)
	}
	err = cmd.Run()
	unix.SchedSetaffinity(0, &saved)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	var opens, records uint64
	readUntil(t, p, func(e *event.Event) bool {
		if e.Kind == event.Open && e.Path == file {
			records++
			opens += 1 + e.Repeats
		}
		return opens >= 500
	})
	if opens != 500 || records >= 100 {
		t.Errorf("%d records account for %d opens, want 500 opens in fewer than 100 records", records, opens)
	}
	after, err := p.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if got := after.OpenRepeats - before.OpenRepeats; got < 500-records {
		t.Errorf("open repeats counter grew by %d, want at least %d", got, 500-records)
	}
}

// TestProbeReportsCapability checks capability/cap_capable: chroot(2)
// checks CAP_SYS_CHROOT.
func TestProbeReportsCapability(t *testing.T) {
	requireBPF(t)
	p, err := Load(Options{RingBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if slices.Contains(p.Missing, "capability/cap_capable") {
		t.Skip("this kernel has no capability/cap_capable tracepoint (recent kernels have it)")
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Skip("no chroot binary: ", err)
	}
	cmd := exec.Command(chroot, "/", "/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	readUntil(t, p, func(e *event.Event) bool {
		return e.Kind == event.Capability && e.PID == pid && e.Capability == "CAP_SYS_CHROOT" && e.Ret == 0
	})
}

// TestProbeRawSyscalls checks the raw sys_exit variant of the open
// programs (x86-64).
func TestProbeRawSyscalls(t *testing.T) {
	requireBPF(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("the raw sys_exit program reads x86-64 registers")
	}
	p, err := Load(Options{RingBytes: 1 << 20, RawSyscalls: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	marker := filepath.Join(t.TempDir(), "kordon-raw-marker")
	if err := exec.Command("/bin/sh", "-c", "echo x > "+marker).Run(); err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, func(e *event.Event) bool {
		return e.Kind == event.Open && e.Path == marker && e.Writes() && e.Ret >= 0
	})
}
