/* trace_workload.c - the bench/trace workload: opens with an exec mixed in
 *
 * trace_workload OPS [EXEC_EVERY]: OPS operations; every EXEC_EVERY-th is a
 * fork + exec of this program (which exits at once), the others open and
 * close a file. Prints the elapsed seconds (CLOCK_MONOTONIC) on stdout.
 *
 * trace_workload --steady OPS: OPS opens and closes only, in chunks of
 * CHUNK with a millisecond's pause after each (a tracer keeps up); prints
 * the seconds OPS take at the pace of the 10th percentile chunk, which
 * load from elsewhere on a shared machine hardly moves. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CHUNK 200

static int open_close(void)
{
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return close(fd);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int steady(long ops)
{
	long chunks = ops / CHUNK > 0 ? ops / CHUNK : 1, c, i;
	double *per_op = calloc((size_t)chunks, sizeof(*per_op)), t0;

	if (!per_op)
		return 1;
	for (c = 0; c < chunks; c++) {
		t0 = now();
		for (i = 0; i < CHUNK; i++)
			if (open_close() != 0)
				return 1;
		per_op[c] = (now() - t0) / CHUNK;
		usleep(1000);
	}
	qsort(per_op, (size_t)chunks, sizeof(*per_op), by_value);
	printf("%.6f\n", per_op[chunks / 10] * ops);
	free(per_op);
	return 0;
}

static int run_self(const char *self)
{
	pid_t pid = vfork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(self, self, "--child", (char *)NULL);
		_exit(127);
	}
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long ops, every, i;
	double t0;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return 0;
	if (argc > 2 && !strcmp(argv[1], "--steady"))
		return steady(atol(argv[2]));
	if (argc < 2) {
		fprintf(stderr, "usage: %s OPS [EXEC_EVERY]\n", argv[0]);
		return 2;
	}
	ops = atol(argv[1]);
	every = argc > 2 ? atol(argv[2]) : 20;
	t0 = now();
	for (i = 0; i < ops; i++) {
		if (every > 0 && i % every == 0) {
			if (run_self("/proc/self/exe") != 0)
				return 1;
			continue;
		}
		if (open_close() != 0)
			return 1;
	}
	printf("%.6f\n", now() - t0);
	return 0;
}
