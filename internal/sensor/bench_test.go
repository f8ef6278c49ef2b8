package sensor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor/baseline"
	"github.com/kordon-dev/kordon/internal/sensor/detect"
	"github.com/kordon-dev/kordon/internal/sensor/event"
	"github.com/kordon-dev/kordon/internal/sensor/response"
)

// genEvents makes a realistic stream: 50 workloads of a web shop, each
// running a few executables, reading libraries and configuration, writing
// per-request temporary files, and talking to a few peers; 1 event in 1000
// strays (a shell, a token read, a mining pool).
func genEvents(n int, seed uint64) []event.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	var ws []*event.Workload
	for i := range 50 {
		ws = append(ws, &event.Workload{Namespace: fmt.Sprintf("team-%d", i%7), Pod: fmt.Sprintf("svc-%d-abc12-x%d", i, i), Container: "app",
			ContainerID: fmt.Sprintf("%064x", i+1), OwnerKind: "Deployment", Owner: fmt.Sprintf("svc-%d", i),
			Image: "registry.example/svc:1.0", ImageDigest: fmt.Sprintf("sha256:%064x", i)})
	}
	exes := []string{"/usr/local/bin/server", "/usr/bin/python3", "/usr/sbin/nginx", "/usr/bin/node"}
	files := []string{"/etc/ssl/certs/ca-certificates.crt", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/resolv.conf", "/etc/hosts", "/app/config.yaml", "/proc/self/status"}
	out := make([]event.Event, n)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range out {
		w := ws[r.IntN(len(ws))]
		e := event.Event{Time: t0.Add(time.Duration(i) * time.Microsecond), PID: uint32(1000 + r.IntN(500)), PPID: 1, UID: 1000, Workload: w, Comm: "server"}
		switch x := r.IntN(100); {
		case x < 5:
			e.Kind, e.Path = event.Exec, exes[r.IntN(len(exes))]
			e.Args = []string{e.Path, "--port", "8080"}
		case x < 60:
			e.Kind, e.Path, e.Ret = event.Open, files[r.IntN(len(files))], 3
		case x < 80:
			e.Kind, e.Path, e.Ret, e.Flags = event.Open, fmt.Sprintf("/tmp/upload-%08x.part", r.Uint32()), 4, event.OWronly|event.OCreat
		case x < 95:
			e.Kind, e.Addr, e.Port, e.Direction = event.Connect, fmt.Sprintf("10.0.%d.%d", r.IntN(2), r.IntN(4)), 5432, "outbound"
		default:
			e.Kind = event.Exit
		}
		if r.IntN(1000) == 0 {
			e.Kind, e.Path, e.Args = event.Exec, "/bin/sh", []string{"sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/token"}
		}
		e.Exe = exes[0]
		out[i] = e
	}
	return out
}

func newBenchSensor(b testing.TB, emit func(finding.Event)) (*Sensor, *baseline.Store) {
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		b.Fatal(err)
	}
	specs, _ := detect.Builtin()
	det, err := detect.New(specs)
	if err != nil {
		b.Fatal(err)
	}
	store, _ := baseline.NewStore(baseline.Config{Window: time.Hour})
	s, err := New(Config{Catalogue: cat, Detector: det, Baselines: store, Responder: response.NewResponder(nil, nil), Emit: emit, ProcRoot: "/nonexistent"})
	if err != nil {
		b.Fatal(err)
	}
	return s, store
}

// BenchmarkPipeline measures events processed per second on one core:
// baselines locked after learning 200,000 events, all runtime rules (42), the rate
// limit and the event encoding to finding.Events.
func BenchmarkPipeline(b *testing.B) {
	events := genEvents(400_000, 1)
	emitted := 0
	s, store := newBenchSensor(b, func(finding.Event) { emitted++ })
	ctx := context.Background()
	for i := range 200_000 {
		s.Process(ctx, &events[i])
	}
	store.LockAll(events[200_000].Time)
	rest := events[200_000:]
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; b.Loop(); i++ {
		e := rest[i%len(rest)]
		s.Process(ctx, &e)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	// On a shared machine wall time overstates the cost: events per
	// second of CPU time used by the process.
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(emitted)/float64(n), "reported/event")
}

// BenchmarkProfileMemory learns one workload's profile from 1,000,000
// events with unique temporary paths, unique peers and many executables,
// and reports its bound-checked size.
func BenchmarkProfileMemory(b *testing.B) {
	w := event.Workload{Namespace: "shop", Owner: "web", OwnerKind: "Deployment", Container: "app", ImageDigest: "sha256:1"}
	r := rand.New(rand.NewPCG(2, 2))
	var p *baseline.Profile
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		p = baseline.NewProfile(w.Key(), w, time.Now())
		for i := range 1_000_000 {
			var e event.Event
			switch i % 4 {
			case 0:
				e = event.Event{Kind: event.Open, Path: fmt.Sprintf("/tmp/req-%08x/body.json", r.Uint32())}
			case 1:
				e = event.Event{Kind: event.Open, Path: fmt.Sprintf("/srv/data/%s/%s.dat", word(r), word(r))}
			case 2:
				e = event.Event{Kind: event.Connect, Addr: fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256)), Port: 443}
			default:
				e = event.Event{Kind: event.Exec, Path: "/opt/tools/" + word(r)}
			}
			p.Learn(&e, baseline.Limits{})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(p.Bytes()), "profile-bytes")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "heap-bytes")
	b.ReportMetric(float64(p.Overflow), "overflow-entries")
	// Encode writes the sets back to the exported fields.
	if _, err := baseline.Encode([]*baseline.Profile{p}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(p.Files)), "file-patterns")
	runtime.KeepAlive(p)
}

func word(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	n := 4 + r.IntN(6)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
