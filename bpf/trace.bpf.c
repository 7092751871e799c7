// SPDX-License-Identifier: GPL-2.0
/* trace.bpf.c - exec, open, fork and exit of one subject, for pgx-trace */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "trace.h"

/* Set by pgx-trace before load; the verifier drops what they disable. */
const volatile bool filter_cgroup = false;
const volatile bool filter_pid = false;
const volatile bool filter_comm = false;
const volatile char targ_comm[TRACE_COMM_LEN] = {};
/* Wake pgx-trace only when the data waiting passes a multiple of this: it
 * polls on a timer anyway, and a wakeup costs the subject an irq_work and
 * the CPU pgx-trace is woken on. */
const volatile unsigned long long wakeup_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TRACE_DEFAULT_BUFFER);
} events SEC(".maps");

/* Reserve failures, per CPU: pgx-trace sums and reports them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

/* The subject's cgroup; tasks in its descendants match too. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} subject_cgroup SEC(".maps");

/* --pid: tgids of the subject and the processes it forked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, u8);
} tracked SEC(".maps");

/* execve arguments, by tid, until sched_process_exec says it worked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct pgxt_exec);
} execs SEC(".maps");

static const struct pgxt_exec empty_exec = {};

static __always_inline void count_lost(void)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline bool subject_match(void)
{
	u32 tgid;

	if (filter_cgroup && bpf_current_task_under_cgroup(&subject_cgroup, 0) != 1)
		return false;
	if (filter_pid) {
		tgid = bpf_get_current_pid_tgid() >> 32;
		if (!bpf_map_lookup_elem(&tracked, &tgid))
			return false;
	}
	return true;
}

static __always_inline bool comm_match(const char *comm)
{
	int i;

	if (!filter_comm)
		return true;
	for (i = 0; i < TRACE_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline void fill_hdr(struct pgxt_hdr *h, unsigned int type)
{
	u64 id = bpf_get_current_pid_tgid();

	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->type = type;
	h->pid = id >> 32;
	h->tid = (u32)id;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* What a record of size bytes takes in the ring buffer. */
static __always_inline u64 ring_bytes(u64 size)
{
	return (size + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
}

/* before: the bytes waiting without this record.  Only the record that
 * takes them past a mark wakes pgx-trace, not every record after it while
 * pgx-trace is behind.  A crossing missed in a race with another CPU costs
 * at most the poll timer's wait. */
static __always_inline u64 wakeup_flags(u64 before, u64 size)
{
	if (!wakeup_bytes)
		return 0;
	if (before / wakeup_bytes == (before + ring_bytes(size)) / wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	return BPF_RB_FORCE_WAKEUP;
}

/* For a reserved record: the bytes waiting count it already. */
static __always_inline u64 submit_flags(u64 size)
{
	u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return wakeup_flags(avail > ring_bytes(size) ? avail - ring_bytes(size) : 0, size);
}

static __always_inline void *reserve(u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count_lost();
	return e;
}

/* A record with its header filled in, or NULL: the buffer was full (counted
 * as lost), or --comm names another program (discarded). */
static __always_inline void *reserve_record(u64 size, unsigned int type)
{
	struct pgxt_hdr *h = reserve(size);

	if (!h)
		return NULL;
	fill_hdr(h, type);
	if (!comm_match(h->comm)) {
		bpf_ringbuf_discard(h, BPF_RB_NO_WAKEUP);
		return NULL;
	}
	return h;
}

/* One argument per iteration; an argument that filled its slot is checked
 * for one more byte so that the flag means "something was cut". */
static __always_inline void read_argv(struct pgxt_exec *e, const char *const *argv)
{
	unsigned int size = 0;
	const char *argp;
	char more;
	int i, n;

	for (i = 0; i < TRACE_ARGV_MAX; i++) {
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			goto done;
		if (size > TRACE_ARGS_SIZE - TRACE_ARG_LEN) {
			e->flags |= TRACE_EXEC_ARGV_TRUNCATED;
			goto done;
		}
		n = bpf_probe_read_user_str(&e->args[size], TRACE_ARG_LEN, argp);
		if (n < 0)
			goto done;
		if (n == TRACE_ARG_LEN &&
		    !bpf_probe_read_user(&more, 1, argp + TRACE_ARG_LEN - 1) && more)
			e->flags |= TRACE_EXEC_ARGV_TRUNCATED;
		size += n;
		e->args_count++;
	}
	if (!bpf_probe_read_user(&argp, sizeof(argp), &argv[TRACE_ARGV_MAX]) && argp)
		e->flags |= TRACE_EXEC_ARGV_TRUNCATED;
done:
	e->args_size = size;
}

static __always_inline int exec_enter(const char *filename, const char *const *argv)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct pgxt_exec *e;

	if (!subject_match())
		return 0;
	if (bpf_map_update_elem(&execs, &tid, &empty_exec, BPF_ANY)) {
		count_lost();	/* more execs at once than entries */
		return 0;
	}
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	read_argv(e, argv);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

/* A failed execve leaves the caller running: forget its arguments. */
SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	if (ctx->ret < 0)
		bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	if (ctx->ret < 0)
		bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	u32 old_tid = ctx->old_pid;
	struct task_struct *task;
	struct pgxt_exec *e;
	u64 len;

	e = bpf_map_lookup_elem(&execs, &old_tid);
	if (!e)
		return 0;
	fill_hdr(&e->hdr, TRACE_EXEC);
	if (comm_match(e->hdr.comm)) {
		task = (struct task_struct *)bpf_get_current_task();
		e->ppid = BPF_CORE_READ(task, real_parent, tgid);
		len = __builtin_offsetof(struct pgxt_exec, args) + e->args_size;
		if (len > sizeof(*e))
			len = sizeof(*e);
		if (bpf_ringbuf_output(&events, e, len,
				       wakeup_flags(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA), len)))
			count_lost();
	}
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}

/* An open is recorded at its syscall's exit alone, its arguments read from
 * the registers it was entered with (saved at entry, and not changed by
 * these syscalls): a program at sys_enter, with a map entry per thread to
 * carry them to sys_exit, cost more than the record itself. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

#define OPEN_SHORT_SIZE (__builtin_offsetof(struct pgxt_open, path) + TRACE_OPEN_SHORT_PATH)

/* A path that filled the short record's room, read again into a full one
 * (in its header and fields those of the short one, which is discarded). */
static __always_inline void submit_long_open(struct pgxt_open *s, const char *path)
{
	struct pgxt_open *e = reserve(sizeof(*e));

	if (e) {
		__builtin_memcpy(e, s, __builtin_offsetof(struct pgxt_open, path));
		if (bpf_probe_read_user_str(e->path, sizeof(e->path), path) < 0)
			e->path[0] = '\0';
		bpf_ringbuf_submit(e, submit_flags(sizeof(*e)));
	}
	bpf_ringbuf_discard(s, BPF_RB_NO_WAKEUP);
}

/* Most paths are short: a record with room for the whole of the longest
 * costs the ring buffer 600 bytes an open, and fills it 8 times sooner. */
static __always_inline int open_exit(long ret, const char *path, int flags)
{
	struct pgxt_open *e;
	long n;

	if (!subject_match())
		return 0;
	e = reserve_record(OPEN_SHORT_SIZE, TRACE_OPEN);
	if (!e)
		return 0;
	e->flags = flags;
	e->ret = ret;
	n = bpf_probe_read_user_str(e->path, TRACE_OPEN_SHORT_PATH, path);
	if (n == TRACE_OPEN_SHORT_PATH) {
		submit_long_open(e, path);
		return 0;
	}
	if (n < 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, submit_flags(OPEN_SHORT_SIZE));
	return 0;
}

/* openat(dfd, path, flags, mode) */
SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();

	return open_exit(ctx->ret, (const char *)PT_REGS_PARM2_SYSCALL(regs),
			 (int)PT_REGS_PARM3_SYSCALL(regs));
}

/* openat2(dfd, path, how, size) */
SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)PT_REGS_PARM3_SYSCALL(regs));
	return open_exit(ctx->ret, (const char *)PT_REGS_PARM2_SYSCALL(regs), (int)how.flags);
}

/* open(path, flags, mode) */
SEC("tracepoint/syscalls/sys_exit_open")
int handle_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = syscall_regs();

	return open_exit(ctx->ret, (const char *)PT_REGS_PARM1_SYSCALL(regs),
			 (int)PT_REGS_PARM2_SYSCALL(regs));
}

/* BTF tracepoint: the child task is needed to tell a process from a thread. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 child_tgid = child->tgid;
	struct pgxt_fork *e;
	u8 one = 1;

	if (!subject_match())
		return 0;
	if (filter_pid)
		bpf_map_update_elem(&tracked, &child_tgid, &one, BPF_ANY);
	if (child->pid != child->tgid)
		return 0;
	e = reserve_record(sizeof(*e), TRACE_FORK);
	if (!e)
		return 0;
	e->parent_pid = parent->tgid;
	e->child_pid = child_tgid;
	bpf_ringbuf_submit(e, submit_flags(sizeof(*e)));
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;
	struct pgxt_exit *e;
	int code;

	/* also for a thread that has left the subject: tids are reused */
	bpf_map_delete_elem(&execs, &tid);
	if (!subject_match())
		return 0;
	/* signal->live drops before this tracepoint: 0 means the last thread */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (filter_pid)
		bpf_map_delete_elem(&tracked, &tgid);
	e = reserve_record(sizeof(*e), TRACE_EXIT);
	if (!e)
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	e->code = (code >> 8) & 0xff;
	e->signal = code & 0x7f;
	e->core_dumped = !!(code & 0x80);
	bpf_ringbuf_submit(e, submit_flags(sizeof(*e)));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
