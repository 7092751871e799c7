/* subject.c - run CMD in a fresh cgroup, held until the tracer is armed */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pgx_trace.h"

struct subject {
	pid_t pid;
	int pidfd, out_fd, go_fd, cgroup_fd;
	char *dir, *parent_dir;
	const char *rel;	/* dir below the cgroup v2 root, "/..." */
	bool started, reaped;
	int status;
};

static int privilege_or_internal(int err)
{
	return err == EACCES || err == EPERM || err == EROFS ? PGX_EXIT_PRIVILEGE
							      : PGX_EXIT_INTERNAL;
}

static int make_cgroup(struct subject *s, const char *root)
{
	s->parent_dir = cgroup_self_dir(root);
	if (asprintf(&s->dir, "%s/pgx-trace.%d", s->parent_dir, (int)getpid()) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	s->rel = s->dir + strlen(root);
	if (mkdir(s->dir, 0755) != 0) {
		pgx_error("cannot create cgroup \"%s\": %s", s->dir, strerror(errno));
		free(s->dir);
		s->dir = NULL;
		return privilege_or_internal(errno);
	}
	s->cgroup_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cgroup_fd < 0) {
		pgx_error("cannot open cgroup \"%s\": %s", s->dir, strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	return 0;
}

/* In the child: wait for the go byte, then become CMD. Exit codes as a
 * shell's: 127 not found, 126 found but not runnable. PGX_TRACE_CGROUP
 * lets CMD put what it starts elsewhere (a container: Docker's
 * CgroupParent) under the traced cgroup. */
static void __attribute__((noreturn)) run_child(char **argv, const char *rel, int out_fd,
						int go_fd)
{
	char go;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(PGX_EXIT_CANNOT_RUN);
	if (read(go_fd, &go, 1) != 1)
		_exit(PGX_EXIT_CANNOT_RUN);	/* pgx-trace went away before arming */
	setenv("PGX_TRACE_CGROUP", rel, 1);
	execvp(argv[0], argv);
	pgx_error("cannot run \"%s\": %s", argv[0], strerror(errno));
	_exit(errno == ENOENT || errno == ENOTDIR ? PGX_EXIT_NOT_FOUND : PGX_EXIT_CANNOT_RUN);
}

static int spawn(struct subject *s, char **argv)
{
	int out[2], go[2];

	if (pipe2(out, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) {
		pgx_error("cannot create a pipe: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		pgx_error("cannot fork: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	if (s->pid == 0)
		run_child(argv, s->rel, out[1], go[0]);
	close(out[1]);
	close(go[0]);
	s->out_fd = out[0];
	s->go_fd = go[1];
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	return 0;
}

int subject__new(const char *root, char **argv, struct subject **out)
{
	struct subject *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	s->pidfd = s->out_fd = s->go_fd = s->cgroup_fd = -1;
	rc = make_cgroup(s, root);
	if (!rc)
		rc = spawn(s, argv);
	if (rc) {
		subject__free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int subject__cgroup_fd(const struct subject *s)
{
	return s->cgroup_fd;
}

int subject__stdout_fd(const struct subject *s)
{
	return s->out_fd;
}

int subject__pidfd(const struct subject *s)
{
	return s->pidfd;
}

static bool write_pid(const char *dir, pid_t pid)
{
	char path[4096], num[32];
	int fd, len, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = snprintf(num, sizeof(num), "%d\n", (int)pid);
	ok = write(fd, num, (size_t)len) == len;
	close(fd);
	return ok;
}

int subject__start(struct subject *s)
{
	if (!write_pid(s->dir, s->pid)) {
		pgx_error("cannot move the command into cgroup \"%s\": %s", s->dir, strerror(errno));
		return privilege_or_internal(errno);
	}
	if (write(s->go_fd, "g", 1) != 1) {
		pgx_error("cannot start the command: %s", strerror(errno));
		return PGX_EXIT_INTERNAL;
	}
	close(s->go_fd);
	s->go_fd = -1;
	s->started = true;
	return 0;
}

bool subject__reap(struct subject *s)
{
	int st;

	if (!s->reaped && waitpid(s->pid, &st, WNOHANG) == s->pid) {
		s->reaped = true;
		s->status = st;
	}
	return s->reaped;
}

void subject__signal(struct subject *s, int sig)
{
	if (s->pid > 0 && !s->reaped)
		kill(s->pid, sig);
}

int subject__status(const struct subject *s)
{
	if (WIFEXITED(s->status))
		return WEXITSTATUS(s->status);
	if (WIFSIGNALED(s->status))
		return PGX_EXIT_SIGNALED + WTERMSIG(s->status);
	return PGX_EXIT_INTERNAL;
}

/* Processes CMD left running (a daemon it started) keep running, moved to
 * the cgroup pgx-trace came from, so that the subject's cgroup can go. */
static int move_leftovers(struct subject *s)
{
	char path[4096];
	int pid, moved = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", s->dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1)
		moved += write_pid(s->parent_dir, pid);
	fclose(f);
	return moved;
}

/* On a hybrid layout Docker makes the same path in every v1 hierarchy
 * for a container under PGX_TRACE_CGROUP: remove those too, if empty. */
static void remove_v1_twins(const struct subject *s)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	if (strncmp(s->dir, "/sys/fs/cgroup/", 15) != 0 || !(d = opendir("/sys/fs/cgroup")))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "unified") != 0) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s", de->d_name, s->rel);
			rmdir(path);
		}
	closedir(d);
}

static void remove_cgroup(struct subject *s)
{
	static const struct timespec pause = { 0, 10000000L };
	int tries, moved = 0, err = 0;

	for (tries = 0; tries < 50; tries++) {
		if (rmdir(s->dir) == 0 || errno == ENOENT)
			break;
		err = errno;
		moved += move_leftovers(s);
		nanosleep(&pause, NULL);
	}
	if (tries == 50) {
		pgx_warn("cannot remove cgroup \"%s\": %s%s", s->dir, strerror(err),
			 err == EBUSY ? " (a child cgroup, such as a container's, is still in use)" : "");
		return;
	}
	remove_v1_twins(s);
	if (moved)
		pgx_info("%d process%s left running, moved to cgroup \"%s\"", moved,
			 moved == 1 ? "" : "es", s->parent_dir);
}

void subject__free(struct subject *s)
{
	if (!s)
		return;
	if (s->pid > 0 && !s->started && !s->reaped) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->go_fd >= 0)
		close(s->go_fd);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	if (s->dir)
		remove_cgroup(s);
	free(s->dir);
	free(s->parent_dir);
	free(s);
}
