package sensor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/sensor/attribution"
	"github.com/kordon-dev/kordon/internal/sensor/bpf"
	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// threadCPU is the CPU time of the calling thread plus that of waited-for
// children: the syscall path, including the eBPF programs that run in it.
func threadCPU() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

// BenchmarkSyscallOverhead measures what the sensor adds to system calls,
// in one run: each loop alternates off and on (three rounds each), where
// "on" is the real sensor (programs attached, the full pipeline consuming
// the ring buffer on another goroutine). It reports the CPU time per
// operation of the looping thread (and its children) and the on/off
// ratio; wall time on a shared machine is reported but noisy. Variants:
//
//   - open-close: one file opened and closed (the kernel folds the
//     repeats); open-close-distinct: 1,000 files in turn (deduplicated
//     in the kernel within a second); open-unique: 200,000 paths never
//     seen before (missing files: only the rate limit applies). The
//     sensor runs with bpf.DefaultLimits (as kordon sensor run does);
//     -nolimits: without the kernel's per-cgroup limits;
//   - fork-exec: /bin/true;
//   - -drain-only: the ring buffer is read and the events dropped, without
//     the pipeline (attribution, baselines, rules): the kernel side alone;
//   - -unwatched: --cgroup-prefix set to a cgroup the loop is not in (the
//     programs run and filter in the kernel);
//   - -raw: opens from the raw sys_exit tracepoint instead of
//     syscalls/sys_exit_openat;
//   - -floor: no sensor, one empty program on syscalls/sys_enter_ptrace
//     (never called by the loop): the kernel's cost of the traced-syscall
//     path that any syscall tracepoint switches on for every task;
//     -empty-program: an empty program on syscalls/sys_exit_openat (the
//     cost of running any program there); -path-only: the sensor with the
//     open programs replaced by one that only filters, reads the registers
//     and copies the path (what any path-reporting sensor must do).
//
// Run (KORDON_OVERHEAD_ROUNDS=9 for steadier figures on a loaded machine):
//
//	go test -run '^$' -bench SyscallOverhead -benchtime 1x ./internal/sensor
func BenchmarkSyscallOverhead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading eBPF programs needs root")
	}
	const opens, execs, files = 200_000, 1000, 1000
	dir := b.TempDir()
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(paths[i], []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	openLoop := func(distinct bool) func() {
		return func() {
			for i := range opens {
				p := paths[0]
				if distinct {
					p = paths[i%files]
				}
				fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
				if err != nil {
					b.Fatal(err)
				}
				syscall.Close(fd)
			}
		}
	}
	// uniqueLoop opens paths never seen before (missing files, as a
	// scanner or a per-request temporary name would): nothing to fold or
	// deduplicate, only the rate limit applies.
	var uniqueRound int
	uniqueLoop := func() {
		uniqueRound++
		for i := range opens {
			fd, err := syscall.Open(fmt.Sprintf("%s/u%d-%07d", dir, uniqueRound, i), syscall.O_RDONLY, 0)
			if err == nil {
				syscall.Close(fd)
			}
		}
	}
	execLoop := func() {
		for range execs {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	type sample struct{ cpu, wall time.Duration }
	measure := func(f func()) sample {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c0, w0 := threadCPU(), time.Now()
		f()
		return sample{threadCPU() - c0, time.Since(w0)}
	}
	var counters bpf.Counters
	var events int64
	// withSensor runs the sensor in its own process, as deployed (in this
	// process, its goroutines would share the Go scheduler with the loop).
	withSensor := func(opts bpf.Options, drainOnly bool, f func()) sample {
		cfg, _ := json.Marshal(helperConfig{Options: opts, DrainOnly: drainOnly})
		cmd := exec.Command(os.Args[0], "-test.run=^TestOverheadSensorHelper$")
		cmd.Env = append(os.Environ(), overheadHelperEnv+"="+string(cfg))
		cmd.Stderr = os.Stderr
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		rd := bufio.NewReader(out)
		if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("sensor helper: %q, %v", line, err)
		}
		r := measure(f)
		time.Sleep(200 * time.Millisecond)
		in.Close()
		var res helperResult
		if err := json.NewDecoder(rd).Decode(&res); err != nil {
			b.Fatalf("sensor helper result: %v", err)
		}
		cmd.Wait()
		counters.RingDrops += res.Counters.RingDrops
		counters.OpenRepeats += res.Counters.OpenRepeats
		counters.OpenDeduped += res.Counters.OpenDeduped
		counters.OpenLimited += res.Counters.OpenLimited
		events += res.Opens
		return r
	}
	withFloor := func(tp string, f func()) sample {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.TracePoint, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
		if err != nil {
			b.Fatal(err)
		}
		defer prog.Close()
		l, err := link.Tracepoint("syscalls", tp, prog, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		return measure(f)
	}
	root, err := attribution.Cgroup2Mount("/proc")
	if err != nil {
		b.Skip("no cgroup v2: ", err)
	}
	other := filepath.Join(root, "kordon-overhead-other")
	os.Mkdir(other, 0o755)
	defer os.Remove(other)
	unwatched := []string{other}
	lim := bpf.DefaultLimits()
	// Rounds of off and on per variant; more steady the figures on a
	// loaded machine (the median of the adjacent off/on pairs is
	// reported besides the ratio of the sums).
	rounds := 3
	if r, err := strconv.Atoi(os.Getenv("KORDON_OVERHEAD_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	for _, v := range []struct {
		name  string
		f     func()
		n     int
		opts  bpf.Options
		floor string
		drain bool
	}{
		{"open-close", openLoop(false), opens, bpf.Options{Limits: lim}, "", false},
		{"open-close-distinct", openLoop(true), opens, bpf.Options{Limits: lim}, "", false},
		{"open-close-distinct-nolimits", openLoop(true), opens, bpf.Options{}, "", false},
		{"open-unique", uniqueLoop, opens, bpf.Options{Limits: lim}, "", false},
		{"open-unique-nolimits", uniqueLoop, opens, bpf.Options{}, "", false},
		{"open-close-raw", openLoop(false), opens, bpf.Options{RawSyscalls: true, Limits: lim}, "", false},
		{"open-close-distinct-raw", openLoop(true), opens, bpf.Options{RawSyscalls: true, Limits: lim}, "", false},
		{"open-close-unwatched", openLoop(false), opens, bpf.Options{Watch: unwatched, Limits: lim}, "", false},
		{"open-close-unwatched-raw", openLoop(false), opens, bpf.Options{Watch: unwatched, RawSyscalls: true, Limits: lim}, "", false},
		{"open-close-floor", openLoop(false), opens, bpf.Options{}, "sys_enter_ptrace", false},
		{"open-close-empty-program", openLoop(false), opens, bpf.Options{}, "sys_exit_openat", false},
		{"open-close-path-only", openLoop(false), opens, bpf.Options{PathOnly: true}, "", true},
		{"fork-exec", execLoop, execs, bpf.Options{Limits: lim}, "", false},
		{"fork-exec-drain-only", execLoop, execs, bpf.Options{Limits: lim}, "", true},
		{"open-close-distinct-drain-only", openLoop(true), opens, bpf.Options{}, "", true},
		{"fork-exec-unwatched", execLoop, execs, bpf.Options{Watch: unwatched, Limits: lim}, "", false},
		{"fork-exec-floor", execLoop, execs, bpf.Options{}, "sys_enter_ptrace", false},
	} {
		if v.opts.RawSyscalls && runtime.GOARCH != "amd64" {
			continue
		}
		counters, events = bpf.Counters{}, 0
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				var off, on sample
				var pairs []float64
				var last time.Duration
				for round := range 2 * rounds {
					if round%2 == 0 {
						s := measure(v.f)
						off.cpu, off.wall = off.cpu+s.cpu, off.wall+s.wall
						last = s.cpu
						continue
					}
					var s sample
					if v.floor != "" {
						s = withFloor(v.floor, v.f)
					} else {
						s = withSensor(v.opts, v.drain, v.f)
					}
					on.cpu, on.wall = on.cpu+s.cpu, on.wall+s.wall
					pairs = append(pairs, float64(s.cpu)/float64(last))
				}
				slices.Sort(pairs)
				b.ReportMetric(pairs[len(pairs)/2], "cpu-ratio-median")
				n := float64(rounds * v.n)
				b.ReportMetric(float64(off.cpu.Nanoseconds())/n, "off-cpu-ns/op")
				b.ReportMetric(float64(on.cpu.Nanoseconds())/n, "on-cpu-ns/op")
				b.ReportMetric(float64(on.cpu)/float64(off.cpu), "cpu-ratio")
				b.ReportMetric(float64(on.wall)/float64(off.wall), "wall-ratio")
				b.ReportMetric(float64(counters.RingDrops), "ringbuf-drops")
				b.ReportMetric(float64(counters.OpenRepeats), "opens-folded")
				b.ReportMetric(float64(counters.OpenDeduped), "opens-deduped")
				b.ReportMetric(float64(counters.OpenLimited), "opens-limited")
				b.ReportMetric(float64(events), "open-records-read")
			}
		})
	}
}

const overheadHelperEnv = "KORDON_OVERHEAD_SENSOR"

type helperConfig struct {
	Options   bpf.Options
	DrainOnly bool
}

type helperResult struct {
	Counters bpf.Counters
	Opens    int64
}

// TestOverheadSensorHelper is the sensor process of
// BenchmarkSyscallOverhead (it does nothing in a normal test run): it
// loads the probe, runs the pipeline (or only drains the ring buffer),
// prints "ready", and when its standard input closes prints its counters
// as JSON.
func TestOverheadSensorHelper(t *testing.T) {
	raw := os.Getenv(overheadHelperEnv)
	if raw == "" {
		t.Skip("the sensor process of BenchmarkSyscallOverhead")
	}
	var cfg helperConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Options.RingBytes = 16 << 20
	probe, err := bpf.Load(cfg.Options)
	if err != nil {
		t.Fatal(err)
	}
	resolver, _ := attribution.NewResolver(attribution.Options{})
	s, _ := newBenchSensor(t, func(finding.Event) {})
	s.cfg.Resolver = resolver
	s.cfg.ProcRoot = "/proc"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var drained int64
	go func() {
		defer close(done)
		if !cfg.DrainOnly {
			s.Run(ctx, probe)
			return
		}
		var e event.Event
		for probe.Read(&e) == nil {
			if e.Kind == event.Open {
				drained++
			}
		}
	}()
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	c, _ := probe.Counters()
	cancel()
	probe.Close()
	<-done
	res := helperResult{Counters: c, Opens: drained}
	if !cfg.DrainOnly {
		res.Opens = int64(testutil.ToFloat64(s.cfg.Metrics.Events.WithLabelValues("open")))
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
