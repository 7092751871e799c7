/* trace_workload.c - the bench/trace workload: opens with an exec mixed in
 *
 * trace_workload OPS [EXEC_EVERY]: OPS operations; every EXEC_EVERY-th is a
 * fork + exec of this program (which exits at once), the others open and
 * close a file. Prints the elapsed seconds (CLOCK_MONOTONIC) on stdout. */
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
	int fd;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return 0;
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
		fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		close(fd);
	}
	printf("%.6f\n", now() - t0);
	return 0;
}
