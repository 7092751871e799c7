/* api.c - the Docker Engine API over its Unix socket, with libcurl */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "pgx.h"
#include "docker.h"

struct docker {
	CURL *curl;
	char *socket;		/* path of the daemon's Unix socket */
	char version[16];	/* negotiated API version, "1.43" */
	int failure;		/* exit status of the last transport failure */
};

struct buffer {
	char *data;
	size_t len, cap;
};

static void buffer_add(struct buffer *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->data = pgx_xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	buffer_add(ctx, data, size * n);
	return size * n;
}

/* A transport failure as the operator needs it: which socket, and why. */
static int report_transport(const struct docker *d, CURL *curl, CURLcode rc)
{
	long os_errno = 0;

	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
	if (rc == CURLE_COULDNT_CONNECT && (os_errno == EACCES || os_errno == EPERM)) {
		pgx_error("permission denied on the Docker socket \"%s\"", d->socket);
		return PGX_EXIT_PRIVILEGE;
	}
	if (rc == CURLE_COULDNT_CONNECT)
		pgx_error("cannot connect to the Docker daemon at \"unix://%s\": %s", d->socket,
			  os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc));
	else if (rc == CURLE_ABORTED_BY_CALLBACK && pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	else
		pgx_error("Docker daemon at \"unix://%s\": %s", d->socket, curl_easy_strerror(rc));
	return PGX_EXIT_CONNECT;
}

static int abort_on_signal(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return pgx_stop_signal != 0;
}

static void prepare(const struct docker *d, CURL *curl, const char *method, const char *path)
{
	char url[4096];

	if (d->version[0])
		snprintf(url, sizeof(url), "http://localhost/v%s%s", d->version, path);
	else
		snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, d->socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pgx-docker/" PGX_VERSION);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_on_signal);
}

static void set_body(CURL *curl, struct curl_slist **hdrs, const char *ctype,
		     const void *body, size_t len)
{
	char h[128];

	if (ctype) {
		snprintf(h, sizeof(h), "Content-Type: %s", ctype);
		*hdrs = curl_slist_append(*hdrs, h);
	}
	/* No "Expect: 100-continue" round trip for build contexts. */
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
}

static json_t *parse_answer(const struct buffer *b)
{
	json_t *j;

	if (!b->len)
		return NULL;
	j = json_loadb(b->data, b->len, 0, NULL);
	if (!j) {
		char *text = pgx_utf8_sanitize(b->data, b->len, NULL);
		text[strcspn(text, "\r\n")] = '\0';
		j = json_pack("{s:s}", "message", text);
		free(text);
	}
	return j;
}

static long perform(struct docker *d, CURL *curl)
{
	long status = 0;
	CURLcode rc = curl_easy_perform(curl);

	if (rc != CURLE_OK) {
		d->failure = report_transport(d, curl, rc);
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

long docker_call(struct docker *d, const char *method, const char *path, json_t *body, json_t **out)
{
	struct buffer answer = { 0 };
	struct curl_slist *hdrs = NULL;
	char *text = NULL;
	long status;

	prepare(d, d->curl, method, path);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			pgx_die(PGX_EXIT_INTERNAL, "cannot serialise request body");
		set_body(d->curl, &hdrs, "application/json", text, strlen(text));
	} else if (!strcmp(method, "POST"))
		set_body(d->curl, &hdrs, NULL, NULL, 0);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &answer);
	status = perform(d, d->curl);
	curl_slist_free_all(hdrs);
	free(text);
	if (out)
		*out = status > 0 ? parse_answer(&answer) : NULL;
	free(answer.data);
	return status;
}

struct stream_ctx {
	docker_data_fn fn;
	void *ctx;
	CURL *curl;
	struct buffer error;	/* the answer of a failed request */
	bool stopped;
};

static size_t deliver(char *data, size_t size, size_t n, void *p)
{
	struct stream_ctx *s = p;
	long status = 0;

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		buffer_add(&s->error, data, size * n);
		return size * n;
	}
	if (!s->fn(s->ctx, data, size * n)) {
		s->stopped = true;
		return 0;
	}
	return size * n;
}

static void report_http_error(const struct buffer *b, long status)
{
	json_t *answer = parse_answer(b);

	pgx_error("Docker daemon answered %ld: %s", status, docker_message(answer));
	json_decref(answer);
}

long docker_stream(struct docker *d, const char *method, const char *path, const char *ctype,
		   const void *body, size_t len, docker_data_fn fn, void *ctx)
{
	struct stream_ctx s = { .fn = fn, .ctx = ctx, .curl = d->curl };
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURLcode rc;

	prepare(d, d->curl, method, path);
	if (body || !strcmp(method, "POST"))
		set_body(d->curl, &hdrs, ctype, body, len);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, deliver);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(d->curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.stopped)) {
		d->failure = report_transport(d, d->curl, rc);
		status = -1;
	} else {
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 300)
			report_http_error(&s.error, status);
	}
	free(s.error.data);
	return status;
}

const char *docker_message(const json_t *answer)
{
	const char *msg = json_string_value(json_object_get(answer, "message"));

	return msg && *msg ? msg : "(no message)";
}

char *docker_escape(struct docker *d, const char *s)
{
	char *e = curl_easy_escape(d->curl, s, 0);
	char *copy;

	if (!e)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	copy = pgx_xstrdup(e);
	curl_free(e);
	return copy;
}

int docker_failure(const struct docker *d)
{
	return d->failure ? d->failure : PGX_EXIT_CONNECT;
}

/* ---- a stream followed step by step ---- */
struct docker_follow {
	struct docker *d;
	CURLM *multi;
	CURL *curl;
	struct stream_ctx s;
	bool done, failed;
};

struct docker_follow *docker_follow_start(struct docker *d, const char *path,
					  docker_data_fn fn, void *ctx)
{
	struct docker_follow *f = pgx_xmalloc(sizeof(*f));

	memset(f, 0, sizeof(*f));
	f->d = d;
	f->curl = curl_easy_init();
	f->multi = curl_multi_init();
	if (!f->curl || !f->multi)
		pgx_die(PGX_EXIT_INTERNAL, "cannot initialise libcurl");
	f->s.fn = fn;
	f->s.ctx = ctx;
	f->s.curl = f->curl;
	prepare(d, f->curl, "GET", path);
	/* The caller's loop watches for signals; the stream must outlive one so
	 * that a stop's last log lines still arrive. */
	curl_easy_setopt(f->curl, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, deliver);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &f->s);
	curl_multi_add_handle(f->multi, f->curl);
	return f;
}

static void follow_collect_result(struct docker_follow *f)
{
	CURLMsg *msg;
	int left;
	long status = 0;

	while ((msg = curl_multi_info_read(f->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		f->done = true;
		if (msg->data.result != CURLE_OK && !f->s.stopped) {
			report_transport(f->d, f->curl, msg->data.result);
			f->failed = true;
			continue;
		}
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 300) {
			report_http_error(&f->s.error, status);
			f->failed = true;
		}
	}
}

bool docker_follow_step(struct docker_follow *f, int timeout_ms)
{
	int running = 0;

	if (f->done)
		return false;
	if (curl_multi_perform(f->multi, &running) != CURLM_OK)
		pgx_die(PGX_EXIT_INTERNAL, "libcurl multi interface failed");
	if (running)
		curl_multi_poll(f->multi, NULL, 0, timeout_ms, NULL);
	if (curl_multi_perform(f->multi, &running) != CURLM_OK)
		pgx_die(PGX_EXIT_INTERNAL, "libcurl multi interface failed");
	follow_collect_result(f);
	return !f->done;
}

bool docker_follow_failed(const struct docker_follow *f)
{
	return f->failed;
}

void docker_follow_end(struct docker_follow *f)
{
	if (!f)
		return;
	curl_multi_remove_handle(f->multi, f->curl);
	curl_easy_cleanup(f->curl);
	curl_multi_cleanup(f->multi);
	free(f->s.error.data);
	free(f);
}

/* ---- connecting ---- */
static char *socket_from_env(int *exit_code)
{
	const char *host = getenv("DOCKER_HOST");

	if (!host || !*host)
		return pgx_xstrdup(DOCKER_DEFAULT_SOCKET);
	if (!strncmp(host, "unix://", 7) && host[7])
		return pgx_xstrdup(host + 7);
	pgx_error("unsupported DOCKER_HOST \"%s\": only unix:// sockets are supported", host);
	*exit_code = PGX_EXIT_CONNECT;
	return NULL;
}

static bool parse_version(const char *v, long *major, long *minor)
{
	return v && sscanf(v, "%ld.%ld", major, minor) == 2;
}

/* Like the docker CLI: the lower of ours and the daemon's. */
static bool negotiate(struct docker *d, const json_t *version)
{
	const char *server = json_string_value(json_object_get(version, "ApiVersion"));
	const char *min = json_string_value(json_object_get(version, "MinAPIVersion"));
	long smaj, smin, cmaj, cmin, mmaj, mmin;

	parse_version(DOCKER_CLIENT_API, &cmaj, &cmin);
	if (!parse_version(server, &smaj, &smin)) {
		pgx_error("Docker daemon at \"unix://%s\" did not tell its API version", d->socket);
		return false;
	}
	if (parse_version(min, &mmaj, &mmin) && (mmaj > cmaj || (mmaj == cmaj && mmin > cmin))) {
		pgx_error("Docker daemon needs API %s or later; pgx-docker speaks up to %s",
			  min, DOCKER_CLIENT_API);
		return false;
	}
	if (smaj < cmaj || (smaj == cmaj && smin < cmin))
		snprintf(d->version, sizeof(d->version), "%ld.%ld", smaj, smin);
	else
		snprintf(d->version, sizeof(d->version), "%s", DOCKER_CLIENT_API);
	return true;
}

/* GET /version, unversioned; PGX_EXIT_OK with the answer in *out. */
static int fetch_version(struct docker *d, json_t **out)
{
	struct buffer answer = { 0 };
	long status = 0;
	CURLcode rc;

	prepare(d, d->curl, "GET", "/version");
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &answer);
	rc = curl_easy_perform(d->curl);
	if (rc != CURLE_OK) {
		free(answer.data);
		return report_transport(d, d->curl, rc);
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	*out = parse_answer(&answer);
	free(answer.data);
	if (status != 200) {
		pgx_error("\"unix://%s\" is not a Docker daemon (GET /version answered %ld)",
			  d->socket, status);
		return PGX_EXIT_CONNECT;
	}
	return PGX_EXIT_OK;
}

struct docker *docker_open(int *exit_code)
{
	struct docker *d = pgx_xmalloc(sizeof(*d));
	json_t *version = NULL;

	memset(d, 0, sizeof(*d));
	*exit_code = PGX_EXIT_CONNECT;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(d->curl = curl_easy_init()))
		pgx_die(PGX_EXIT_INTERNAL, "cannot initialise libcurl");
	if (!(d->socket = socket_from_env(exit_code)))
		goto fail;
	if ((*exit_code = fetch_version(d, &version)) != PGX_EXIT_OK)
		goto fail;
	if (!negotiate(d, version)) {
		*exit_code = PGX_EXIT_CONNECT;
		goto fail;
	}
	json_decref(version);
	return d;
fail:
	json_decref(version);
	docker_close(d);
	return NULL;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	free(d->socket);
	free(d);
	curl_global_cleanup();
}
