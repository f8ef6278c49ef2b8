//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Kordon's runtime sensor: tracepoint programs that report process execs and
// exits, file opens, connections and a few security-relevant system calls to
// user space through one ring buffer. Only tracepoints are used (no kprobes,
// fentry or LSM), so the programs load wherever BTF and tracepoints exist.
// Every event carries the cgroup v2 id of the task (or of the socket, for TCP
// state changes that run in softirq context), which user space maps to a
// container. A reservation the ring buffer cannot satisfy is counted per CPU
// in the drops map, never lost in silence.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PATH_LEN 256
#define ARGS_LEN 256
#define COMM_LEN 16

// Event kinds; user space mirrors them (internal/sensor/event).
enum kind {
	KIND_EXEC = 1,
	KIND_EXIT = 2,
	KIND_OPEN = 3,
	KIND_CONNECT = 4,
	KIND_TCP_ESTABLISHED = 5,
	KIND_PTRACE = 6,
	KIND_MOUNT = 7,
	KIND_SETUID = 8,
	KIND_UNSHARE = 9,
	KIND_MEMFD = 10,
	KIND_ACCEPT = 11,
	KIND_CAPABILITY = 12,
};

// One event. Fixed size so the reservation needs no length check; strings
// are NUL-terminated (args: NUL-separated arguments, args_len bytes used).
struct event {
	u64 ts_ns;
	u64 cgroup_id;
	u32 kind;
	u32 pid;  // thread group id (process id); 0 when unknown (softirq)
	u32 tid;
	u32 ppid;
	u32 uid;
	s32 ret;  // system call result or exit code
	u64 arg0; // kind-specific: open flags, ptrace request, mount flags, uid, unshare flags, capability
	u64 arg1; // kind-specific: ptrace target pid, TCP direction (1 outbound, 2 inbound), open repeats
	u16 family;
	u16 dport;
	u16 sport;
	u16 args_len;
	u8 daddr[16];
	u8 saddr[16];
	char comm[COMM_LEN];
	char path[PATH_LEN];
	char args[ARGS_LEN];
};

// Force the type into BTF for bpf2go -type event.
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // resized by the loader
} events SEC(".maps");

// Counters, per CPU: see enum counter (user space sums the CPUs).
enum counter {
	COUNT_RINGBUF_DROPS = 0, // events the ring buffer had no room for
	COUNT_OPEN_REPEATS = 1,  // identical opens folded into a later record
	COUNT_CAP_REPEATS = 2,   // capability checks already reported for the process
	COUNT_OPEN_DEDUPED = 3,  // opens seen again within the dedup window (not reported)
	COUNT_OPEN_LIMITED = 4,  // opens over their cgroup's rate limit (not reported)
	COUNT_NET_LIMITED = 5,   // connections over their cgroup's rate limit (not reported)
	COUNT_MAX = 6,
};

// Per-CPU counters, indexed by enum counter.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

// Set by the loader: when filter_level is not 0, only tasks whose cgroup
// ancestor at that level is in watched are reported (--cgroup-prefix,
// filtered in the kernel so unwatched tasks pay a map lookup only).
volatile const u32 filter_level = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u64);
	__type(value, u8);
} watched SEC(".maps");

static __always_inline int unwatched(void)
{
	if (filter_level == 0)
		return 0;
	u64 id = bpf_get_current_ancestor_cgroup_id(filter_level);
	return bpf_map_lookup_elem(&watched, &id) == 0;
}

// Set by the loader: wake the reader when this many bytes wait in the ring
// buffer (an eighth of it). Waking the reader for every record costs the
// producing task an inter-processor interrupt each time (about 2.5 µs per
// record on the project's VM, docs/benchmarks.md), so records other than
// execs are submitted without a wakeup and user space polls the ring every
// few milliseconds; execs, the most common kill targets, wake it at once.
volatile const u64 wake_bytes = 1 << 20;

static __always_inline u64 lazy_wakeup(void)
{
	// Wake when this record crosses the mark (records are under 1 KiB),
	// not for every record above it: a lagging reader is polling anyway.
	u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return avail >= wake_bytes && avail < wake_bytes + 1024 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

// Set by the loader: the sensor's own process id, whose events are skipped
// (its own reads would otherwise feed back into the ring buffer).
volatile const u32 self_pid = 0;

// count adds one to a per-CPU counter.
static __always_inline void count(u32 which)
{
	u64 *n = bpf_map_lookup_elem(&counters, &which);
	if (n)
		__sync_fetch_and_add(n, 1);
}

// skip is the early filter every program runs before any other work: the
// sensor's own process and tasks outside the watched cgroups.
static __always_inline int skip(void)
{
	return (u32)(bpf_get_current_pid_tgid() >> 32) == self_pid || unwatched();
}

static __always_inline struct event *reserve(u32 kind)
{
	if (skip())
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(COUNT_RINGBUF_DROPS);
		return 0;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (u32)bpf_get_current_uid_gid();
	e->ret = 0;
	e->arg0 = 0;
	e->arg1 = 0;
	e->family = 0;
	e->dport = 0;
	e->sport = 0;
	e->args_len = 0;
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	e->path[0] = 0;
	e->args[0] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct event *e = reserve(KIND_EXEC);
	if (!e)
		return 0;
	u32 loc = BPF_CORE_READ(ctx, __data_loc_filename);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), (void *)ctx + (loc & 0xffff));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long n = end - start;
	if (n > ARGS_LEN)
		n = ARGS_LEN;
	if (end > start && bpf_probe_read_user(e->args, n, (void *)start) == 0)
		e->args_len = n;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if ((u32)(id >> 32) != (u32)id)
		return 0; // a thread, not the process
	struct event *e = reserve(KIND_EXIT);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->ret = BPF_CORE_READ(task, exit_code) >> 8;
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

// Per-cgroup (per-workload) limits, set by the loader. A burst in one
// workload must not flood the ring buffer and hide the others' events, so
// opens and connections pass a token bucket per cgroup (kept as a GCRA
// "theoretical arrival time": interval = 1s / rate, tolerance = interval
// × (burst − 1); an interval of 0 means no limit). Execs, exits,
// capability checks and the other security system calls are exempt: they
// are rare and the kill decisions hang on them. Every record a limit
// suppresses is counted in its cgroup's entry (and per CPU in counters),
// and user space reports it (KOR-RT-191, metrics): never silent.
volatile const u64 open_interval_ns = 0;
volatile const u64 open_tolerance_ns = 0;
volatile const u64 net_interval_ns = 0;
volatile const u64 net_tolerance_ns = 0;

// Opens identical to one reported within this window (same cgroup,
// process and program — an exec starts afresh —, flags, success and path
// hash) are counted, not reported; 0
// turns the dedup off. The path hash is seeded at load time (hash_seed)
// so that a workload cannot choose paths that collide with another.
volatile const u64 dedup_window_ns = 0;
volatile const u64 hash_seed = 0;

struct cgroup_stats {
	u64 open_tat; // next time (ns) an open conforms to the rate
	u64 net_tat;
	u64 open_limited;
	u64 net_limited;
	u64 open_deduped;
	u64 pad;
};

// One entry per cgroup seen; key 0 (created by the loader) collects the
// cgroups beyond max_entries so that a full map still counts and limits.
// User space removes idle entries after reading their counts.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u64);
	__type(value, struct cgroup_stats);
} cgroup_stats SEC(".maps");

static __always_inline struct cgroup_stats *stats_of(u64 cg)
{
	struct cgroup_stats *s = bpf_map_lookup_elem(&cgroup_stats, &cg);
	if (s)
		return s;
	struct cgroup_stats init = {};
	bpf_map_update_elem(&cgroup_stats, &cg, &init, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&cgroup_stats, &cg);
	if (s)
		return s;
	u64 other = 0;
	return bpf_map_lookup_elem(&cgroup_stats, &other);
}

// over_limit is the GCRA test: it returns 1 when an event at now exceeds
// the bucket's burst, else takes a token. The update is not atomic: CPUs
// racing on one cgroup may each let an event through (at most one extra
// per CPU), which errs on reporting.
static __always_inline int over_limit(u64 *tat, u64 interval, u64 tolerance, u64 now)
{
	if (interval == 0)
		return 0;
	u64 t = *tat;
	if (t < now)
		t = now;
	if (t - now > tolerance)
		return 1;
	*tat = t + interval;
	return 0;
}

// net_limited applies the connection limit of cgroup cg, counting what it
// suppresses.
static __always_inline int net_limited(u64 cg)
{
	if (net_interval_ns == 0)
		return 0;
	struct cgroup_stats *s = stats_of(cg);
	if (!s || !over_limit(&s->net_tat, net_interval_ns, net_tolerance_ns, bpf_ktime_get_ns()))
		return 0;
	__sync_fetch_and_add(&s->net_limited, 1);
	count(COUNT_NET_LIMITED);
	return 1;
}

struct dedup_key {
	u64 cgroup_id;
	u64 hash;
	u64 flags;
	u64 exec_id; // after an exec the same pid is another program
	u32 pid;
	u32 ok;
};

struct dedup_val {
	u64 since;
	u64 count; // opens deduplicated since the last report
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dedup_key);
	__type(value, struct dedup_val);
} open_dedup SEC(".maps");

// Opens are reported from the system call's exit alone (the kernel has paged
// the path in by then and the result is known): the path pointer and flags
// are read from the task's saved user registers, so no map carries them
// from entry to exit. An open record stops before args (unused there).
#define OPEN_RECORD_SIZE __builtin_offsetof(struct event, args)

// Repeated identical opens (same cgroup, process, flags, success and path,
// within a second, on one CPU) are folded, not reported each time: every
// record stands for 1 + arg1 opens. The folded ones are carried by the
// next report of that open after the second, or — when another open comes
// first on that CPU — by a summary record of it. The counters map's
// COUNT_OPEN_REPEATS counts them as they are folded, so none is hidden.
#define REPEAT_WINDOW_NS 1000000000ULL

struct open_cache {
	u64 cgroup_id;
	u64 exec_id; // the task's self_exec_id: an exec in the same process is a new opener
	u64 flags;
	u64 since;
	u64 count;
	u32 pid;
	u32 tid;
	u32 ppid;
	u32 uid;
	s32 ret;
	u32 len; // bytes of path[cur] including the NUL; 0: empty cache
	u32 cur;
	u32 pad;
	char comm[COMM_LEN];
	char path[2][PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct open_cache);
} open_cache SEC(".maps");

static __always_inline int same_path(struct open_cache *c, u32 a, u32 b, u32 n)
{
	u64 *pa = (u64 *)c->path[a & 1];
	u64 *pb = (u64 *)c->path[b & 1];
	for (u32 i = 0; i < PATH_LEN / 8; i++) {
		if (i * 8 >= n)
			break;
		u64 x = pa[i] ^ pb[i];
		u32 rest = n - i * 8;
		if (rest < 8)
			x &= (1ULL << (rest * 8)) - 1;
		if (x)
			return 0;
	}
	return 1;
}

// path_hash hashes the first n bytes of a path, eight at a time.
static __always_inline u64 path_hash(struct open_cache *c, u32 slot, u32 n)
{
	u64 *p = (u64 *)c->path[slot & 1];
	u64 h = hash_seed ^ 0xcbf29ce484222325ULL;
	for (u32 i = 0; i < PATH_LEN / 8; i++) {
		if (i * 8 >= n)
			break;
		u64 x = p[i];
		u32 rest = n - i * 8;
		if (rest < 8)
			x &= (1ULL << (rest * 8)) - 1;
		h = (h ^ x) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static __always_inline void emit_open(struct open_cache *c, u32 slot, u64 ts, u64 repeats)
{
	struct event *e = bpf_ringbuf_reserve(&events, OPEN_RECORD_SIZE, 0);
	if (!e) {
		count(COUNT_RINGBUF_DROPS);
		return;
	}
	e->ts_ns = ts;
	e->cgroup_id = c->cgroup_id;
	e->kind = KIND_OPEN;
	e->pid = c->pid;
	e->tid = c->tid;
	e->ppid = c->ppid;
	e->uid = c->uid;
	e->ret = c->ret;
	e->arg0 = c->flags;
	e->arg1 = repeats;
	e->family = 0;
	e->dport = 0;
	e->sport = 0;
	e->args_len = 0;
	__builtin_memcpy(e->comm, c->comm, COMM_LEN);
	__builtin_memcpy(e->path, c->path[slot & 1], PATH_LEN);
	bpf_ringbuf_submit(e, lazy_wakeup());
}

static __always_inline int exit_open(u64 filename, u64 flags, long ret)
{
	u32 zero = 0;
	struct open_cache *c = bpf_map_lookup_elem(&open_cache, &zero);
	if (!c)
		return 0;
	u32 cur = c->cur & 1, next = cur ^ 1;
	long n = bpf_probe_read_user_str(c->path[next], PATH_LEN, (void *)filename);
	if (n < 0) {
		c->path[next][0] = 0;
		n = 1;
	}
	u64 id = bpf_get_current_pid_tgid();
	u64 cg = bpf_get_current_cgroup_id();
	u64 now = bpf_ktime_get_ns();
	u64 exec_id = bpf_get_current_task_btf()->self_exec_id;
	int ok = ret >= 0, was_ok = c->ret >= 0;
	if (c->len == (u32)n && c->cgroup_id == cg && c->pid == (u32)(id >> 32) && c->exec_id == exec_id && c->flags == flags &&
	    ok == was_ok && now - c->since < REPEAT_WINDOW_NS && same_path(c, cur, next, n)) {
		c->count++;
		count(COUNT_OPEN_REPEATS);
		return 0;
	}
	u64 repeats = 0;
	struct dedup_key dk = {};
	struct dedup_val *dv = 0;
	if (dedup_window_ns) {
		dk.cgroup_id = cg;
		dk.hash = path_hash(c, next, n);
		dk.flags = flags;
		dk.exec_id = exec_id;
		dk.pid = id >> 32;
		dk.ok = ok;
		dv = bpf_map_lookup_elem(&open_dedup, &dk);
		if (dv && now - dv->since < dedup_window_ns) {
			__sync_fetch_and_add(&dv->count, 1);
			struct cgroup_stats *s = stats_of(cg);
			if (s)
				__sync_fetch_and_add(&s->open_deduped, 1);
			count(COUNT_OPEN_DEDUPED);
			return 0;
		}
	}
	if (open_interval_ns) {
		struct cgroup_stats *s = stats_of(cg);
		if (s && over_limit(&s->open_tat, open_interval_ns, open_tolerance_ns, now)) {
			__sync_fetch_and_add(&s->open_limited, 1);
			count(COUNT_OPEN_LIMITED);
			return 0;
		}
	}
	if (dedup_window_ns) {
		if (dv) {
			// The window ended: this report carries the opens counted
			// in it.
			repeats = dv->count;
			dv->since = now;
			dv->count = 0;
		} else {
			struct dedup_val fresh = {.since = now};
			bpf_map_update_elem(&open_dedup, &dk, &fresh, BPF_ANY);
		}
	}
	if (c->count > 0) {
		if (c->len == (u32)n && c->cgroup_id == cg && c->pid == (u32)(id >> 32) && c->exec_id == exec_id && c->flags == flags &&
		    ok == was_ok && same_path(c, cur, next, n))
			repeats += c->count; // the window ended: this report carries them
		else
			// Summary of the previous open: the record stands for the
			// last folded open, with the others in repeats.
			emit_open(c, cur, now, c->count - 1);
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	c->cgroup_id = cg;
	c->exec_id = exec_id;
	c->flags = flags;
	c->since = now;
	c->count = 0;
	c->pid = id >> 32;
	c->tid = (u32)id;
	c->ppid = BPF_CORE_READ(task, real_parent, tgid);
	c->uid = (u32)bpf_get_current_uid_gid();
	c->ret = ret;
	c->len = n;
	c->cur = next;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	emit_open(c, next, now, repeats);
	return 0;
}

// The first three system call arguments from saved user registers, on
// x86-64 and arm64 (CO-RE picks the layout of the running kernel).
struct pt_regs___arm64 {
	u64 regs[31];
	u64 orig_x0;
} __attribute__((preserve_access_index));

static __always_inline int syscall_args(struct pt_regs *regs, u64 *a0, u64 *a1, u64 *a2)
{
	if (bpf_core_field_exists(regs->si)) {
		*a0 = BPF_CORE_READ(regs, di);
		*a1 = BPF_CORE_READ(regs, si);
		*a2 = BPF_CORE_READ(regs, dx);
		return 0;
	}
	struct pt_regs___arm64 *r = (void *)regs;
	if (bpf_core_field_exists(r->regs)) {
		// x0 holds the result at exit; the first argument is kept in
		// orig_x0.
		*a0 = BPF_CORE_READ(r, orig_x0);
		*a1 = BPF_CORE_READ(r, regs[1]);
		*a2 = BPF_CORE_READ(r, regs[2]);
		return 0;
	}
	return -1;
}

// syscall_args_btf is syscall_args for registers the verifier knows the
// type of (bpf_task_pt_regs): plain loads instead of a helper call each.
static __always_inline int syscall_args_btf(struct pt_regs *regs, u64 *a0, u64 *a1, u64 *a2)
{
	if (bpf_core_field_exists(regs->si)) {
		*a0 = regs->di;
		*a1 = regs->si;
		*a2 = regs->dx;
		return 0;
	}
	struct pt_regs___arm64 *r = (void *)regs;
	if (bpf_core_field_exists(r->regs)) {
		*a0 = r->orig_x0;
		*a1 = r->regs[1];
		*a2 = r->regs[2];
		return 0;
	}
	return -1;
}

static __always_inline int open_from_args(u64 filename, u64 flags, long ret, int openat2)
{
	if (openat2) {
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)flags);
		flags = how.flags;
	}
	return exit_open(filename, flags, ret);
}

static __always_inline int open_from_regs(struct pt_regs *regs, long ret, int openat2)
{
	u64 dfd, filename, flags;
	if (syscall_args(regs, &dfd, &filename, &flags) != 0)
		return 0;
	return open_from_args(filename, flags, ret, openat2);
}

static __always_inline int exit_openat(struct trace_event_raw_sys_exit *ctx, int openat2)
{
	if (skip())
		return 0;
	u64 dfd, filename, flags;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (syscall_args_btf(regs, &dfd, &filename, &flags) != 0)
		return 0;
	return open_from_args(filename, flags, ctx->ret, openat2);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx) { return exit_openat(ctx, 0); }

SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx) { return exit_openat(ctx, 1); }

// A measuring aid, not attached by default (Options.PathOnly): the work
// any sensor that reports open paths must do at sys_exit_openat — the
// early filter, the saved registers and the copy of the path into per-CPU
// scratch — and nothing else (no fold, dedup, limit or record). The
// overhead benchmark compares it with the empty program and the real one
// to split the cost (docs/benchmarks.md).
SEC("tracepoint/syscalls/sys_exit_openat")
int path_only_openat(struct trace_event_raw_sys_exit *ctx)
{
	if (skip())
		return 0;
	u64 dfd, filename, flags;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (syscall_args_btf(regs, &dfd, &filename, &flags) != 0)
		return 0;
	u32 zero = 0;
	struct open_cache *c = bpf_map_lookup_elem(&open_cache, &zero);
	if (!c)
		return 0;
	bpf_probe_read_user_str(c->path[0], PATH_LEN, (void *)filename);
	return 0;
}

// The same opens from the raw sys_exit tracepoint: one program runs at
// the exit of every system call and picks openat and openat2 by number
// (x86-64 only). Not attached by default: measured more expensive than
// the syscalls/sys_exit_openat tracepoints (docs/benchmarks.md); kept so
// that the comparison can be repeated (Options.RawSyscalls).
#define X86_NR_OPENAT 257
#define NR_OPENAT2 437

SEC("raw_tracepoint/sys_exit")
int handle_raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	if (!bpf_core_field_exists(regs->orig_ax))
		return 0;
	long nr = BPF_CORE_READ(regs, orig_ax);
	if (nr != X86_NR_OPENAT && nr != NR_OPENAT2)
		return 0;
	if (skip())
		return 0;
	return open_from_regs(regs, (long)ctx->args[1], nr == NR_OPENAT2);
}

#define AF_INET 2
#define AF_INET6 10

SEC("tracepoint/syscalls/sys_enter_connect")
int handle_connect(struct trace_event_raw_sys_enter *ctx)
{
	void *addr = (void *)BPF_CORE_READ(ctx, args[1]);
	u16 family = 0;
	if (bpf_probe_read_user(&family, sizeof(family), addr) != 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (skip() || net_limited(bpf_get_current_cgroup_id()))
		return 0;
	struct event *e = reserve(KIND_CONNECT);
	if (!e)
		return 0;
	e->family = family;
	u16 port = 0;
	bpf_probe_read_user(&port, sizeof(port), addr + 2);
	e->dport = __builtin_bswap16(port);
	if (family == AF_INET)
		bpf_probe_read_user(e->daddr, 4, addr + 4);
	else
		bpf_probe_read_user(e->daddr, 16, addr + 8);
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_accept4(struct trace_event_raw_sys_exit *ctx)
{
	long ret = BPF_CORE_READ(ctx, ret);
	if (ret < 0)
		return 0;
	if (skip() || net_limited(bpf_get_current_cgroup_id()))
		return 0;
	struct event *e = reserve(KIND_ACCEPT);
	if (!e)
		return 0;
	e->ret = ret;
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3

SEC("tracepoint/sock/inet_sock_set_state")
int handle_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (BPF_CORE_READ(ctx, newstate) != TCP_ESTABLISHED)
		return 0;
	int old = BPF_CORE_READ(ctx, oldstate);
	if (old != TCP_SYN_SENT && old != TCP_SYN_RECV)
		return 0;
	// Softirq context: the current task is not the socket's owner, so the
	// cgroup is the socket's and no process is named.
	struct sock *sk = (struct sock *)BPF_CORE_READ(ctx, skaddr);
	u64 cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	if (net_limited(cg))
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(COUNT_RINGBUF_DROPS);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = cg;
	e->kind = KIND_TCP_ESTABLISHED;
	e->arg1 = old == TCP_SYN_SENT ? 1 : 2;
	e->family = BPF_CORE_READ(ctx, family);
	e->sport = BPF_CORE_READ(ctx, sport);
	e->dport = BPF_CORE_READ(ctx, dport);
	if (e->family == AF_INET) {
		BPF_CORE_READ_INTO(&e->saddr, ctx, saddr);
		BPF_CORE_READ_INTO(&e->daddr, ctx, daddr);
	} else {
		BPF_CORE_READ_INTO(&e->saddr, ctx, saddr_v6);
		BPF_CORE_READ_INTO(&e->daddr, ctx, daddr_v6);
	}
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = reserve(KIND_PTRACE);
	if (!e)
		return 0;
	e->arg0 = BPF_CORE_READ(ctx, args[0]);
	e->arg1 = BPF_CORE_READ(ctx, args[1]);
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int handle_mount(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = reserve(KIND_MOUNT);
	if (!e)
		return 0;
	e->arg0 = BPF_CORE_READ(ctx, args[3]);
	bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)BPF_CORE_READ(ctx, args[1]));
	bpf_probe_read_user_str(e->args, 64, (void *)BPF_CORE_READ(ctx, args[2]));
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

static __always_inline int report_arg0(struct trace_event_raw_sys_enter *ctx, u32 kind)
{
	struct event *e = reserve(kind);
	if (!e)
		return 0;
	e->arg0 = BPF_CORE_READ(ctx, args[0]);
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setuid")
int handle_setuid(struct trace_event_raw_sys_enter *ctx) { return report_arg0(ctx, KIND_SETUID); }

SEC("tracepoint/syscalls/sys_enter_setresuid")
int handle_setresuid(struct trace_event_raw_sys_enter *ctx) { return report_arg0(ctx, KIND_SETUID); }

SEC("tracepoint/syscalls/sys_enter_unshare")
int handle_unshare(struct trace_event_raw_sys_enter *ctx) { return report_arg0(ctx, KIND_UNSHARE); }

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int handle_memfd(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = reserve(KIND_MEMFD);
	if (!e)
		return 0;
	bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)BPF_CORE_READ(ctx, args[0]));
	e->arg0 = BPF_CORE_READ(ctx, args[1]);
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

// Capability checks (capability/cap_capable, recent kernels): the
// first check of each capability with each result (granted or denied) by
// a process is reported; later ones are counted (COUNT_CAP_REPEATS). The
// key holds the process's start time, so a reused pid is a new process.
struct cap_key {
	u64 start_ns;
	u32 pid;
	u32 cap; // capability | 0x100 when denied
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cap_key);
	__type(value, u8);
} caps_seen SEC(".maps");

SEC("tracepoint/capability/cap_capable")
int handle_capable(struct trace_event_raw_cap_capable *ctx)
{
	if (skip())
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	// Only checks of the task's own credentials are its capability use
	// (an exec checks the credentials it is preparing; some checks
	// concern a file opener's or another task's).
	if (BPF_CORE_READ(ctx, cred) != BPF_CORE_READ(task, cred))
		return 0;
	int ret = BPF_CORE_READ(ctx, ret);
	int cap = BPF_CORE_READ(ctx, cap);
	struct cap_key k = {
		.start_ns = BPF_CORE_READ(task, group_leader, start_time),
		.pid = bpf_get_current_pid_tgid() >> 32,
		.cap = (u32)(cap & 0xff) | (ret ? 0x100 : 0),
	};
	u8 one = 1;
	if (bpf_map_update_elem(&caps_seen, &k, &one, BPF_NOEXIST) != 0) {
		count(COUNT_CAP_REPEATS);
		return 0;
	}
	struct event *e = reserve(KIND_CAPABILITY);
	if (!e)
		return 0;
	e->arg0 = cap;
	e->ret = ret;
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

// Capability fallback. Where capability/cap_capable is missing (older
// kernels) or the loader is asked to (Options.CapabilityFallback), the
// capability use of a process is derived from the system calls that
// require one, at their exit: granted when the call succeeded, denied
// when it failed with EPERM; other failures (bad arguments, a missing
// file) are not reported, as the check may not have been reached. The
// record is a capability record whose arg1 names the system call (enum
// syscall_tag, mirrored in user space); the same per-process
// deduplication as the tracepoint applies. What this mode cannot see is
// documented in docs/sensor.md (capability checks inside other calls:
// CAP_DAC_OVERRIDE on an open, CAP_NET_BIND_SERVICE on a bind, ...).
enum syscall_tag {
	SYS_MOUNT = 1,
	SYS_UMOUNT = 2,
	SYS_SETHOSTNAME = 3,
	SYS_SETDOMAINNAME = 4,
	SYS_PIVOT_ROOT = 5,
	SYS_SETNS = 6,
	SYS_UNSHARE = 7,
	SYS_SWAPON = 8,
	SYS_SWAPOFF = 9,
	SYS_CHROOT = 10,
	SYS_INIT_MODULE = 11,
	SYS_FINIT_MODULE = 12,
	SYS_DELETE_MODULE = 13,
	SYS_BPF = 14,
	SYS_SOCKET = 15,
	SYS_PTRACE = 16,
	SYS_SETUID = 17,
	SYS_SETREUID = 18,
	SYS_SETRESUID = 19,
	SYS_SETGID = 20,
	SYS_SETREGID = 21,
	SYS_SETRESGID = 22,
	SYS_SETGROUPS = 23,
	SYS_KEXEC_LOAD = 24,
	SYS_KEXEC_FILE_LOAD = 25,
	SYS_REBOOT = 26,
	SYS_SETTIMEOFDAY = 27,
	SYS_CLOCK_SETTIME = 28,
	SYS_MKNOD = 29,
	SYS_MKNODAT = 30,
	SYS_IOPL = 31,
	SYS_IOPERM = 32,
	SYS_ACCT = 33,
};

#define CAP_SETGID 6
#define CAP_SETUID 7
#define CAP_NET_RAW 13
#define CAP_SYS_MODULE 16
#define CAP_SYS_RAWIO 17
#define CAP_SYS_CHROOT 18
#define CAP_SYS_PTRACE 19
#define CAP_SYS_PACCT 20
#define CAP_SYS_ADMIN 21
#define CAP_SYS_BOOT 22
#define CAP_SYS_TIME 25
#define CAP_MKNOD 27
#define CAP_BPF 39

#define AF_PACKET 17
#define SOCK_RAW 3
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWNS_ALL (0x00020000 | 0x04000000 | 0x08000000 | 0x40000000 | 0x20000000 | 0x02000000 | 0x00000080)
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define S_IFMT 0170000
#define S_IFCHR 0020000
#define S_IFBLK 0060000

// syscall_cap is the capability system call tag needs with these
// arguments, or -1 when it needs none.
static __always_inline int syscall_cap(u32 tag, u64 a0, u64 a1, u64 a2)
{
	switch (tag) {
	case SYS_MOUNT:
	case SYS_UMOUNT:
	case SYS_SETHOSTNAME:
	case SYS_SETDOMAINNAME:
	case SYS_PIVOT_ROOT:
	case SYS_SETNS:
	case SYS_SWAPON:
	case SYS_SWAPOFF:
		return CAP_SYS_ADMIN;
	case SYS_UNSHARE:
		// New namespaces need CAP_SYS_ADMIN unless a user namespace is
		// created with them (its owner has every capability in it).
		return (a0 & CLONE_NEWNS_ALL) && !(a0 & CLONE_NEWUSER) ? CAP_SYS_ADMIN : -1;
	case SYS_CHROOT:
		return CAP_SYS_CHROOT;
	case SYS_INIT_MODULE:
	case SYS_FINIT_MODULE:
	case SYS_DELETE_MODULE:
		return CAP_SYS_MODULE;
	case SYS_BPF:
		return CAP_BPF;
	case SYS_SOCKET:
		if (a0 == AF_PACKET || ((a0 == AF_INET || a0 == AF_INET6) && (a1 & 0xf) == SOCK_RAW))
			return CAP_NET_RAW;
		return -1;
	case SYS_PTRACE:
		return a0 == PTRACE_ATTACH || a0 == PTRACE_SEIZE ? CAP_SYS_PTRACE : -1;
	case SYS_SETUID:
	case SYS_SETREUID:
	case SYS_SETRESUID:
		return CAP_SETUID;
	case SYS_SETGID:
	case SYS_SETREGID:
	case SYS_SETRESGID:
	case SYS_SETGROUPS:
		return CAP_SETGID;
	case SYS_KEXEC_LOAD:
	case SYS_KEXEC_FILE_LOAD:
	case SYS_REBOOT:
		return CAP_SYS_BOOT;
	case SYS_SETTIMEOFDAY:
	case SYS_CLOCK_SETTIME:
		return CAP_SYS_TIME;
	case SYS_MKNOD:
		a2 = a1;
		/* fallthrough */
	case SYS_MKNODAT:
		return (a2 & S_IFMT) == S_IFCHR || (a2 & S_IFMT) == S_IFBLK ? CAP_MKNOD : -1;
	case SYS_IOPL:
		return a0 ? CAP_SYS_RAWIO : -1;
	case SYS_IOPERM:
		return a2 ? CAP_SYS_RAWIO : -1;
	case SYS_ACCT:
		return CAP_SYS_PACCT;
	}
	return -1;
}

#define EPERM 1

static __always_inline int cap_from_syscall(struct trace_event_raw_sys_exit *ctx, u32 tag)
{
	if (skip())
		return 0;
	long ret = ctx->ret;
	if (ret < 0 && ret != -EPERM)
		return 0;
	u64 a0 = 0, a1 = 0, a2 = 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (syscall_args_btf(regs, &a0, &a1, &a2) != 0)
		return 0;
	int cap = syscall_cap(tag, a0, a1, a2);
	if (cap < 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct cap_key k = {
		.start_ns = BPF_CORE_READ(task, group_leader, start_time),
		.pid = bpf_get_current_pid_tgid() >> 32,
		.cap = (u32)cap | (ret < 0 ? 0x100 : 0),
	};
	u8 one = 1;
	if (bpf_map_update_elem(&caps_seen, &k, &one, BPF_NOEXIST) != 0) {
		count(COUNT_CAP_REPEATS);
		return 0;
	}
	struct event *e = reserve(KIND_CAPABILITY);
	if (!e)
		return 0;
	e->arg0 = cap;
	e->arg1 = tag;
	e->ret = ret < 0 ? -EPERM : 0;
	bpf_ringbuf_submit(e, lazy_wakeup());
	return 0;
}

// One program per system call; the loader attaches them only in fallback
// mode (program names start with cap_).
#define CAP_SYSCALL(name, tag)                                   \
	SEC("tracepoint/syscalls/sys_exit_" #name)                \
	int cap_##name(struct trace_event_raw_sys_exit *ctx)      \
	{                                                        \
		return cap_from_syscall(ctx, tag);                 \
	}

CAP_SYSCALL(mount, SYS_MOUNT)
CAP_SYSCALL(umount, SYS_UMOUNT)
CAP_SYSCALL(sethostname, SYS_SETHOSTNAME)
CAP_SYSCALL(setdomainname, SYS_SETDOMAINNAME)
CAP_SYSCALL(pivot_root, SYS_PIVOT_ROOT)
CAP_SYSCALL(setns, SYS_SETNS)
CAP_SYSCALL(unshare, SYS_UNSHARE)
CAP_SYSCALL(swapon, SYS_SWAPON)
CAP_SYSCALL(swapoff, SYS_SWAPOFF)
CAP_SYSCALL(chroot, SYS_CHROOT)
CAP_SYSCALL(init_module, SYS_INIT_MODULE)
CAP_SYSCALL(finit_module, SYS_FINIT_MODULE)
CAP_SYSCALL(delete_module, SYS_DELETE_MODULE)
CAP_SYSCALL(bpf, SYS_BPF)
CAP_SYSCALL(socket, SYS_SOCKET)
CAP_SYSCALL(ptrace, SYS_PTRACE)
CAP_SYSCALL(setuid, SYS_SETUID)
CAP_SYSCALL(setreuid, SYS_SETREUID)
CAP_SYSCALL(setresuid, SYS_SETRESUID)
CAP_SYSCALL(setgid, SYS_SETGID)
CAP_SYSCALL(setregid, SYS_SETREGID)
CAP_SYSCALL(setresgid, SYS_SETRESGID)
CAP_SYSCALL(setgroups, SYS_SETGROUPS)
CAP_SYSCALL(kexec_load, SYS_KEXEC_LOAD)
CAP_SYSCALL(kexec_file_load, SYS_KEXEC_FILE_LOAD)
CAP_SYSCALL(reboot, SYS_REBOOT)
CAP_SYSCALL(settimeofday, SYS_SETTIMEOFDAY)
CAP_SYSCALL(clock_settime, SYS_CLOCK_SETTIME)
CAP_SYSCALL(mknod, SYS_MKNOD)
CAP_SYSCALL(mknodat, SYS_MKNODAT)
CAP_SYSCALL(iopl, SYS_IOPL)
CAP_SYSCALL(ioperm, SYS_IOPERM)
CAP_SYSCALL(acct, SYS_ACCT)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
