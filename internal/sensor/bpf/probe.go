// Package bpf holds the sensor's eBPF programs (sensor.bpf.c, compiled by
// bpf2go into the committed sensor_bpfel.o) and the loader that attaches
// them to tracepoints and reads their ring buffer. Only tracepoints are
// used: they load on every kernel with BTF, where kprobes, fentry and LSM
// programs may not.
package bpf

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Options configure a Probe.
type Options struct {
	// RingBytes is the ring buffer's size; a power of two, at least one
	// page. Zero means 8 MiB.
	RingBytes uint32
	// SkipPID is a process whose events are not reported (the sensor's
	// own); zero means the calling process.
	SkipPID uint32
	// Watch, when set, limits the programs to tasks below these cgroup v2
	// directories (absolute paths in the cgroup2 mount, all at the same
	// depth): other tasks are left in the kernel, at the cost of one map
	// lookup. TCP state changes (softirq) are not filtered.
	Watch []string
	// RawSyscalls reports opens from the raw sys_exit tracepoint (one
	// program at the exit of every system call, x86-64 only) instead of
	// syscalls/sys_exit_openat(2). Measured more expensive; kept to repeat
	// the comparison (docs/benchmarks.md).
	RawSyscalls bool
	// PathOnly replaces the open programs with one that filters, reads the
	// saved registers and copies the path, and reports nothing: a
	// measuring aid for the overhead benchmark (docs/benchmarks.md).
	PathOnly bool
	// Limits are the in-kernel per-cgroup rate limits and open dedup; the
	// zero value turns them off (DefaultLimits are the CLI's defaults).
	Limits Limits
	// CapabilityFallback derives capability use from the system calls
	// that need one instead of capability/cap_capable, as happens on its
	// own when the kernel lacks that tracepoint (docs/sensor.md).
	CapabilityFallback bool
}

// Limits bound what one cgroup (one container) can put in the ring
// buffer, in the kernel: a token bucket per cgroup for opens and one for
// connections (connect, accept, TCP established), and a window in which
// an open identical to one already reported (same cgroup, process, flags,
// success and path) is counted instead of reported. Execs, exits,
// capability checks and the other security system calls are never
// limited. Every suppressed record is counted per cgroup (TakeSuppressed).
type Limits struct {
	// OpenRate is the opens per second a cgroup may report (0: no limit)
	// with bursts of up to OpenBurst.
	OpenRate  float64
	OpenBurst uint32
	// NetRate and NetBurst are the same for connection records.
	NetRate  float64
	NetBurst uint32
	// DedupWindow is how long an open is not reported again (0: off).
	DedupWindow time.Duration
}

// DefaultLimits are the limits kordon sensor run starts with.
func DefaultLimits() Limits {
	return Limits{OpenRate: 5000, OpenBurst: 20000, NetRate: 2000, NetBurst: 10000, DedupWindow: time.Second}
}

// gcra turns a rate and burst into the kernel's interval and tolerance.
func gcra(what string, rate float64, burst uint32) (interval, tolerance uint64, err error) {
	switch {
	case rate == 0:
		return 0, 0, nil
	case rate < 0 || rate > 1e9:
		return 0, 0, fmt.Errorf("%s rate %g: want 0 (no limit) up to 1e9 per second", what, rate)
	case burst == 0:
		return 0, 0, fmt.Errorf("%s burst 0: want at least 1 with a rate", what)
	}
	interval = uint64(1e9 / rate)
	return interval, interval * uint64(burst-1), nil
}

// Validate checks the limits, naming the field at fault.
func (l Limits) Validate() error {
	if _, _, err := gcra("open", l.OpenRate, l.OpenBurst); err != nil {
		return err
	}
	if _, _, err := gcra("connection", l.NetRate, l.NetBurst); err != nil {
		return err
	}
	if l.DedupWindow < 0 {
		return fmt.Errorf("dedup window %s: want 0 (off) or more", l.DedupWindow)
	}
	return nil
}

func (l Limits) set(spec *ebpf.CollectionSpec) error {
	if err := l.Validate(); err != nil {
		return err
	}
	oi, ot, _ := gcra("open", l.OpenRate, l.OpenBurst)
	ni, nt, _ := gcra("connection", l.NetRate, l.NetBurst)
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fmt.Errorf("hash seed: %w", err)
	}
	for name, v := range map[string]uint64{"open_interval_ns": oi, "open_tolerance_ns": ot, "net_interval_ns": ni, "net_tolerance_ns": nt,
		"dedup_window_ns": uint64(l.DedupWindow), "hash_seed": binary.LittleEndian.Uint64(seed[:])} {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// Probe is the loaded and attached programs. Read from one goroutine;
// Drops and Close are safe for concurrent use.
type Probe struct {
	coll     *ebpf.Collection
	events   *ebpf.Map
	counters *ebpf.Map
	links    []link.Link
	reader   *ringbuf.Reader
	rec      ringbuf.Record
	deadline time.Time
	bootTime time.Time
	// Missing lists optional tracepoints this kernel lacks.
	Missing []string
	// CapabilitySource is where capability events come from: "tracepoint"
	// (capability/cap_capable) or "syscalls" (the fallback).
	CapabilitySource string
	stats            *ebpf.Map
	closeOnce        sync.Once
	// mu guards the maps against Close while Drops reads them, and last.
	mu     sync.RWMutex
	closed bool
	// last are the per-cgroup counts TakeSuppressed returned so far.
	last map[uint64]Suppressed
}

// required tracepoints: without them the sensor is blind.
var required = map[string]bool{"sched_process_exec": true, "sched_process_exit": true, "sys_exit_openat": true, "sys_exit": true}

// optionalTypes are the tracepoint context types of optional programs:
// a kernel without the type lacks the tracepoint, and the program, whose
// CO-RE relocations would fail, is not loaded.
var optionalTypes = map[string]string{"handle_capable": "trace_event_raw_cap_capable"}

// ErrClosed is returned by Read after Close; it wraps io.EOF, the end of
// every event source.
var ErrClosed = fmt.Errorf("probe closed: %w", io.EOF)

// Load checks the kernel, loads the programs and attaches them. It mounts
// tracefs at /sys/kernel/tracing when no tracefs is mounted.
func Load(opts Options) (*Probe, error) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, fmt.Errorf("kernel BTF: %w (the sensor needs a kernel built with CONFIG_DEBUG_INFO_BTF)", err)
	}
	if err := ensureTracefs(); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("memlock limit: %w", err)
	}
	spec, err := loadSensor()
	if err != nil {
		return nil, fmt.Errorf("load object: %w", err)
	}
	ring := opts.RingBytes
	if ring == 0 {
		ring = 8 << 20
	}
	if ring&(ring-1) != 0 || ring < uint32(os.Getpagesize()) {
		return nil, fmt.Errorf("ring buffer size %d: want a power of two of at least %d bytes", ring, os.Getpagesize())
	}
	spec.Maps["events"].MaxEntries = ring
	self := opts.SkipPID
	if self == 0 {
		self = uint32(os.Getpid())
	}
	if err := spec.Variables["self_pid"].Set(self); err != nil {
		return nil, fmt.Errorf("set self_pid: %w", err)
	}
	if err := spec.Variables["wake_bytes"].Set(uint64(ring / 8)); err != nil {
		return nil, fmt.Errorf("set wake_bytes: %w", err)
	}
	var watchIDs []uint64
	if len(opts.Watch) > 0 {
		level := -1
		for _, dir := range opts.Watch {
			var st unix.Stat_t
			if err := unix.Stat(dir, &st); err != nil {
				return nil, fmt.Errorf("watch cgroup %s: %w", dir, err)
			}
			d := cgroupDepth(dir)
			if level >= 0 && d != level {
				return nil, fmt.Errorf("watch cgroups %v: all must be at the same depth of the hierarchy", opts.Watch)
			}
			level = d
			watchIDs = append(watchIDs, st.Ino)
		}
		if level <= 0 {
			return nil, fmt.Errorf("watch cgroups %v: the root needs no filter", opts.Watch)
		}
		if err := spec.Variables["filter_level"].Set(uint32(level)); err != nil {
			return nil, fmt.Errorf("set filter_level: %w", err)
		}
	}
	if err := opts.Limits.set(spec); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	p := &Probe{bootTime: bootTime(), last: map[uint64]Suppressed{}}
	switch {
	case opts.PathOnly:
		delete(spec.Programs, "handle_exit_openat")
		delete(spec.Programs, "handle_exit_openat2")
		delete(spec.Programs, "handle_raw_sys_exit")
	case opts.RawSyscalls:
		delete(spec.Programs, "handle_exit_openat")
		delete(spec.Programs, "handle_exit_openat2")
		delete(spec.Programs, "path_only_openat")
	default:
		delete(spec.Programs, "handle_raw_sys_exit")
		delete(spec.Programs, "path_only_openat")
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	for prog, typ := range optionalTypes {
		var st *btf.Struct
		if err := kernel.TypeByName(typ, &st); err != nil {
			p.Missing = append(p.Missing, strings.TrimPrefix(spec.Programs[prog].SectionName, "tracepoint/"))
			delete(spec.Programs, prog)
		}
	}
	// Capability use: the tracepoint where it exists, else (or when
	// asked) the system calls that need a capability.
	p.CapabilitySource = "tracepoint"
	if _, ok := spec.Programs["handle_capable"]; !ok || opts.CapabilityFallback {
		p.CapabilitySource = "syscalls"
		delete(spec.Programs, "handle_capable")
	}
	for name := range spec.Programs {
		if strings.HasPrefix(name, "cap_") && p.CapabilitySource != "syscalls" {
			delete(spec.Programs, name)
		}
	}
	p.coll, err = ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load programs: %+v", ve)
		}
		return nil, fmt.Errorf("load programs: %w", err)
	}
	p.events, p.counters, p.stats = p.coll.Maps["events"], p.coll.Maps["counters"], p.coll.Maps["cgroup_stats"]
	if err := p.stats.Put(uint64(0), cgroupStats{}); err != nil {
		p.Close()
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	for _, id := range watchIDs {
		if err := p.coll.Maps["watched"].Put(id, uint8(1)); err != nil {
			p.Close()
			return nil, fmt.Errorf("watch cgroup: %w", err)
		}
	}
	for name, ps := range spec.Programs {
		prog := p.coll.Programs[name]
		if tp, ok := strings.CutPrefix(ps.SectionName, "raw_tracepoint/"); ok {
			l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp, Program: prog})
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("attach raw tracepoint %s: %w", tp, err)
			}
			p.links = append(p.links, l)
			continue
		}
		group, tp, ok := strings.Cut(strings.TrimPrefix(ps.SectionName, "tracepoint/"), "/")
		if !ok {
			p.Close()
			return nil, fmt.Errorf("program %s: section %q is not a tracepoint", name, ps.SectionName)
		}
		l, err := link.Tracepoint(group, tp, prog, nil)
		if err != nil {
			if required[tp] {
				p.Close()
				return nil, fmt.Errorf("attach %s/%s: %w", group, tp, err)
			}
			p.Missing = append(p.Missing, group+"/"+tp)
			continue
		}
		p.links = append(p.links, l)
	}
	slices.Sort(p.Missing)
	p.reader, err = ringbuf.NewReader(p.events)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("ring buffer reader: %w", err)
	}
	return p, nil
}

// Attached returns how many tracepoints are attached.
func (p *Probe) Attached() int { return len(p.links) }

// PollInterval is how often Read looks at the ring buffer when the
// kernel did not wake it: records other than execs are submitted without
// a wakeup (each costs the producing task an inter-processor interrupt)
// until an eighth of the ring is used, so they reach user space within
// this interval.
const PollInterval = 5 * time.Millisecond

// Read blocks until the next event and decodes it into e. It returns
// ErrClosed after Close, os.ErrDeadlineExceeded when the deadline set by
// SetDeadline passes first, and an error for a malformed record.
func (p *Probe) Read(e *event.Event) error {
	for {
		wait := time.Now().Add(PollInterval)
		if !p.deadline.IsZero() && p.deadline.Before(wait) {
			wait = p.deadline
		}
		p.reader.SetDeadline(wait)
		err := p.reader.ReadInto(&p.rec)
		switch {
		case err == nil:
			return Decode(p.rec.RawSample, p.bootTime, e)
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !p.deadline.IsZero() && !time.Now().Before(p.deadline) {
				return err
			}
		case errors.Is(err, os.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}
	}
}

// SetDeadline makes a blocked Read return os.ErrDeadlineExceeded at t;
// the zero time means no deadline. Call it from the reading goroutine.
func (p *Probe) SetDeadline(t time.Time) { p.deadline = t }

// Drops returns how many events the ring buffer had no room for, summed
// over CPUs, since the probe was loaded.
func (p *Probe) Drops() (uint64, error) {
	c, err := p.Counters()
	return c.RingDrops, err
}

// Counters are the kernel side's per-CPU counters, summed over CPUs.
type Counters struct {
	// RingDrops are events the ring buffer had no room for (lost).
	RingDrops uint64
	// OpenRepeats are identical opens folded into a later record's
	// Repeats (not lost: counted there).
	OpenRepeats uint64
	// CapRepeats are capability checks a process had already been
	// reported for (the same capability with the same result).
	CapRepeats uint64
	// OpenDeduped are opens identical to one reported within the dedup
	// window (counted, carried by the next report of that open).
	OpenDeduped uint64
	// OpenLimited and NetLimited are open and connection records over
	// their cgroup's rate limit (counted, not reported).
	OpenLimited uint64
	NetLimited  uint64
}

// Folded returns the events folded in the kernel so far, by kind (open,
// capability); the sensor exports them as a metric.
func (p *Probe) Folded() (map[string]uint64, error) {
	c, err := p.Counters()
	if err != nil {
		return nil, err
	}
	return map[string]uint64{string(event.Open): c.OpenRepeats, string(event.Capability): c.CapRepeats}, nil
}

// Counters reads the kernel counters.
func (p *Probe) Counters() (Counters, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return Counters{}, ErrClosed
	}
	var c Counters
	for i, dst := range []*uint64{&c.RingDrops, &c.OpenRepeats, &c.CapRepeats, &c.OpenDeduped, &c.OpenLimited, &c.NetLimited} {
		var perCPU []uint64
		if err := p.counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("read counter %d: %w", i, err)
		}
		for _, v := range perCPU {
			*dst += v
		}
	}
	return c, nil
}

// Suppressed counts the records the kernel's limits kept from one cgroup.
type Suppressed struct {
	OpenDeduped uint64
	OpenLimited uint64
	NetLimited  uint64
}

// IsZero reports whether nothing was suppressed.
func (s Suppressed) IsZero() bool { return s == Suppressed{} }

// cgroupStats mirrors struct cgroup_stats.
type cgroupStats struct {
	OpenTat, NetTat                      uint64
	OpenLimited, NetLimited, OpenDeduped uint64
	Pad                                  uint64
}

// maxStats is cgroup_stats' size; above half of it, TakeSuppressed
// removes the entries of idle cgroups.
const (
	maxStats  = 8192
	idleAfter = 10 * time.Second
)

// TakeSuppressed returns, per cgroup id, what the kernel's limits
// suppressed since the previous call (cgroup 0: cgroups beyond the
// kernel's table of 8,192). When the table is over half full it removes
// idle cgroups (no limited record for ten seconds) after counting them;
// a removed cgroup that comes back starts with a full bucket.
func (p *Probe) TakeSuppressed() (map[uint64]Suppressed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	var (
		id   uint64
		st   cgroupStats
		seen = map[uint64]cgroupStats{}
	)
	it := p.stats.Iterate()
	for it.Next(&id, &st) {
		seen[id] = st
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup stats: %w", err)
	}
	now := uint64(monotonic())
	prune := len(seen) > maxStats/2
	out := map[uint64]Suppressed{}
	last := make(map[uint64]Suppressed, len(seen))
	for id, st := range seen {
		gone := false
		if prune && id != 0 && max(st.OpenTat, st.NetTat)+uint64(idleAfter) < now {
			// Read the final counts as the entry goes.
			gone = p.stats.LookupAndDelete(id, &st) == nil
		}
		cur := Suppressed{OpenDeduped: st.OpenDeduped, OpenLimited: st.OpenLimited, NetLimited: st.NetLimited}
		prev := p.last[id]
		d := Suppressed{OpenDeduped: cur.OpenDeduped - prev.OpenDeduped, OpenLimited: cur.OpenLimited - prev.OpenLimited, NetLimited: cur.NetLimited - prev.NetLimited}
		if !gone {
			last[id] = cur
		}
		if !d.IsZero() {
			out[id] = d
		}
	}
	p.last = last
	return out, nil
}

// Close detaches the programs and frees the maps; a blocked Read returns
// ErrClosed.
func (p *Probe) Close() error {
	p.closeOnce.Do(func() {
		if p.reader != nil {
			p.reader.Close()
		}
		for _, l := range p.links {
			l.Close()
		}
		p.mu.Lock()
		p.closed = true
		if p.coll != nil {
			p.coll.Close()
		}
		p.mu.Unlock()
	})
	return nil
}

// EventSize is the size of one kernel record; OpenSize that of an open's
// record, which stops before the unused args.
const (
	EventSize = int(unsafe.Sizeof(sensorEvent{}))
	OpenSize  = offArgs
)

// Kinds by their kernel number (enum kind in sensor.bpf.c).
var kinds = [...]event.Kind{1: event.Exec, 2: event.Exit, 3: event.Open, 4: event.Connect, 5: event.TCP,
	6: event.Ptrace, 7: event.Mount, 8: event.Setuid, 9: event.Unshare, 10: event.Memfd, 11: event.Accept,
	12: event.Capability}

// Decode turns one kernel record into e (reusing e's Args slice). boot is
// the wall-clock time of boot, to turn the kernel's monotonic stamp into a
// time.
func Decode(b []byte, boot time.Time, e *event.Event) error {
	if len(b) < OpenSize {
		return fmt.Errorf("record of %d bytes, want at least %d", len(b), OpenSize)
	}
	le := binary.LittleEndian
	var raw sensorEvent
	// Field offsets follow struct event; checked against the generated
	// type by TestDecodeLayout.
	raw.TsNs = le.Uint64(b[0:])
	raw.CgroupId = le.Uint64(b[8:])
	raw.Kind = le.Uint32(b[16:])
	raw.Pid = le.Uint32(b[20:])
	raw.Tid = le.Uint32(b[24:])
	raw.Ppid = le.Uint32(b[28:])
	raw.Uid = le.Uint32(b[32:])
	raw.Ret = int32(le.Uint32(b[36:]))
	raw.Arg0 = le.Uint64(b[40:])
	raw.Arg1 = le.Uint64(b[48:])
	raw.Family = le.Uint16(b[56:])
	raw.Dport = le.Uint16(b[58:])
	raw.Sport = le.Uint16(b[60:])
	raw.ArgsLen = le.Uint16(b[62:])
	if int(raw.Kind) >= len(kinds) || kinds[raw.Kind] == "" {
		return fmt.Errorf("unknown event kind %d", raw.Kind)
	}
	if raw.Kind != 3 && len(b) < EventSize {
		return fmt.Errorf("%s record of %d bytes, want %d", kinds[raw.Kind], len(b), EventSize)
	}
	args := e.Args[:0]
	*e = event.Event{
		Time:     boot.Add(time.Duration(raw.TsNs)).UTC(),
		Kind:     kinds[raw.Kind],
		PID:      raw.Pid,
		TID:      raw.Tid,
		PPID:     raw.Ppid,
		UID:      raw.Uid,
		CgroupID: raw.CgroupId,
		Comm:     cstring(b[offComm : offComm+16]),
		Ret:      raw.Ret,
	}
	path := cstring(b[offPath : offPath+256])
	switch e.Kind {
	case event.Exec:
		e.Path = path
		n := min(int(raw.ArgsLen), 256)
		for a := range bytes.SplitSeq(bytes.TrimRight(b[offArgs:offArgs+n], "\x00"), []byte{0}) {
			args = append(args, string(a))
		}
		e.Args = args
	case event.Open:
		e.Path = path
		e.Flags = raw.Arg0
		e.Repeats = raw.Arg1
	case event.Memfd:
		e.Path = path
		e.Flags = raw.Arg0
	case event.Capability:
		e.Flags = raw.Arg0
		e.Capability = event.CapabilityName(raw.Arg0)
		if raw.Arg1 != 0 {
			e.Syscall = syscallName(raw.Arg1)
		}
	case event.Mount:
		e.Path = path
		e.Flags = raw.Arg0
		e.FSType = cstring(b[offArgs : offArgs+64])
	case event.Ptrace:
		e.Flags = raw.Arg0
		e.Target = uint32(raw.Arg1)
	case event.Setuid, event.Unshare:
		e.Flags = raw.Arg0
	case event.Connect:
		e.Addr = addr(raw.Family, b[64:80])
		e.Port = raw.Dport
		e.Direction = "outbound"
	case event.TCP:
		e.Addr = addr(raw.Family, b[64:80])
		e.Port = raw.Dport
		e.LocalAddr = addr(raw.Family, b[80:96])
		e.LocalPort = raw.Sport
		e.Direction = "outbound"
		if raw.Arg1 == 2 {
			e.Direction = "inbound"
			// For an accepted connection the tracepoint's source is the
			// local end as well; report the peer as Addr.
			e.Addr, e.LocalAddr = e.LocalAddr, e.Addr
			e.Port, e.LocalPort = e.LocalPort, e.Port
		}
	}
	return nil
}

const (
	offComm = 96
	offPath = offComm + 16
	offArgs = offPath + 256
)

func addr(family uint16, b []byte) string {
	switch family {
	case unix.AF_INET:
		return netip.AddrFrom4([4]byte(b[:4])).String()
	case unix.AF_INET6:
		return netip.AddrFrom16([16]byte(b[:16])).Unmap().String()
	}
	return ""
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// monotonic is the kernel's monotonic clock (bpf_ktime_get_ns).
func monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// bootTime is the wall-clock time the monotonic clock (bpf_ktime_get_ns)
// started.
func bootTime() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now()
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}
