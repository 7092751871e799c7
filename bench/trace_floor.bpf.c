// SPDX-License-Identifier: GPL-2.0
/* trace_floor.bpf.c - bench/trace's floor: programs on the same tracepoints
 * as bpf/trace.bpf.c that return at once.  What they cost is what attaching
 * there costs at all (a syscall tracepoint sends every syscall of every task
 * through the kernel's slow path), which BPF run-time statistics miss. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EMPTY(sec, name) SEC(sec) int name(void *ctx) { return 0; }

EMPTY("tracepoint/syscalls/sys_enter_execve", enter_execve)
EMPTY("tracepoint/syscalls/sys_enter_execveat", enter_execveat)
EMPTY("tracepoint/syscalls/sys_exit_execve", exit_execve)
EMPTY("tracepoint/syscalls/sys_exit_execveat", exit_execveat)
EMPTY("tracepoint/sched/sched_process_exec", process_exec)
EMPTY("tracepoint/syscalls/sys_exit_openat", exit_openat)
EMPTY("tracepoint/syscalls/sys_exit_openat2", exit_openat2)
EMPTY("tracepoint/syscalls/sys_exit_open", exit_open)
EMPTY("tp_btf/sched_process_fork", process_fork)
EMPTY("tracepoint/sched/sched_process_exit", process_exit)

char LICENSE[] SEC("license") = "GPL";
