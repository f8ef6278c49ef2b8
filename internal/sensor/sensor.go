package sensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
	"github.com/kordon-dev/kordon/internal/sensor/baseline"
	"github.com/kordon-dev/kordon/internal/sensor/bpf"
	"github.com/kordon-dev/kordon/internal/sensor/detect"
	"github.com/kordon-dev/kordon/internal/sensor/event"
	"github.com/kordon-dev/kordon/internal/sensor/response"
)

// IDs of the checks the sensor itself reports (besides detect.IDs).
const (
	IDDeviationExec    = "KOR-RT-100"
	IDDeviationFile    = "KOR-RT-101"
	IDDeviationNetwork = "KOR-RT-102"
	IDDeviationCap     = "KOR-RT-103"
	IDRingDrops        = "KOR-RT-190"
	IDRateLimited      = "KOR-RT-191"
	IDProfileFull      = "KOR-RT-192"
)

// IDs returns every check the sensor engine reports.
func IDs() []string {
	return append(detect.IDs(), IDDeviationExec, IDDeviationFile, IDDeviationNetwork, IDDeviationCap, IDRingDrops, IDRateLimited, IDProfileFull)
}

// Source yields events: the kernel probe or a recorded stream.
type Source interface {
	// Read blocks for the next event; os.ErrDeadlineExceeded when the
	// deadline passes first, io.EOF (or a closed error) at the end.
	Read(e *event.Event) error
	SetDeadline(t time.Time)
	// Drops returns the events the source lost so far.
	Drops() (uint64, error)
}

// folder is a source that folds repeated events in the kernel (the
// probe): Folded returns how many so far, by kind.
type folder interface {
	Folded() (map[string]uint64, error)
}

// suppressor is a source whose kernel side limits what each cgroup
// reports (the probe): TakeSuppressed returns, per cgroup id, the records
// suppressed since the previous call.
type suppressor interface {
	TakeSuppressed() (map[uint64]bpf.Suppressed, error)
}

// Resolver attributes events to workloads.
type Resolver interface {
	Resolve(ctx context.Context, cgroupID uint64, pid uint32) *event.Workload
}

// Config wires a Sensor.
type Config struct {
	Catalogue *rules.Catalogue
	Detector  *detect.Detector
	// Baselines learns and checks profiles; nil: no baselines.
	Baselines *baseline.Store
	Responder *response.Responder
	// Resolver attributes events; nil keeps the events' own workload
	// (recorded streams).
	Resolver Resolver
	Metrics  *Metrics
	// Emit receives every event the sensor reports. It is called from the
	// sensor's goroutine.
	Emit func(finding.Event)
	// CgroupPrefix, when set, limits the sensor to workloads whose cgroup
	// path starts with it (hosts without Kubernetes, tests).
	CgroupPrefix string
	// RateLimit is the alerts per second allowed per rule and workload,
	// with a burst of 5×; 0 means 10.
	RateLimit float64
	// TickInterval is how often drops are polled and idle profiles locked
	// (default 1s).
	TickInterval time.Duration
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// ProcRoot is /proc unless set.
	ProcRoot string
}

// Sensor is the running pipeline. Run it from one goroutine.
type Sensor struct {
	cfg       Config
	procs     *procTable
	limiter   *limiter
	lastDrops uint64
	folded    map[string]uint64
	limited   map[string]int64
}

// New checks cfg and returns a sensor.
func New(cfg Config) (*Sensor, error) {
	if cfg.Catalogue == nil || cfg.Detector == nil || cfg.Responder == nil || cfg.Emit == nil {
		return nil, errors.New("sensor: catalogue, detector, responder and emit are required")
	}
	for _, id := range IDs() {
		if _, ok := cfg.Catalogue.Lookup(id); !ok {
			return nil, fmt.Errorf("sensor: check %s is not in the catalogue", id)
		}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 10
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	return &Sensor{cfg: cfg, procs: newProcTable(cfg.ProcRoot, 1<<16), limiter: newLimiter(cfg.RateLimit, 5*cfg.RateLimit, 1<<16), limited: map[string]int64{}}, nil
}

// Run reads src until ctx is done or src ends (nil at io.EOF or close).
func (s *Sensor) Run(ctx context.Context, src Source) error {
	var e event.Event
	next := s.cfg.Now().Add(s.cfg.TickInterval)
	src.SetDeadline(next)
	for {
		if ctx.Err() != nil {
			s.tick(ctx, src)
			return nil
		}
		err := src.Read(&e)
		if errors.Is(err, os.ErrDeadlineExceeded) || (err == nil && !s.cfg.Now().Before(next)) {
			s.tick(ctx, src)
			next = s.cfg.Now().Add(s.cfg.TickInterval)
			src.SetDeadline(next)
			if err != nil {
				continue
			}
		}
		if err != nil {
			if isEnd(err) {
				s.tick(ctx, src)
				return nil
			}
			return err
		}
		s.Process(ctx, &e)
	}
}

func isEnd(err error) bool {
	return errors.Is(err, io.EOF) // bpf.ErrClosed wraps io.EOF
}

// Process handles one event.
func (s *Sensor) Process(ctx context.Context, e *event.Event) {
	s.cfg.Metrics.Events.WithLabelValues(string(e.Kind)).Inc()
	parent := s.procs.observe(e)
	if s.cfg.Resolver != nil {
		e.Workload = s.cfg.Resolver.Resolve(ctx, e.CgroupID, e.PID)
	}
	if s.cfg.CgroupPrefix != "" && (e.Workload == nil || !strings.HasPrefix(e.Workload.Cgroup, s.cfg.CgroupPrefix)) {
		return
	}
	if s.cfg.Baselines != nil && e.Workload != nil {
		r := s.cfg.Baselines.Observe(e)
		if r.Overflowed {
			s.cfg.Metrics.ProfileFull.Inc()
			s.report(ctx, IDProfileFull, false, e, fmt.Sprintf("the profile of %s reached its bound of %d bytes; entries beyond it are counted, not learned", r.Profile.Key, r.Profile.Bytes()), false)
		} else if r.Profile != nil && r.Profile.Overflow > 0 && r.Profile.State == baseline.Learning {
			s.cfg.Metrics.ProfileFull.Inc()
		}
		if d := r.Deviation; d != nil {
			id := map[string]string{baseline.DeviationExec: IDDeviationExec, baseline.DeviationFile: IDDeviationFile, baseline.DeviationNetwork: IDDeviationNetwork,
				baseline.DeviationCapability: IDDeviationCap}[d.What]
			s.report(ctx, id, true, e, fmt.Sprintf("%s: %s is not in the baseline of %s", d.What, d.Entry, r.Profile.Key), true)
		}
	}
	ms, err := s.cfg.Detector.Evaluate(detect.NewInput(e, parent))
	if err != nil {
		s.cfg.Metrics.RuleErrors.Inc()
	}
	for _, m := range ms {
		s.report(ctx, m.RuleID, false, e, m.Message, true)
	}
}

// report emits one event, through the rate limit when limited is true.
func (s *Sensor) report(ctx context.Context, id string, deviation bool, e *event.Event, msg string, limited bool) {
	key := id + "|" + e.Workload.Key()
	if limited && !s.limiter.allow(key, s.cfg.Now()) {
		s.cfg.Metrics.RateLimitDrops.WithLabelValues(id).Inc()
		s.limited[id]++
		return
	}
	out := s.cfg.Responder.Respond(ctx, id, deviation, e)
	if out.Err != nil {
		s.cfg.Metrics.ResponseErrors.Inc()
	}
	s.cfg.Metrics.Alerts.WithLabelValues(id, out.Done).Inc()
	f, err := s.cfg.Catalogue.Finding(id, rules.Outcome{Resource: resource(e.Workload), Failed: true, Message: msg})
	if err != nil {
		return // New checked every ID
	}
	ev := finding.Event{Time: e.Time, Engine: rules.EngineSensor, Action: out.Done, Finding: f, Attributes: attributes(e)}
	if ev.Time.IsZero() {
		ev.Time = s.cfg.Now().UTC()
	}
	if e.PID != 0 {
		ev.Actor = &finding.Actor{Process: fmt.Sprintf("%s (pid %d)", firstNonEmpty(e.Exe, e.Comm), e.PID)}
	}
	if out.Action != response.Alert {
		ev.Attributes["response"] = string(out.Action)
		if out.DryRun {
			ev.Attributes["dryRun"] = "true"
		}
		if out.Latency > 0 {
			ev.Attributes["responseLatency"] = out.Latency.String()
		}
		if out.Err != nil {
			ev.Attributes["responseError"] = out.Err.Error()
		}
	}
	s.cfg.Emit(ev)
}

// tick polls the source's drops, locks idle profiles and reports
// rate-limited alerts.
func (s *Sensor) tick(ctx context.Context, src Source) {
	now := s.cfg.Now()
	if d, err := src.Drops(); err == nil && d > s.lastDrops {
		n := d - s.lastDrops
		s.lastDrops = d
		s.cfg.Metrics.RingDrops.Add(float64(n))
		s.emitHealth(IDRingDrops, fmt.Sprintf("%d events lost: the ring buffer was full (%d since the start)", n, d), map[string]string{"dropped": strconv.FormatUint(n, 10)})
	}
	if f, ok := src.(folder); ok {
		if m, err := f.Folded(); err == nil {
			if s.folded == nil {
				s.folded = map[string]uint64{}
			}
			for kind, n := range m {
				if n > s.folded[kind] {
					s.cfg.Metrics.KernelFolded.WithLabelValues(kind).Add(float64(n - s.folded[kind]))
					s.folded[kind] = n
				}
			}
		}
	}
	if sp, ok := src.(suppressor); ok {
		if m, err := sp.TakeSuppressed(); err == nil {
			s.reportSuppressed(ctx, m)
		}
	}
	for id, n := range s.limited {
		s.emitHealth(IDRateLimited, fmt.Sprintf("%d alerts of %s not reported: over the rate limit of %g per second per workload", n, id, s.cfg.RateLimit),
			map[string]string{"rule": id, "dropped": strconv.FormatInt(n, 10)})
		delete(s.limited, id)
	}
	if s.cfg.Baselines != nil {
		s.cfg.Baselines.Tick(now)
		var learning, locked float64
		for _, p := range s.cfg.Baselines.Profiles() {
			if p.State == baseline.Locked {
				locked++
			} else {
				learning++
			}
		}
		s.cfg.Metrics.Profiles.WithLabelValues(baseline.Learning).Set(learning)
		s.cfg.Metrics.Profiles.WithLabelValues(baseline.Locked).Set(locked)
		s.cfg.Metrics.Untracked.Set(float64(s.cfg.Baselines.Untracked()))
	}
}

// reportSuppressed counts what the kernel's per-cgroup limits kept out of
// the ring buffer and reports each workload whose records were rate
// limited (KOR-RT-191, layer kernel). Deduplicated opens are repeats of
// an open already reported within the window: they are counted (metric,
// and the event's openDeduped) but alone do not make an event.
func (s *Sensor) reportSuppressed(ctx context.Context, m map[uint64]bpf.Suppressed) {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d := m[id]
		s.cfg.Metrics.KernelSuppressed.WithLabelValues("open", "dedup").Add(float64(d.OpenDeduped))
		s.cfg.Metrics.KernelSuppressed.WithLabelValues("open", "rate-limit").Add(float64(d.OpenLimited))
		s.cfg.Metrics.KernelSuppressed.WithLabelValues("network", "rate-limit").Add(float64(d.NetLimited))
		if d.OpenLimited+d.NetLimited == 0 {
			continue
		}
		var w *event.Workload
		who := "cgroups beyond the kernel's table"
		if id != 0 {
			if s.cfg.Resolver != nil {
				w = s.cfg.Resolver.Resolve(ctx, id, 0)
			}
			who = fmt.Sprintf("cgroup %d", id)
			if w != nil {
				who = w.Key()
			}
		}
		learning := ""
		if s.cfg.Baselines != nil && w != nil {
			for _, p := range s.cfg.Baselines.Profiles() {
				if p.Key == w.Key() && p.State == baseline.Learning {
					learning = "; its profile is learning and does not see the suppressed opens"
				}
			}
		}
		msg := fmt.Sprintf("%d opens and %d connections of %s not reported: over the kernel's per-workload rate limit%s", d.OpenLimited, d.NetLimited, who, learning)
		f, err := s.cfg.Catalogue.Finding(IDRateLimited, rules.Outcome{Resource: resource(w), Failed: true, Message: msg})
		if err != nil {
			continue
		}
		attrs := map[string]string{"layer": "kernel", "cgroupID": strconv.FormatUint(id, 10),
			"openLimited": strconv.FormatUint(d.OpenLimited, 10), "netLimited": strconv.FormatUint(d.NetLimited, 10),
			"openDeduped": strconv.FormatUint(d.OpenDeduped, 10), "dropped": strconv.FormatUint(d.OpenLimited+d.NetLimited, 10)}
		if w != nil {
			for k, v := range map[string]string{"namespace": w.Namespace, "pod": w.Pod, "container": w.Container, "cgroup": w.Cgroup} {
				if v != "" {
					attrs[k] = v
				}
			}
		}
		s.cfg.Emit(finding.Event{Time: s.cfg.Now().UTC(), Engine: rules.EngineSensor, Action: finding.ActionObserved, Finding: f, Attributes: attrs})
	}
}

func (s *Sensor) emitHealth(id, msg string, attrs map[string]string) {
	host, _ := os.Hostname()
	f, err := s.cfg.Catalogue.Finding(id, rules.Outcome{Resource: finding.Resource{APIVersion: "v1", Kind: "Node", Name: host}, Failed: true, Message: msg})
	if err != nil {
		return
	}
	s.cfg.Emit(finding.Event{Time: s.cfg.Now().UTC(), Engine: rules.EngineSensor, Action: finding.ActionObserved, Finding: f, Attributes: attrs})
}

// resource is the resource an event concerns: the workload's owner, the
// pod, or the host cgroup.
func resource(w *event.Workload) finding.Resource {
	switch {
	case w == nil:
		host, _ := os.Hostname()
		return finding.Resource{APIVersion: "v1", Kind: "Node", Name: host}
	case w.Owner != "" && w.OwnerKind != "Pod":
		api := "apps/v1"
		switch w.OwnerKind {
		case "Job", "CronJob":
			api = "batch/v1"
		case "ReplicationController":
			api = "v1"
		}
		return finding.Resource{APIVersion: api, Kind: w.OwnerKind, Namespace: w.Namespace, Name: w.Owner}
	case w.Pod != "":
		return finding.Resource{APIVersion: "v1", Kind: "Pod", Namespace: w.Namespace, Name: w.Pod}
	}
	return finding.Resource{Kind: "Cgroup", Name: w.Cgroup}
}

func attributes(e *event.Event) map[string]string {
	a := map[string]string{"kind": string(e.Kind)}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	if e.PID != 0 {
		a["pid"] = strconv.FormatUint(uint64(e.PID), 10)
		a["ppid"] = strconv.FormatUint(uint64(e.PPID), 10)
		a["uid"] = strconv.FormatUint(uint64(e.UID), 10)
	}
	set("exe", e.Exe)
	set("comm", e.Comm)
	set("path", e.Path)
	set("capability", e.Capability)
	set("syscall", e.Syscall)
	if e.Repeats > 0 {
		a["repeats"] = strconv.FormatUint(e.Repeats, 10)
	}
	if len(e.Args) > 0 {
		a["args"] = strings.Join(e.Args, " ")
	}
	if e.Addr != "" {
		a["addr"] = e.Addr
		a["port"] = strconv.Itoa(int(e.Port))
		set("direction", e.Direction)
	}
	if e.Kind == event.Open || e.Kind == event.Mount || e.Kind == event.Ptrace || e.Kind == event.Unshare {
		a["flags"] = "0x" + strconv.FormatUint(e.Flags, 16)
	}
	if e.Kind == event.Capability {
		a["result"] = "granted"
		if e.Ret < 0 {
			a["result"] = "denied"
		}
	}
	if w := e.Workload; w != nil {
		set("namespace", w.Namespace)
		set("pod", w.Pod)
		set("container", w.Container)
		set("containerID", w.ContainerID)
		set("image", w.Image)
		set("imageDigest", w.ImageDigest)
		set("cgroup", w.Cgroup)
	}
	return a
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}
