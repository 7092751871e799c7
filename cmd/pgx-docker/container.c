/* container.c - facts about one container: state, main pid, cgroup; its logs */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "pgx.h"
#include "docker.h"

static char *dup_or_null(const char *s)
{
	return s ? pgx_xstrdup(s) : NULL;
}

static double time_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? docker_parse_time(s, strlen(s), NULL) : -1;
}

int container_info_get(struct docker *d, const char *id, struct container_info *ci)
{
	char path[512];
	json_t *answer = NULL, *state, *config;
	long status;

	memset(ci, 0, sizeof(*ci));
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	status = docker_call(d, "GET", path, NULL, &answer);
	if (status != 200) {
		if (status == 404)
			pgx_error("no such container \"%s\"", id);
		else if (status > 0)
			pgx_error("cannot inspect container \"%s\": %s", id, docker_message(answer));
		json_decref(answer);
		return status == 404 ? PGX_EXIT_INPUT : status < 0 ? docker_failure(d) : PGX_EXIT_FAILED;
	}
	state = json_object_get(answer, "State");
	config = json_object_get(answer, "Config");
	ci->id = dup_or_null(json_string_value(json_object_get(answer, "Id")));
	ci->name = dup_or_null(json_string_value(json_object_get(answer, "Name")));
	if (ci->name && ci->name[0] == '/')	/* Docker's names carry a leading slash */
		memmove(ci->name, ci->name + 1, strlen(ci->name));
	ci->image = dup_or_null(json_string_value(json_object_get(config, "Image")));
	ci->tty = json_is_true(json_object_get(config, "Tty"));
	ci->running = json_is_true(json_object_get(state, "Running"));
	ci->pid = (long)json_integer_value(json_object_get(state, "Pid"));
	ci->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	ci->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
	ci->error = dup_or_null(json_string_value(json_object_get(state, "Error")));
	ci->created = time_of(answer, "Created");
	ci->started = time_of(state, "StartedAt");
	ci->finished = time_of(state, "FinishedAt");
	json_decref(answer);
	if (ci->id)
		return PGX_EXIT_OK;
	pgx_error("Docker daemon's answer for container \"%s\" has no Id", id);
	return PGX_EXIT_FAILED;
}

void container_info_free(struct container_info *ci)
{
	free(ci->id);
	free(ci->name);
	free(ci->image);
	free(ci->error);
	memset(ci, 0, sizeof(*ci));
}

/* Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid layout. */
static bool cgroup2_mount(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], mnt[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - cgroup2 ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(out, outlen, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

bool container_cgroup(long pid, char **path, unsigned long long *id)
{
	char file[64], line[4096], mnt[4096], dir[8192];
	struct stat st;
	FILE *f;

	*path = NULL;
	*id = 0;
	snprintf(file, sizeof(file), "/proc/%ld/cgroup", pid);
	if (pid <= 0 || !(f = fopen(file, "r")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			*path = pgx_xstrdup(line + 3);
			break;
		}
	fclose(f);
	if (!*path || !cgroup2_mount(mnt, sizeof(mnt)))
		return *path != NULL;
	snprintf(dir, sizeof(dir), "%s%s", mnt, *path);
	if (stat(dir, &st) == 0)
		*id = (unsigned long long)st.st_ino;
	return true;
}

bool emit_start(const struct container_info *ci)
{
	struct container_rec r = {
		.ts = ci->started, .action = "start", .id = ci->id, .name = ci->name,
		.image = ci->image, .pid = ci->pid, .elapsed = -1,
	};
	char *cgroup = NULL;
	bool ok;

	container_cgroup(ci->pid, &cgroup, &r.cgroup_id);
	r.cgroup = cgroup;
	ok = emit_container(&r);
	free(cgroup);
	return ok;
}
