/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A hand-written subset of the kernel types the sensor reads. Every struct
 * carries preserve_access_index, so clang records CO-RE relocations and the
 * loader (cilium/ebpf) fixes each field offset against the running kernel's
 * BTF (/sys/kernel/btf/vmlinux): only the fields named here must exist, in
 * any layout. Kept small so the generated objects are reproducible and the
 * file reviewable; see docs/sensor.md.
 */
#ifndef KORDON_VMLINUX_H
#define KORDON_VMLINUX_H

typedef unsigned char __u8;
typedef short unsigned int __u16;
typedef unsigned int __u32;
typedef long long unsigned int __u64;
typedef signed char __s8;
typedef short int __s16;
typedef int __s32;
typedef long long int __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef int pid_t;
typedef _Bool bool;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

enum {
	BPF_RB_AVAIL_DATA = 0,
};

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct trace_entry {
	short unsigned int type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	u32 __data_loc_filename;
	pid_t pid;
	pid_t old_pid;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long int id;
	long unsigned int args[6];
};

struct trace_event_raw_sys_exit {
	struct trace_entry ent;
	long int id;
	long int ret;
};

struct trace_event_raw_inet_sock_set_state {
	struct trace_entry ent;
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

struct kernfs_node {
	u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct sock_cgroup_data {
	struct cgroup *cgroup;
};

struct sock {
	struct sock_cgroup_data sk_cgrp_data;
};

struct mm_struct {
	long unsigned int arg_start;
	long unsigned int arg_end;
};

struct task_struct {
	pid_t pid;
	pid_t tgid;
	int exit_code;
	u64 start_time;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	const void *cred;
	struct mm_struct *mm;
	u64 self_exec_id;
};

/* x86-64 names; arm64 is read through struct pt_regs___arm64 (sensor.bpf.c). */
struct pt_regs {
	long unsigned int di;
	long unsigned int si;
	long unsigned int dx;
	long unsigned int orig_ax;
};

struct trace_event_raw_cap_capable {
	struct trace_entry ent;
	const void *cred;
	void *target_ns;
	const void *capable_ns;
	int cap;
	int ret;
};

struct open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

#pragma clang attribute pop

/* The context of raw tracepoint programs (UAPI, not relocated). */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#endif /* KORDON_VMLINUX_H */
