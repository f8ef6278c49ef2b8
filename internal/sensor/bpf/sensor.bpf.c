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
	u64 arg0; // kind-specific: open flags, ptrace request, mount flags, uid, unshare flags
	u64 arg1; // kind-specific: ptrace target pid, TCP direction (1 outbound, 2 inbound)
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

// drops[0]: events the ring buffer had no room for, per CPU.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

// An openat in flight: the path pointer and flags from sys_enter, reported
// with the result at sys_exit (the kernel has paged the path in by then).
struct open_args {
	u64 filename;
	u64 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, struct open_args);
} opens SEC(".maps");

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

// Set by the loader: the sensor's own process id, whose events are skipped
// (its own reads would otherwise feed back into the ring buffer).
volatile const u32 self_pid = 0;

static __always_inline void count_drop(void)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline struct event *reserve(u32 kind)
{
	u64 id = bpf_get_current_pid_tgid();
	if ((u32)(id >> 32) == self_pid || unwatched())
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
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
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int enter_open(u64 filename, u64 flags)
{
	u64 id = bpf_get_current_pid_tgid();
	if ((u32)(id >> 32) == self_pid || unwatched())
		return 0;
	struct open_args a = {.filename = filename, .flags = flags};
	bpf_map_update_elem(&opens, &id, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(BPF_CORE_READ(ctx, args[1]), BPF_CORE_READ(ctx, args[2]));
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int handle_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)BPF_CORE_READ(ctx, args[2]));
	return enter_open(BPF_CORE_READ(ctx, args[1]), how.flags);
}

static __always_inline int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&opens, &id);
	if (!a)
		return 0;
	u64 filename = a->filename, flags = a->flags;
	bpf_map_delete_elem(&opens, &id);
	struct event *e = reserve(KIND_OPEN);
	if (!e)
		return 0;
	e->ret = BPF_CORE_READ(ctx, ret);
	e->arg0 = flags;
	bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx) { return exit_open(ctx); }

SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx) { return exit_open(ctx); }

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
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
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
		count_drop();
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
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int report_arg0(struct trace_event_raw_sys_enter *ctx, u32 kind)
{
	struct event *e = reserve(kind);
	if (!e)
		return 0;
	e->arg0 = BPF_CORE_READ(ctx, args[0]);
	bpf_ringbuf_submit(e, 0);
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
