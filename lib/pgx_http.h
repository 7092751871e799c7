/* pgx_http.h - one HTTP request on libcurl, for the commands that talk HTTP
 * (pgx-apply to Patroni, pgx-report to Alertmanager and webhooks).  Those
 * commands link libcurl; lib/http.c is pulled from libpgx.a only by them. */
#ifndef PGX_HTTP_H
#define PGX_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct pgx_http_request {
	const char *method;		/* "GET", "POST", "PATCH" */
	const char *url;
	const char *json_body;		/* sent as application/json; NULL: none */
	long connect_timeout_ms, timeout_ms;
	size_t max_reply;		/* a longer answer is a failure; 0: discard it */
};

struct pgx_http_reply {
	long status;			/* HTTP status, 0 when nothing was answered */
	char *body;			/* NUL-terminated, or NULL; caller frees */
	size_t len;
};

/* Once per process, before and after any request (curl_global_*). */
void pgx_http_init(void);
void pgx_http_cleanup(void);

/* True when the server answered, whatever the status; false on a transport
 * failure, with libcurl's reason in err.  Only http and https are followed. */
bool pgx_http(const struct pgx_http_request *req, struct pgx_http_reply *reply,
	      char *err, size_t errlen);

/* scheme://host:port, then "/..." when the URL had more: webhook URLs carry
 * their secret in the path or query, and credentials are dropped.  Caller frees. */
char *pgx_url_redact(const char *url);

#endif
