package sensor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/sensor/attribution"
	"github.com/kordon-dev/kordon/internal/sensor/bpf"
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
// in one run: a tight open/close loop and a fork/exec loop, with the
// sensor off, on (programs attached, the full pipeline consuming the ring
// buffer on another goroutine), off again and on again. It reports the
// CPU time per operation of the looping thread (and its children) and the
// on/off ratio; wall time on a shared machine is reported but noisy. The
// -unwatched variants run the sensor with --cgroup-prefix set to a cgroup
// the loop is not in (the programs run and filter in the kernel). Run:
//
//	go test -run '^$' -bench SyscallOverhead -benchtime 1x ./internal/sensor
func BenchmarkSyscallOverhead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading eBPF programs needs root")
	}
	const opens, execs = 200_000, 1000
	file := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	openLoop := func() {
		for range opens {
			fd, err := syscall.Open(file, syscall.O_RDONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			syscall.Close(fd)
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
	var drops uint64
	// watch, when set, is a cgroup the looping process is not in: the
	// programs run but filter its events out in the kernel.
	var watch []string
	withSensor := func(f func()) sample {
		probe, err := bpf.Load(bpf.Options{RingBytes: 16 << 20, SkipPID: ^uint32(0), Watch: watch})
		if err != nil {
			b.Fatal(err)
		}
		resolver, _ := attribution.NewResolver(attribution.Options{})
		s, _ := newBenchSensor(b, func(finding.Event) {})
		s.cfg.Resolver = resolver
		s.cfg.ProcRoot = "/proc"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx, probe); close(done) }()
		r := measure(f)
		time.Sleep(200 * time.Millisecond)
		d, _ := probe.Drops()
		drops += d
		cancel()
		probe.Close()
		<-done
		return r
	}
	root, err := attribution.Cgroup2Mount("/proc")
	if err != nil {
		b.Skip("no cgroup v2: ", err)
	}
	other := filepath.Join(root, "kordon-overhead-other")
	os.Mkdir(other, 0o755)
	defer os.Remove(other)
	for _, loop := range []struct {
		name   string
		f      func()
		n      int
		filter bool
	}{{"open-close", openLoop, opens, false}, {"fork-exec", execLoop, execs, false},
		{"open-close-unwatched", openLoop, opens, true}, {"fork-exec-unwatched", execLoop, execs, true}} {
		watch = nil
		if loop.filter {
			watch = []string{other}
		}
		drops = 0
		b.Run(loop.name, func(b *testing.B) {
			for b.Loop() {
				var off, on sample
				for round := range 4 {
					if round%2 == 0 {
						s := measure(loop.f)
						off.cpu, off.wall = off.cpu+s.cpu, off.wall+s.wall
					} else {
						s := withSensor(loop.f)
						on.cpu, on.wall = on.cpu+s.cpu, on.wall+s.wall
					}
				}
				n := float64(2 * loop.n)
				b.ReportMetric(float64(off.cpu.Nanoseconds())/n, "off-cpu-ns/op")
				b.ReportMetric(float64(on.cpu.Nanoseconds())/n, "on-cpu-ns/op")
				b.ReportMetric(float64(on.cpu)/float64(off.cpu), "cpu-ratio")
				b.ReportMetric(float64(on.wall)/float64(off.wall), "wall-ratio")
				b.ReportMetric(float64(drops), "ringbuf-drops")
			}
		})
	}
}
