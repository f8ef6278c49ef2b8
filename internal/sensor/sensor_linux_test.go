package sensor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor/attribution"
	"github.com/kordon-dev/kordon/internal/sensor/baseline"
	"github.com/kordon-dev/kordon/internal/sensor/bpf"
	"github.com/kordon-dev/kordon/internal/sensor/detect"
	"github.com/kordon-dev/kordon/internal/sensor/event"
	"github.com/kordon-dev/kordon/internal/sensor/response"
)

const helperEnv = "KORDON_SENSOR_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "net" {
		if err := netHelper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// netHelper runs inside a fresh network namespace: it brings loopback up,
// makes one TCP connection to itself (established in both directions) and
// tries a crypto-mining pool port (refused, but the connect is seen).
func netHelper() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	unix.Close(fd)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		return err
	}
	c.Close()
	net.DialTimeout("tcp4", "127.0.0.1:3333", time.Second)
	return nil
}

// requireBPF skips a test that cannot load eBPF programs, with the reason.
func requireBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the sensor's integration tests load eBPF programs and create cgroups: run as root")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("kernel without BTF (/sys/kernel/btf/vmlinux): ", err)
	}
}

// collector gathers emitted events.
type collector struct {
	mu     sync.Mutex
	events []finding.Event
}

func (c *collector) emit(e finding.Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *collector) find(pred func(finding.Event) bool) (finding.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if pred(e) {
			return e, true
		}
	}
	return finding.Event{}, false
}

// recorder is a Source that keeps every event it reads.
type recorder struct {
	*bpf.Probe
	mu   sync.Mutex
	seen []event.Event
}

func (r *recorder) Read(e *event.Event) error {
	err := r.Probe.Read(e)
	if err == nil {
		r.mu.Lock()
		c := *e
		c.Args = slices.Clone(e.Args)
		r.seen = append(r.seen, c)
		r.mu.Unlock()
	}
	return err
}

func (r *recorder) has(pred func(event.Event) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.seen, pred)
}

func waitFor(t *testing.T, what string, cond func() bool, probe *bpf.Probe) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			drops, _ := probe.Drops()
			t.Fatalf("timed out waiting for the %s event (ring buffer drops: %d)", what, drops)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freshCgroup makes a cgroup v2 named prefix-PID below the root and
// returns its name, its directory and an open descriptor for
// SysProcAttr.CgroupFD, all removed when the test ends.
func freshCgroup(t *testing.T, prefix string) (string, string, *os.File) {
	t.Helper()
	root, err := attribution.Cgroup2Mount("/proc")
	if err != nil {
		t.Skip("no cgroup v2 hierarchy: ", err)
	}
	name := fmt.Sprintf("%s-%d", prefix, os.Getpid())
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	cg, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Close() })
	return name, dir, cg
}

// TestSensorEndToEnd runs the sensor on the real kernel: real processes in
// a fresh cgroup and network namespace are seen (exec, open, connect, TCP
// in both directions), a profile is learned and locked, a new executable
// raises a deviation alert, a rule fires, a deviation is killed, repeated
// opens are folded in the kernel and counted, and a capability outside the
// profile is a deviation.
func TestSensorEndToEnd(t *testing.T) {
	requireBPF(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	name, dir, cg := freshCgroup(t, "kordon-sensor-it")

	// Watch the test's cgroup only (filtered in the kernel), so that the
	// rest of a busy machine cannot fill the ring buffer.
	probe, err := bpf.Load(bpf.Options{RingBytes: 16 << 20, Watch: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	src := &recorder{Probe: probe}
	resolver, err := attribution.NewResolver(attribution.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	specs, _ := detect.Builtin()
	det, err := detect.New(specs)
	if err != nil {
		t.Fatal(err)
	}
	store, err := baseline.NewStore(baseline.Config{Window: time.Hour, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	policy := &response.Policy{Workloads: []response.WorkloadPolicy{{Cgroup: "/" + name, Rules: []string{IDDeviationExec}, Action: response.Kill}}}
	var col collector
	s, err := New(Config{Catalogue: cat, Detector: det, Baselines: store, Responder: response.NewResponder(policy, nil),
		Resolver: resolver, Emit: col.emit, CgroupPrefix: "/" + name, TickInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, src) }()
	defer func() {
		probe.Close()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	run := func(netns bool, env []string, args ...string) (*exec.Cmd, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
		if netns {
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		}
		return cmd, cmd.Start()
	}
	wait := func(cmd *exec.Cmd, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(cg.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	// The recorder sees events before attribution: match the cgroup id.
	inCgroup := func(e event.Event) bool { return e.CgroupID == st.Ino }

	// Learn: a shell that reads a file and lists a directory, and the
	// network helper in its own network namespace.
	wait(run(false, nil, "/bin/sh", "-c", "cat /etc/hostname >/dev/null; ls / >/dev/null"))
	wait(run(true, []string{helperEnv + "=net"}, os.Args[0], "-test.run=^$"))
	for _, c := range []struct {
		what string
		pred func(event.Event) bool
	}{
		{"exec of ls /", func(e event.Event) bool {
			return inCgroup(e) && e.Kind == event.Exec && e.Path == "/usr/bin/ls" && len(e.Args) == 2 && e.Args[1] == "/"
		}},
		{"open of /etc/hostname by cat", func(e event.Event) bool {
			return inCgroup(e) && e.Kind == event.Open && e.Path == "/etc/hostname" && e.Ret >= 0 && e.Comm == "cat"
		}},
		{"connect to 127.0.0.1:3333", func(e event.Event) bool {
			return inCgroup(e) && e.Kind == event.Connect && e.Addr == "127.0.0.1" && e.Port == 3333
		}},
		{"outbound TCP established", func(e event.Event) bool {
			return inCgroup(e) && e.Kind == event.TCP && e.Direction == "outbound" && e.Addr == "127.0.0.1"
		}},
		{"inbound TCP established", func(e event.Event) bool {
			return inCgroup(e) && e.Kind == event.TCP && e.Direction == "inbound" && e.LocalAddr == "127.0.0.1"
		}},
	} {
		waitFor(t, c.what, func() bool { return src.has(c.pred) }, probe)
	}
	if _, ok := col.find(func(e finding.Event) bool { return e.RuleID == "KOR-RT-005" && e.Attributes["port"] == "3333" }); !ok {
		waitFor(t, "KOR-RT-005 for the mining-pool port", func() bool {
			_, ok := col.find(func(e finding.Event) bool { return e.RuleID == "KOR-RT-005" })
			return ok
		}, probe)
	}
	if _, err := store.LockAll(time.Now()); err != nil {
		t.Fatal(err)
	}
	ps := store.Profiles()
	if len(ps) != 1 || !slices.Contains(ps[0].Executables, "/usr/bin/ls") || !slices.Contains(ps[0].Files, "r:/etc/hostname") ||
		!slices.Contains(ps[0].Peers, "out:127.0.0.1:3333") || ps[0].State != baseline.Locked {
		t.Fatalf("learned profiles: %+v", ps)
	}

	// Deviate: /usr/bin/id never ran while learning. The policy kills
	// deviations of this cgroup: id is killed (or has exited first).
	wait(run(false, nil, "/bin/sh", "-c", "ls / >/dev/null"))
	cmd, err := run(false, nil, "/bin/sh", "-c", "exec /usr/bin/sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("sleep ended with %v, want SIGKILL", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the deviating process was not killed")
	}
	// The kill comes before the event is emitted: wait for it.
	isSleep := func(e finding.Event) bool {
		return e.RuleID == IDDeviationExec && e.Attributes["path"] == "/usr/bin/sleep"
	}
	waitFor(t, "the deviation event of sleep", func() bool { _, ok := col.find(isSleep); return ok }, probe)
	ev, ok := col.find(isSleep)
	if !ok || ev.Action != finding.ActionKilled || ev.Attributes["responseLatency"] == "" || ev.Resource.Kind != "Cgroup" {
		t.Fatalf("deviation event: %+v (found %v)", ev, ok)
	}
	t.Logf("kill latency from the kernel event: %s", ev.Attributes["responseLatency"])
	if _, ok := col.find(func(e finding.Event) bool {
		return e.RuleID == IDDeviationExec && e.Attributes["path"] == "/usr/bin/ls"
	}); ok {
		t.Error("a learned executable deviated")
	}

	// Fold: the learned shell opens a learned file 200 times on one CPU;
	// the kernel folds the repeats and the sensor exports them.
	var cpu0, saved unix.CPUSet
	cpu0.Set(0)
	runtime.LockOSThread()
	unix.SchedGetaffinity(0, &saved)
	unix.SchedSetaffinity(0, &cpu0)
	shell, err := run(false, nil, "/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do read x < /etc/hostname; i=$((i+1)); done; ls / >/dev/null")
	unix.SchedSetaffinity(0, &saved)
	runtime.UnlockOSThread()
	wait(shell, err)
	waitFor(t, "opens folded in the kernel exported as a metric", func() bool {
		return testutil.ToFloat64(s.cfg.Metrics.KernelFolded.WithLabelValues("open")) >= 150
	}, probe)

	// A capability the profile never saw: the learned shell raises its
	// hard limit of open files, which needs CAP_SYS_RESOURCE (granted or,
	// where the test runs without it, denied: either is a deviation).
	if slices.Contains(probe.Missing, "capability/cap_capable") {
		t.Log("no capability/cap_capable tracepoint on this kernel: capability deviation not checked")
	} else {
		wait(run(false, nil, "/bin/sh", "-c", "ulimit -Hn $(( $(ulimit -Hn) + 1 )) 2>/dev/null || :"))
		waitFor(t, "KOR-RT-103 for CAP_SYS_RESOURCE", func() bool {
			_, ok := col.find(func(e finding.Event) bool {
				return e.RuleID == IDDeviationCap && e.Attributes["capability"] == "CAP_SYS_RESOURCE"
			})
			return ok
		}, probe)
	}
	if d, err := probe.Drops(); err != nil || d != 0 {
		t.Logf("ring buffer drops: %d (%v)", d, err)
	}
}

// TestSensorKernelRateLimit runs the sensor with tight kernel limits (1
// open per second per cgroup, burst 20) while a shell in a fresh cgroup
// opens 500 distinct missing files: the sensor reports KOR-RT-191 for the
// cgroup (layer kernel) with the suppressed opens counted, exports them as
// kordon_sensor_kernel_suppressed_total, mentions that the learning
// profile misses them, and loses nothing in the ring buffer.
func TestSensorKernelRateLimit(t *testing.T) {
	requireBPF(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	name, dir, cg := freshCgroup(t, "kordon-sensor-limit")
	probe, err := bpf.Load(bpf.Options{RingBytes: 1 << 20, Watch: []string{dir},
		Limits: bpf.Limits{OpenRate: 1, OpenBurst: 20, DedupWindow: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	resolver, err := attribution.NewResolver(attribution.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	specs, _ := detect.Builtin()
	det, err := detect.New(specs)
	if err != nil {
		t.Fatal(err)
	}
	store, err := baseline.NewStore(baseline.Config{Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var col collector
	s, err := New(Config{Catalogue: cat, Detector: det, Baselines: store, Responder: response.NewResponder(&response.Policy{}, nil),
		Resolver: resolver, Emit: col.emit, CgroupPrefix: "/" + name, TickInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, probe) }()
	defer func() {
		probe.Close()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	missing := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf(`i=0; while [ $i -lt 500 ]; do true 2>/dev/null < %s/$i; i=$((i+1)); done`, missing))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	limited := func() float64 {
		return testutil.ToFloat64(s.cfg.Metrics.KernelSuppressed.WithLabelValues("open", "rate-limit"))
	}
	waitFor(t, "the suppressed opens in the metric", func() bool { return limited() >= 450 }, probe)
	var total int
	col.mu.Lock()
	for _, e := range col.events {
		if e.RuleID != IDRateLimited || e.Attributes["layer"] != "kernel" {
			continue
		}
		if e.Attributes["cgroup"] != "/"+name || e.Resource.Kind != "Cgroup" {
			t.Errorf("kernel rate-limit event for %+v (attributes %v), want the test's cgroup", e.Resource, e.Attributes)
		}
		var n int
		fmt.Sscan(e.Attributes["openLimited"], &n)
		total += n
		if !strings.Contains(e.Message, "profile is learning") {
			t.Errorf("message %q does not say the learning profile misses the opens", e.Message)
		}
	}
	col.mu.Unlock()
	if float64(total) != limited() {
		t.Errorf("KOR-RT-191 events count %d limited opens, the metric %g", total, limited())
	}
	if d, err := probe.Drops(); err != nil || d != 0 {
		t.Errorf("ring buffer drops: %d (%v), want 0", d, err)
	}
}
