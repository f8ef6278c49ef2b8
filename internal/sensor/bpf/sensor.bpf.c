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
	COUNT_MAX = 3,
};

// Per-CPU counters, indexed by enum counter.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
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
	int ok = ret >= 0, was_ok = c->ret >= 0;
	if (c->len == (u32)n && c->cgroup_id == cg && c->pid == (u32)(id >> 32) && c->flags == flags &&
	    ok == was_ok && now - c->since < REPEAT_WINDOW_NS && same_path(c, cur, next, n)) {
		c->count++;
		count(COUNT_OPEN_REPEATS);
		return 0;
	}
	u64 repeats = 0;
	if (c->count > 0) {
		if (c->len == (u32)n && c->cgroup_id == cg && c->pid == (u32)(id >> 32) && c->flags == flags &&
		    ok == was_ok && same_path(c, cur, next, n))
			repeats = c->count; // the window ended: this report carries them
		else
			// Summary of the previous open: the record stands for the
			// last folded open, with the others in repeats.
			emit_open(c, cur, now, c->count - 1);
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	c->cgroup_id = cg;
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
		// x0 holds the result at exit; openat and openat2 need x1, x2.
		*a0 = 0;
		*a1 = BPF_CORE_READ(r, regs[1]);
		*a2 = BPF_CORE_READ(r, regs[2]);
		return 0;
	}
	return -1;
}

static __always_inline int open_from_regs(struct pt_regs *regs, long ret, int openat2)
{
	u64 dfd, filename, flags;
	if (syscall_args(regs, &dfd, &filename, &flags) != 0)
		return 0;
	if (openat2) {
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)flags);
		flags = how.flags;
	}
	return exit_open(filename, flags, ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	if (skip())
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return open_from_regs(regs, BPF_CORE_READ(ctx, ret), 0);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	if (skip())
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return open_from_regs(regs, BPF_CORE_READ(ctx, ret), 1);
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
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(COUNT_RINGBUF_DROPS);
		return 0;
	}
	// Softirq context: the current task is not the socket's owner, so the
	// cgroup is the socket's and no process is named.
	struct sock *sk = (struct sock *)BPF_CORE_READ(ctx, skaddr);
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
