/* tracer.c - load, filter and attach bpf/trace.bpf.c; read its ring buffer */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pgx_trace.h"
#include "trace.h"
#include "trace.skel.h"

#define TRACEFS "/sys/kernel/tracing"
#define MAX_BUFFER (1ULL << 30)

struct tracer {
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	int lost_fd;
	int ncpus;
};

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fprintf(stderr, "%s: libbpf: ", pgx_progname());
	return vfprintf(stderr, fmt, ap);
}

static bool has_cap(unsigned long long caps, int cap)
{
	return (caps >> cap) & 1;
}

/* CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (Linux 5.8+). */
static bool privileged(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return has_cap(caps, CAP_SYS_ADMIN) ||
	       (has_cap(caps, 39 /* CAP_BPF */) && has_cap(caps, 38 /* CAP_PERFMON */));
}

static bool tracefs_mounted(void)
{
	struct statfs st;

	return statfs(TRACEFS, &st) == 0 && st.f_type == TRACEFS_MAGIC;
}

static int ensure_tracefs(void)
{
	if (tracefs_mounted())
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0) {
		pgx_info("mounted tracefs on %s", TRACEFS);
		return 0;
	}
	pgx_error("tracefs is not mounted on %s and mounting it failed (%s); "
		  "fix: mount -t tracefs nodev %s", TRACEFS, strerror(errno), TRACEFS);
	return errno == EPERM || errno == EACCES ? PGX_EXIT_PRIVILEGE : PGX_EXIT_INTERNAL;
}

static int check_kernel(bool traces_opens)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		pgx_error("kernel has no BTF (/sys/kernel/btf/vmlinux): "
			  "a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed");
		return PGX_EXIT_INTERNAL;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) <= 0) {
		pgx_error("kernel has no BPF ring buffer (Linux 5.8 or later is needed); "
			  "pgx-trace has no perf-buffer fallback because it counts "
			  "every lost event at the ring buffer reserve");
		return PGX_EXIT_INTERNAL;
	}
	/* an open's arguments are read from the registers saved at its entry */
	if (traces_opens &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) <= 0) {
		pgx_error("kernel's BPF has no bpf_task_pt_regs(), which opens are traced with: "
			  "Linux 5.15 or later is needed (or --no-open)");
		return PGX_EXIT_INTERNAL;
	}
	return 0;
}

int tracer__check_environment(bool traces_opens)
{
	int rc;

	if (!privileged()) {
		pgx_error("permission denied: tracing needs root, or CAP_BPF and CAP_PERFMON");
		return PGX_EXIT_PRIVILEGE;
	}
	rc = check_kernel(traces_opens);
	return rc ? rc : ensure_tracefs();
}

static bool tracepoint_exists(const char *category, const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/format", category, event);
	return access(path, F_OK) == 0;
}

/* Power of two, at least a page: what BPF_MAP_TYPE_RINGBUF accepts. */
static unsigned long long ring_size(unsigned long long want)
{
	unsigned long long size = (unsigned long long)sysconf(_SC_PAGESIZE);

	while (size < want && size < MAX_BUFFER)
		size <<= 1;
	return size;
}

static void set_rodata(struct trace_bpf *skel, const struct tracer_opts *o)
{
	skel->rodata->filter_cgroup = o->cgroup_fd >= 0;
	skel->rodata->filter_pid = o->pid > 0;
	if (o->comm) {
		skel->rodata->filter_comm = true;
		strncpy((char *)skel->rodata->targ_comm, o->comm, TRACE_COMM_LEN - 1);
	}
}

static void choose_programs(struct trace_bpf *skel, const struct tracer_opts *o)
{
	bool open2 = !o->no_open && tracepoint_exists("syscalls", "sys_exit_openat2");
	bool open1 = !o->no_open && tracepoint_exists("syscalls", "sys_exit_open");

	bpf_program__set_autoload(skel->progs.handle_exit_openat, !o->no_open);
	bpf_program__set_autoload(skel->progs.handle_exit_openat2, open2);
	bpf_program__set_autoload(skel->progs.handle_exit_open, open1);
}

static int arm_filters(struct tracer *tr, const struct tracer_opts *o)
{
	__u32 zero = 0, fd = (__u32)o->cgroup_fd, pid = (__u32)o->pid;
	__u8 one = 1;

	if (o->cgroup_fd >= 0 &&
	    bpf_map__update_elem(tr->skel->maps.subject_cgroup, &zero, sizeof(zero),
				 &fd, sizeof(fd), BPF_ANY)) {
		pgx_error("cannot set the cgroup filter: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	if (o->pid > 0 &&
	    bpf_map__update_elem(tr->skel->maps.tracked, &pid, sizeof(pid), &one,
				 sizeof(one), BPF_ANY)) {
		pgx_error("cannot set the pid filter: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	return 0;
}

static int load(struct tracer *tr, const struct tracer_opts *o)
{
	unsigned long long size;
	int err;

	tr->skel = trace_bpf__open();
	if (!tr->skel) {
		pgx_error("cannot open the BPF object: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	set_rodata(tr->skel, o);
	choose_programs(tr->skel, o);
	size = ring_size(o->buffer_size);
	bpf_map__set_max_entries(tr->skel->maps.events, (__u32)size);
	tr->skel->rodata->wakeup_bytes = size / 4;
	err = trace_bpf__load(tr->skel);
	if (err) {
		pgx_error("cannot load the BPF programs: %s", strerror(-err));
		return err == -EPERM ? PGX_EXIT_PRIVILEGE : PGX_EXIT_INTERNAL;
	}
	err = arm_filters(tr, o);
	if (err)
		return err;
	err = trace_bpf__attach(tr->skel);
	if (err) {
		pgx_error("cannot attach the BPF programs: %s", strerror(-err));
		return PGX_EXIT_INTERNAL;
	}
	return 0;
}

int tracer__new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx,
		struct tracer **out)
{
	struct tracer *tr;
	int rc;

	libbpf_set_print(print_libbpf);
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	tr->ncpus = libbpf_num_possible_cpus();
	rc = load(tr, opts);
	if (!rc && tr->ncpus <= 0) {
		pgx_error("cannot count the CPUs: %s", strerror(-tr->ncpus));
		rc = PGX_EXIT_INTERNAL;
	}
	if (!rc) {
		tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.events), fn, ctx, NULL);
		if (!tr->rb) {
			pgx_error("cannot open the ring buffer: %s", strerror(errno));
			rc = PGX_EXIT_INTERNAL;
		}
	}
	if (rc) {
		tracer__free(tr);
		return rc;
	}
	tr->lost_fd = bpf_map__fd(tr->skel->maps.lost);
	*out = tr;
	return 0;
}

int tracer__fd(const struct tracer *tr)
{
	return ring_buffer__epoll_fd(tr->rb);
}

int tracer__consume(struct tracer *tr)
{
	int n = ring_buffer__consume(tr->rb);

	if (n < 0 && n != -EINTR) {
		pgx_error("cannot read the ring buffer: %s", strerror(-n));
		return n;
	}
	return 0;
}

bool tracer__track(struct tracer *tr, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	return bpf_map__update_elem(tr->skel->maps.tracked, &key, sizeof(key), &one,
				    sizeof(one), BPF_ANY) == 0;
}

unsigned long long tracer__lost(const struct tracer *tr)
{
	unsigned long long *per_cpu, total = 0;
	__u32 zero = 0;
	int i;

	per_cpu = calloc((size_t)tr->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	if (bpf_map_lookup_elem(tr->lost_fd, &zero, per_cpu) == 0)
		for (i = 0; i < tr->ncpus; i++)
			total += per_cpu[i];
	free(per_cpu);
	return total;
}

static int by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every file descriptor of this process but the KEEP ones. */
static void close_all_but(int *keep, int nkeep)
{
	unsigned int from = 0;

	qsort(keep, (size_t)nkeep, sizeof(*keep), by_value);
	for (int i = 0; i < nkeep; i++) {
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* Detaching a probe waits for an RCU grace period: tens of milliseconds
 * each, half a second for all of them.  A child that holds only the probes'
 * descriptors releases them once pgx-trace has exited (its end of a pipe
 * closes), so pgx-trace returns as soon as its command has; the parent's own
 * close is then not the last reference and costs nothing. */
void tracer__detach_later(struct tracer *tr)
{
	const struct bpf_object_skeleton *s = tr->skel->skeleton;
	int keep[64], nkeep = 0, parent_alive[2];
	char byte;

	for (int i = 0; i < s->prog_cnt && nkeep < 63; i++)
		if (*s->progs[i].link && bpf_link__fd(*s->progs[i].link) >= 0)
			keep[nkeep++] = bpf_link__fd(*s->progs[i].link);
	if (pipe(parent_alive))
		return;
	fflush(NULL);
	switch (fork()) {
	case -1:
		break;
	case 0:
		keep[nkeep++] = parent_alive[0];
		close_all_but(keep, nkeep);
		while (read(parent_alive[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(PGX_EXIT_OK);
	default:
		close(parent_alive[0]);
		return;	/* parent_alive[1] stays open until this process exits */
	}
	close(parent_alive[0]);
	close(parent_alive[1]);
}

void tracer__free(struct tracer *tr)
{
	if (!tr)
		return;
	ring_buffer__free(tr->rb);
	trace_bpf__destroy(tr->skel);
	free(tr);
}
