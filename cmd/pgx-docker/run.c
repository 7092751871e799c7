/* run.c - pgx-docker run: create, start, stream, ready, die, stop, remove */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "docker.h"

/* Seconds between readiness pings: ready is stamped at most this late.  A
 * ping before the port listens is a refused connect, so it costs nothing. */
#define PING_INTERVAL 0.005
#define READY_SETTLE 0.3	/* wait this long for log lines older than ready */
#define STOP_TIMEOUT 10		/* seconds Docker waits before SIGKILL */

struct run {
	struct docker *d;
	const struct run_opts *o;
	char *id;
	struct container_info ci;
	struct log_sink *sink;
	struct docker_follow *follow;
	char dsn[96], addr[64];
	double begun;		/* run asked for: the image check, then create */
	double started;		/* our clock, for --until SECONDS */
	double next_ping;
	double ready_at;	/* ping answered; < 0 not yet */
	double settle_until;
	bool ready;		/* ready record written */
	bool ended;		/* the log stream ended: the container stopped */
};

static json_t *create_body(const struct run_opts *o)
{
	json_t *host = json_pack("{s:s}", "NetworkMode", "host");
	json_t *body = json_pack("{s:s, s:b, s:b, s:b, s:{s:s}}",
				 "Image", o->image, "Tty", 0, "AttachStdout", 0, "AttachStderr", 0,
				 "Labels", "org.pgx.created-by", "pgx-docker");
	json_t *env = json_deep_copy(o->env);
	char port[32];

	if (!body || !host || !env)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	snprintf(port, sizeof(port), "PGPORT=%ld", o->port);
	json_array_insert_new(env, 0, json_string(port));
	json_object_set_new(body, "Env", env);
	if (o->cmd)
		json_object_set(body, "Cmd", o->cmd);
	if (json_array_size(o->binds))
		json_object_set(host, "Binds", o->binds);
	if (o->cgroup_parent)
		json_object_set_new(host, "CgroupParent", json_string(o->cgroup_parent));
	json_object_set_new(body, "HostConfig", host);
	return body;
}

static bool pull_line(void *ctx, const char *data, size_t len)
{
	json_t **error = ctx;
	json_error_t jerr;
	json_t *msg = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, &jerr);

	if (msg && json_object_get(msg, "error") && !*error)
		*error = json_incref(json_object_get(msg, "error"));
	json_decref(msg);
	return true;
}

/* Only with --pull: the daemon asks the image's registry. */
static int pull_image(struct docker *d, const char *image)
{
	char path[1024];
	json_t *error = NULL;
	char *esc = docker_escape(d, image);
	long status;
	int rc = PGX_EXIT_OK;

	snprintf(path, sizeof(path), "/images/create?fromImage=%s", esc);
	free(esc);
	status = docker_stream(d, "POST", path, NULL, NULL, 0, pull_line, &error);
	if (status < 0 || status >= 300)
		rc = status < 0 ? docker_failure(d) : PGX_EXIT_INPUT;
	else if (error) {
		pgx_error("cannot pull image \"%s\": %s", image, json_string_value(error));
		rc = PGX_EXIT_INPUT;
	}
	json_decref(error);
	return rc;
}

static int ensure_image(struct docker *d, const struct run_opts *o)
{
	char path[1024];
	json_t *answer = NULL;
	long status;

	snprintf(path, sizeof(path), "/images/%s/json", o->image);
	status = docker_call(d, "GET", path, NULL, &answer);
	if (status == 200 || status < 0) {
		json_decref(answer);
		return status < 0 ? docker_failure(d) : PGX_EXIT_OK;
	}
	if (status != 404)
		pgx_error("cannot inspect image \"%s\": %s", o->image, docker_message(answer));
	json_decref(answer);
	if (status != 404)
		return PGX_EXIT_FAILED;
	if (o->pull)
		return pull_image(d, o->image);
	pgx_error("image \"%s\" not found locally; no registry pull is attempted unless --pull is given",
		  o->image);
	return PGX_EXIT_INPUT;
}

static int create_container(struct run *r)
{
	char path[512] = "/containers/create";
	json_t *body = create_body(r->o), *answer = NULL;
	struct container_rec rec = { .action = "create", .image = r->o->image,
				     .name = r->o->name, .ts = -1, .elapsed = -1 };
	long status;

	rec.ts = r->begun;
	if (r->o->name) {
		char *esc = docker_escape(r->d, r->o->name);
		snprintf(path, sizeof(path), "/containers/create?name=%s", esc);
		free(esc);
	}
	status = docker_call(r->d, "POST", path, body, &answer);
	json_decref(body);
	if (status == 201)
		r->id = pgx_xstrdup(json_string_value(json_object_get(answer, "Id")) ?: "");
	else if (status > 0)
		pgx_error("cannot create container from \"%s\": %s", r->o->image, docker_message(answer));
	json_decref(answer);
	if (status != 201)
		return status < 0 ? docker_failure(r->d) : PGX_EXIT_FAILED;
	rec.id = r->id;
	return emit_container(&rec) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

static int start_container(struct run *r)
{
	char path[256];
	json_t *answer = NULL;
	long status;
	int rc;

	snprintf(path, sizeof(path), "/containers/%s/start", r->id);
	status = docker_call(r->d, "POST", path, NULL, &answer);
	if (status > 0 && status != 204 && status != 304)
		pgx_error("cannot start container %.12s: %s", r->id, docker_message(answer));
	json_decref(answer);
	if (status < 0)
		return docker_failure(r->d);
	if (status != 204 && status != 304)
		return PGX_EXIT_FAILED;
	r->started = pgx_now();
	if ((rc = container_info_get(r->d, r->id, &r->ci)) != PGX_EXIT_OK)
		return rc;
	return emit_start(&r->ci) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

static bool emit_ready(struct run *r)
{
	struct container_rec rec = {
		.ts = r->ready_at, .action = "ready", .id = r->id, .name = r->ci.name,
		.image = r->ci.image, .addr = r->addr, .elapsed = -1,
	};

	if (r->ci.started > 0)
		rec.elapsed = r->ready_at - r->ci.started;
	r->ready = true;
	return emit_container(&rec) && log_sink_release(r->sink);
}

/* Ready is a libpq ping that succeeds, not a log line: the final server's
 * "ready to accept connections" can come before its port answers, and the
 * temporary server of a first start prints it too. */
static bool check_ready(struct run *r, double now)
{
	if (r->ready)
		return true;
	if (r->ready_at < 0 && now >= r->next_ping) {
		r->next_ping = now + PING_INTERVAL;
		if (pgx_pq_ping(r->dsn, 2) == PQPING_OK) {
			r->ready_at = pgx_now();
			r->settle_until = r->ready_at + READY_SETTLE;
			log_sink_hold(r->sink, r->ready_at);
		}
	}
	/* Let log lines stamped before the ping arrive first. */
	if (r->ready_at >= 0 && (now >= r->settle_until || log_sink_holding_later(r->sink)))
		return emit_ready(r);
	return true;
}

static bool until_reached(const struct run *r, double now)
{
	switch (r->o->until) {
	case UNTIL_READY:
		return r->ready;
	case UNTIL_SECONDS:
		return now - r->started >= r->o->until_seconds;
	default:
		return false;
	}
}

/* How long the log stream may block: until the next ping while not ready. */
static int follow_wait_ms(const struct run *r)
{
	double until_ping = r->next_ping - pgx_now();

	if (r->ready_at >= 0 || until_ping >= 0.05)
		return 50;
	return until_ping > 0 ? (int)(until_ping * 1000) + 1 : 0;
}

static int stream(struct run *r)
{
	char path[512];

	logs_path(path, sizeof(path), r->id, true, 0);
	r->follow = docker_follow_start(r->d, path, log_sink_data, r->sink);
	while (!pgx_stop_signal) {
		double now;

		if (!docker_follow_step(r->follow, follow_wait_ms(r))) {
			r->ended = true;
			break;
		}
		now = pgx_now();
		if (!check_ready(r, now) || log_sink_write_failed(r->sink))
			return PGX_EXIT_OUTPUT;
		if (until_reached(r, now))
			break;
	}
	if (r->ended && docker_follow_failed(r->follow))
		return PGX_EXIT_CONNECT;
	return pgx_stop_signal ? PGX_EXIT_INTERRUPTED : PGX_EXIT_OK;
}

/* The stream ended: the container stopped. */
static int record_death(struct run *r)
{
	int rc;

	if ((rc = log_sink_catch_up(r->d, r->sink, r->id)) != PGX_EXIT_OK)
		return rc;
	if (r->ready_at >= 0 && !r->ready && !emit_ready(r))
		return PGX_EXIT_OUTPUT;
	container_info_free(&r->ci);
	if ((rc = container_info_get(r->d, r->id, &r->ci)) != PGX_EXIT_OK)
		return rc;
	return emit_die(r->d, &r->ci, log_sink_last_lines(r->sink)) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

static int stop_container(struct run *r)
{
	struct container_rec rec = { .ts = -1, .action = "stop", .id = r->id, .name = r->ci.name,
				     .image = r->ci.image, .elapsed = -1 };
	char path[256];
	json_t *answer = NULL;
	long status;
	double give_up;
	bool wrote;
	int rc;

	wrote = emit_container(&rec);	/* stop even if stdout is gone */
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", r->id, STOP_TIMEOUT);
	status = docker_call(r->d, "POST", path, NULL, &answer);
	if (status > 0 && status != 204 && status != 304)
		pgx_error("cannot stop container %.12s: %s", r->id, docker_message(answer));
	json_decref(answer);
	if (status < 0)
		return docker_failure(r->d);
	/* The shutdown's own log lines, until the stream ends. */
	give_up = pgx_now() + 5;
	while (!pgx_stop_signal && pgx_now() < give_up && docker_follow_step(r->follow, 50))
		;
	r->ended = true;
	rc = record_death(r);
	return wrote || rc != PGX_EXIT_OK ? rc : PGX_EXIT_OUTPUT;
}

static int remove_container(struct run *r)
{
	struct container_rec rec = { .ts = -1, .action = "remove", .id = r->id, .name = r->ci.name,
				     .image = r->ci.image, .elapsed = -1 };
	char path[256];
	json_t *answer = NULL;
	long status;

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", r->id);
	status = docker_call(r->d, "DELETE", path, NULL, &answer);
	if (status > 0 && status != 204)
		pgx_error("cannot remove container %.12s: %s", r->id, docker_message(answer));
	json_decref(answer);
	if (status != 204)
		return status < 0 ? docker_failure(r->d) : PGX_EXIT_FAILED;
	rec.ts = pgx_now();
	return emit_container(&rec) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

/* What the run means for the caller, once the container died by itself. */
static int judge_death(const struct run *r)
{
	if (r->o->until == UNTIL_READY && !r->ready) {
		pgx_error("container %.12s exited with code %d before it was ready",
			  r->id, r->ci.exit_code);
		return PGX_EXIT_FAILED;
	}
	if (r->ci.exit_code != 0) {
		pgx_error("container %.12s exited with code %d", r->id, r->ci.exit_code);
		return PGX_EXIT_FAILED;
	}
	return PGX_EXIT_OK;
}

/* After streaming: the death, or a stop we were asked for, then --rm. */
static int wind_down(struct run *r, int status)
{
	bool interrupted = status == PGX_EXIT_INTERRUPTED;
	int rc = PGX_EXIT_OK;
	sigset_t stops, saved;

	/* Cleanup must reach the daemon: further SIGINT/SIGTERM (timeout(1)
	 * sends its signal twice, to the child and to the group) wait until it
	 * is done; Docker's stop timeout bounds the wait. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &saved);
	pgx_stop_signal = 0;
	if (status == PGX_EXIT_OK && r->ended) {
		rc = record_death(r);
		if (rc == PGX_EXIT_OK)
			status = judge_death(r);
	} else if (!r->ended && r->follow && (r->o->stop || r->o->rm))
		rc = stop_container(r);
	/* --rm holds after every failure: a broken pipe must not leave it behind. */
	if (r->o->rm && r->id) {
		int rm = remove_container(r);
		if (rc == PGX_EXIT_OK)
			rc = rm;
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (interrupted || pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	return status != PGX_EXIT_OK ? status : rc;
}

int docker_run(struct docker *d, const struct run_opts *o)
{
	struct run r = { .d = d, .o = o, .ready_at = -1, .begun = pgx_now() };
	int status;

	snprintf(r.addr, sizeof(r.addr), "127.0.0.1:%ld", o->port);
	snprintf(r.dsn, sizeof(r.dsn), "host=127.0.0.1 port=%ld user=postgres dbname=postgres",
		 o->port);
	if ((status = ensure_image(d, o)) != PGX_EXIT_OK)
		return status;
	if ((status = create_container(&r)) != PGX_EXIT_OK)
		goto out;
	if ((status = start_container(&r)) == PGX_EXIT_OK) {
		r.sink = log_sink_new(&r.ci, false);
		status = stream(&r);
	}
	status = wind_down(&r, status);
out:
	docker_follow_end(r.follow);
	log_sink_free(r.sink);
	container_info_free(&r.ci);
	free(r.id);
	return status;
}
