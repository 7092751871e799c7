/* trace.h - events shared by bpf/trace.bpf.c and cmd/pgx-trace */
#ifndef PGX_BPF_TRACE_H
#define PGX_BPF_TRACE_H

#define TRACE_COMM_LEN 16
#define TRACE_PATH_LEN 512	/* exec filename and open path, with the NUL */
#define TRACE_ARGV_MAX 32	/* arguments kept per exec */
#define TRACE_ARG_LEN 512	/* bytes kept per argument, with the NUL */
#define TRACE_ARGS_SIZE 4096	/* bytes kept for all arguments */

#define TRACE_DEFAULT_BUFFER (8u << 20)

enum pgx_trace_type {
	TRACE_EXEC = 1,
	TRACE_OPEN,
	TRACE_FORK,
	TRACE_EXIT,
};

#define TRACE_EXEC_ARGV_TRUNCATED 1u

struct pgxt_hdr {
	unsigned long long ts_ns;	/* bpf_ktime_get_boot_ns() */
	unsigned long long cgroup_id;
	unsigned int type;
	unsigned int pid;		/* tgid */
	unsigned int tid;
	unsigned int pad;
	char comm[TRACE_COMM_LEN];
};

/* Sent with its length cut to the arguments actually read. */
struct pgxt_exec {
	struct pgxt_hdr hdr;
	unsigned int ppid;
	unsigned int args_count;
	unsigned int args_size;	/* bytes used in args: NUL-separated */
	unsigned int flags;
	char filename[TRACE_PATH_LEN];
	char args[TRACE_ARGS_SIZE];
};

/* Sent with room for TRACE_OPEN_SHORT_PATH bytes of path when the path
 * fits there (with its NUL), else for TRACE_PATH_LEN. */
struct pgxt_open {
	struct pgxt_hdr hdr;
	int flags;
	int ret;		/* fd, or -errno */
	char path[TRACE_PATH_LEN];
};

#define TRACE_OPEN_SHORT_PATH 64

struct pgxt_fork {
	struct pgxt_hdr hdr;
	unsigned int parent_pid;
	unsigned int child_pid;
};

struct pgxt_exit {
	struct pgxt_hdr hdr;
	int code;
	int signal;
	int core_dumped;
	int pad;
};

#endif
