package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// testCgroup makes a fresh cgroup v2 below the root and returns its
// directory and an open descriptor for SysProcAttr.CgroupFD.
func testCgroup(t *testing.T, name string) (string, *os.File) {
	t.Helper()
	root := "/sys/fs/cgroup"
	var fs unix.Statfs_t
	if unix.Statfs(root, &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
		root = "/sys/fs/cgroup/unified"
	}
	dir := filepath.Join(root, fmt.Sprintf("kordon-%s-%d", name, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot create a cgroup v2: ", err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	fd, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return dir, fd
}

// TestKernelLimits runs a shell in a fresh cgroup that opens two files
// in turn 300 times each (the per-CPU fold cannot fold them: the dedup
// does), then 1,000 distinct missing files (nothing to fold or dedup: the
// rate limit, 1 per second with a burst of 50, keeps most), then execs a
// marker. It checks that the distinct opens reported plus those counted
// as limited account for all 1,000, that the duplicates were counted as
// deduplicated, that the exec after the burst was still reported (execs
// are exempt) and that no record was lost.
func TestKernelLimits(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "limits")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir},
		Limits: Limits{OpenRate: 1, OpenBurst: 50, DedupWindow: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	files := t.TempDir()
	a, b := filepath.Join(files, "a"), filepath.Join(files, "b")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(files, "missing")
	script := fmt.Sprintf(`i=0; while [ $i -lt 300 ]; do read x < %s; read x < %s; i=$((i+1)); done
i=0; while [ $i -lt 1000 ]; do true 2>/dev/null < %s/$i; i=$((i+1)); done
exec /bin/echo kordon-limits-done`, a, b, missing)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	var cgroupID uint64
	var opensA, recordsA, distinct uint64
	readUntil(t, p, func(e *event.Event) bool {
		switch {
		case e.Kind == event.Open && e.Path == a:
			recordsA++
			opensA += 1 + e.Repeats
			cgroupID = e.CgroupID
		case e.Kind == event.Open && strings.HasPrefix(e.Path, missing+"/"):
			distinct++
		case e.Kind == event.Exec && slices.Contains(e.Args, "kordon-limits-done"):
			return true
		}
		return false
	})
	got, err := p.TakeSuppressed()
	if err != nil {
		t.Fatal(err)
	}
	s := got[cgroupID]
	t.Logf("file a: %d records for %d opens; distinct: %d reported; suppressed %+v", recordsA, opensA, distinct, s)
	if recordsA != 1 {
		t.Errorf("file a reported %d times in the dedup window, want once", recordsA)
	}
	if s.OpenDeduped < 2*300-2 {
		t.Errorf("deduplicated opens: %d, want at least %d", s.OpenDeduped, 2*300-2)
	}
	if distinct == 0 || distinct > 60 {
		t.Errorf("%d distinct opens reported, want 1 to 60 (burst 50, 1 per second)", distinct)
	}
	// The shell's own start-up opens (ld.so.cache, libc) share the bucket.
	if s.OpenLimited < 1000-distinct || s.OpenLimited > 1000-distinct+30 {
		t.Errorf("limited opens: %d, want %d (1,000 less the %d reported) plus at most the shell's own", s.OpenLimited, 1000-distinct, distinct)
	}
	c, err := p.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.RingDrops != 0 {
		t.Errorf("ring-buffer drops: %d, want 0", c.RingDrops)
	}
	if c.OpenLimited < s.OpenLimited || c.OpenDeduped < s.OpenDeduped {
		t.Errorf("per-CPU counters %+v below the cgroup's %+v", c, s)
	}
	// Counts are taken once: the next call returns only what is new.
	again, err := p.TakeSuppressed()
	if err != nil {
		t.Fatal(err)
	}
	if n := again[cgroupID]; !n.IsZero() {
		t.Errorf("second TakeSuppressed returned %+v again", n)
	}
}

// TestLimitsRejected checks that bad limits are refused with the field
// named.
func TestLimitsRejected(t *testing.T) {
	for _, tc := range []struct {
		l    Limits
		want string
	}{
		{Limits{OpenRate: -1, OpenBurst: 1}, "open rate -1"},
		{Limits{OpenRate: 10}, "open burst 0"},
		{Limits{NetRate: 10}, "connection burst 0"},
		{Limits{DedupWindow: -time.Second}, "dedup window"},
	} {
		spec, err := loadSensor()
		if err != nil {
			t.Fatal(err)
		}
		err = tc.l.set(spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.l, err, tc.want)
		}
	}
}

// TestCapabilityFallback forces the fallback mode (capability use derived
// from system calls, as on kernels without capability/cap_capable) and
// checks, with real processes in a fresh cgroup: chroot as root (granted
// CAP_SYS_CHROOT), chroot as nobody (denied), a new UTS namespace and
// sethostname in it (granted CAP_SYS_ADMIN, twice: reported once per
// process), and a plain open (no capability event).
func TestCapabilityFallback(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "capfallback")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}, CapabilityFallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.CapabilitySource != "syscalls" {
		t.Fatalf("capability source %q, want syscalls", p.CapabilitySource)
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Skip("no chroot binary: ", err)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare binary: ", err)
	}
	run := func(cred *syscall.Credential, name string, args ...string) uint32 {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Credential: cred}
		cmd.Run() // the refused chroot fails, as it should
		return uint32(cmd.Process.Pid)
	}
	granted := run(nil, chroot, "/", "/bin/true")
	denied := run(&syscall.Credential{Uid: 65534, Gid: 65534}, chroot, "/", "/bin/true")
	uts := run(nil, unshare, "--uts", "/bin/sh", "-c", "hostname kordon-fallback-1; hostname kordon-fallback-2; cat /etc/hostname >/dev/null")
	done := run(nil, "/bin/echo", "kordon-fallback-done")
	type key struct {
		pid     uint32
		cap     string
		ret     int32
		syscall string
	}
	seen := map[key]int{}
	readUntil(t, p, func(e *event.Event) bool {
		if e.Kind == event.Capability {
			seen[key{e.PID, e.Capability, e.Ret, e.Syscall}]++
		}
		return e.Kind == event.Exec && e.PID == done
	})
	t.Logf("capability events: %v", seen)
	for _, want := range []key{
		{granted, "CAP_SYS_CHROOT", 0, "chroot"},
		{denied, "CAP_SYS_CHROOT", -1, "chroot"},
		{uts, "CAP_SYS_ADMIN", 0, "unshare"},
	} {
		if seen[want] != 1 {
			t.Errorf("%+v reported %d times, want once", want, seen[want])
		}
	}
	// sethostname (CAP_SYS_ADMIN) runs in the hostname child processes.
	var hostnames int
	for k := range seen {
		if k.syscall == "sethostname" && k.cap == "CAP_SYS_ADMIN" && k.ret == 0 {
			hostnames++
		}
	}
	if hostnames != 2 {
		t.Errorf("sethostname reported for %d processes, want 2 (one per hostname command)", hostnames)
	}
	for k := range seen {
		if k.syscall == "" {
			t.Errorf("capability event without its system call in fallback mode: %+v", k)
		}
	}
}

// TestCapabilitySourceTracepoint checks the default mode on a kernel with
// capability/cap_capable: the fallback programs are not attached and
// capability events name no system call.
func TestCapabilitySourceTracepoint(t *testing.T) {
	requireBPF(t)
	p, err := Load(Options{RingBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if slices.Contains(p.Missing, "capability/cap_capable") {
		if p.CapabilitySource != "syscalls" {
			t.Errorf("without cap_capable the source is %q, want syscalls", p.CapabilitySource)
		}
		t.Skip("this kernel has no capability/cap_capable tracepoint")
	}
	if p.CapabilitySource != "tracepoint" {
		t.Errorf("capability source %q, want tracepoint", p.CapabilitySource)
	}
	for name := range p.coll.Programs {
		if strings.HasPrefix(name, "cap_") {
			t.Errorf("fallback program %s loaded in tracepoint mode", name)
		}
	}
}

// TestDedupNewProgram checks that an exec starts the fold and the dedup
// afresh: a shell reads a file three times, then execs cat in the same
// process, which reads it again within the window. The shell's reads are
// folded (the records account for all three) and cat's read is reported
// as its own record (a rule that asks which program read a token must
// see it).
func TestDedupNewProgram(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "dedupexec")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}, Limits: Limits{DedupWindow: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf(`read x < %[1]s; read x < %[1]s; read x < %[1]s; exec /bin/cat %[1]s`, file))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	cmd.Stdout = nil
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	var shellOpens uint64
	readUntil(t, p, func(e *event.Event) bool {
		if e.Kind != event.Open || e.Path != file || e.PID != pid {
			return false
		}
		if e.Comm == "cat" {
			return true
		}
		shellOpens += 1 + e.Repeats
		return false
	})
	if shellOpens != 3 {
		t.Errorf("the shell's records account for %d opens, want 3", shellOpens)
	}
}

// TestPathOnly checks the overhead benchmark's measuring aid: with
// PathOnly the open programs report nothing, the others still do.
func TestPathOnly(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "pathonly")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}, PathOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cmd := exec.Command("/bin/sh", "-c", "cat /etc/hostname >/dev/null; exec /bin/echo kordon-path-only")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, func(e *event.Event) bool {
		if e.Kind == event.Open {
			t.Fatalf("an open was reported with PathOnly: %+v", e)
		}
		return e.Kind == event.Exec && slices.Contains(e.Args, "kordon-path-only")
	})
}

// TestDedupKeepsEveryPath runs, with the default limits, a shell that
// reads 200 distinct files in turn, 20 times over (4,000 opens, nothing
// the per-CPU fold can fold): every one of the 200 paths is reported —
// what a baseline learns and what rules see — while the repeats are
// counted as deduplicated, and nothing is lost.
func TestDedupKeepsEveryPath(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "dedupall")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}, Limits: DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	files := t.TempDir()
	for i := range 200 {
		if err := os.WriteFile(filepath.Join(files, fmt.Sprint(i)), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`n=0; while [ $n -lt 20 ]; do i=0; while [ $i -lt 200 ]; do read x < %s/$i; i=$((i+1)); done; n=$((n+1)); done
exec /bin/echo kordon-dedup-all-done`, files)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	seen := map[string]uint64{}
	var records int
	var cgroupID uint64
	readUntil(t, p, func(e *event.Event) bool {
		if e.Kind == event.Open && strings.HasPrefix(e.Path, files+"/") {
			records++
			seen[e.Path] += 1 + e.Repeats
			cgroupID = e.CgroupID
		}
		return e.Kind == event.Exec && slices.Contains(e.Args, "kordon-dedup-all-done")
	})
	if len(seen) != 200 {
		t.Errorf("%d distinct paths reported, want all 200", len(seen))
	}
	s, err := p.TakeSuppressed()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records for 4,000 opens of 200 paths in %s; deduplicated %d", records, elapsed.Round(time.Millisecond), s[cgroupID].OpenDeduped)
	// Each path is reported again at most once per dedup window (1 s).
	if maxRecords := 200 * (2 + int(elapsed/time.Second)); records > maxRecords {
		t.Errorf("%d records, want at most %d", records, maxRecords)
	}
	if c, _ := p.Counters(); c.RingDrops != 0 || c.OpenLimited != 0 {
		t.Errorf("counters %+v: want no drops and nothing rate limited", c)
	}
}

const connectHelperEnv = "KORDON_BPF_CONNECT_HELPER"

// TestMain runs the connect helper of TestNetLimit when asked to: 50
// TCP connects to a closed port of 127.0.0.1.
func TestMain(m *testing.M) {
	if os.Getenv(connectHelperEnv) != "" {
		for range 50 {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			if err != nil {
				os.Exit(1)
			}
			unix.Connect(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}}) // refused: the attempt is the event
			unix.Close(fd)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNetLimit checks the connection limit (1 per second, burst 5): of 50
// connects from a fresh cgroup, a handful are reported and the rest are
// counted as limited for that cgroup, while the exec that starts them is
// reported (execs are exempt).
func TestNetLimit(t *testing.T) {
	requireBPF(t)
	dir, cg := testCgroup(t, "netlimit")
	p, err := Load(Options{RingBytes: 1 << 20, Watch: []string{dir}, Limits: Limits{NetRate: 1, NetBurst: 5}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "kordon-net-helper")
	cmd.Env = append(os.Environ(), connectHelperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	var execSeen bool
	var connects int
	var cgroupID uint64
	p.SetDeadline(time.Now().Add(3 * time.Second))
	var e event.Event
	for p.Read(&e) == nil {
		if e.PID != pid {
			continue
		}
		switch e.Kind {
		case event.Exec:
			execSeen = true
			cgroupID = e.CgroupID
		case event.Connect:
			if e.Port == 1 && e.Addr == "127.0.0.1" {
				connects++
			}
		}
	}
	s, err := p.TakeSuppressed()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d connects reported, suppressed %+v", connects, s[cgroupID])
	if !execSeen {
		t.Error("the helper's exec was not reported")
	}
	if connects < 1 || connects > 8 {
		t.Errorf("%d connects reported, want 1 to 8 (burst 5, 1 per second)", connects)
	}
	if got := s[cgroupID].NetLimited; int(got)+connects != 50 {
		t.Errorf("%d connects limited and %d reported, want 50 in all", got, connects)
	}
}
