/* patroni.c - Patroni's REST API: GET /patroni and /config, PATCH /config */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_http.h"
#include "apply.h"

#define PATRONI_CONNECT_TIMEOUT_MS 5000L
#define PATRONI_TIMEOUT_MS 20000L

/* The URL as shown in records and files: no user:password@. */
char *patroni_strip_credentials(const char *url)
{
	const char *scheme = strstr(url, "://"), *start = scheme ? scheme + 3 : url;
	const char *at = strchr(start, '@'), *slash = strchr(start, '/');
	char *out;
	size_t n;

	if (!at || (slash && slash < at))
		out = pgx_xstrdup(url);
	else {
		n = (size_t)(start - url);
		out = pgx_xmalloc(strlen(url) + 1);
		memcpy(out, url, n);
		strcpy(out + n, at + 1);
	}
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

static bool has_userinfo(const char *start)
{
	const char *at = strchr(start, '@'), *slash = strchr(start, '/');

	return at && (!slash || at < slash);
}

/* The host of scheme://[user[:pass]@]host[:port][/...] into buf, an IPv6
 * address without its brackets, as netrc names it. */
static void url_host(const char *url, char *buf, size_t len)
{
	const char *scheme = strstr(url, "://"), *start = scheme ? scheme + 3 : url;
	size_t n;

	if (has_userinfo(start))
		start = strchr(start, '@') + 1;
	if (*start == '[')
		n = strcspn(++start, "]");
	else
		n = strcspn(start, ":/");
	snprintf(buf, len, "%.*s", (int)n, start);
}

static FILE *netrc_open(void)
{
	const char *env = getenv("NETRC"), *home = getenv("HOME");
	char path[4096];

	if (env && *env)
		return fopen(env, "r");
	if (!home || !*home)
		return NULL;
	snprintf(path, sizeof(path), "%s/.netrc", home);
	return fopen(path, "r");
}

/* login and password for host from $NETRC or ~/.netrc (or its "default"). */
static bool netrc_lookup(const char *host, char **login, char **password)
{
	char tok[1024], value[1024];
	bool ours = false;
	FILE *f = netrc_open();

	while (f && fscanf(f, "%1023s", tok) == 1) {
		if (!strcmp(tok, "machine") || !strcmp(tok, "default")) {
			if (ours && *login && *password)
				break;
			ours = !strcmp(tok, "default") ||
			       (fscanf(f, "%1023s", value) == 1 && !strcmp(value, host));
		} else if ((!strcmp(tok, "login") || !strcmp(tok, "password")) &&
			   fscanf(f, "%1023s", value) == 1 && ours)
			set_str(!strcmp(tok, "login") ? login : password, value);
	}
	if (f)
		fclose(f);
	explicit_bzero(value, sizeof(value));
	return ours && *login && *password;
}

static char *percent_encode(const char *s)
{
	char *out = pgx_xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s; s++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", *s))
			*o++ = *s;
		else
			o += sprintf(o, "%%%02X", (unsigned char)*s);
	*o = '\0';
	return out;
}

/* PGX_PATRONI_USER and PGX_PATRONI_PASSWORD, else the netrc entry of host. */
static bool find_credentials(const char *host, char **login, char **password)
{
	const char *user = getenv("PGX_PATRONI_USER"), *pass = getenv("PGX_PATRONI_PASSWORD");

	*login = *password = NULL;
	if (user && *user && pass) {
		*login = pgx_xstrdup(user), *password = pgx_xstrdup(pass);
		return true;
	}
	if (netrc_lookup(host, login, password))
		return true;
	free(*login), free(*password);
	*login = *password = NULL;
	return false;
}

/* The URL to send: its own user:password@ if it has one, else the
 * credentials found for its host, so a changeset's stored URL (never a
 * secret) works for its rollback. */
static char *with_credentials(const char *url)
{
	const char *scheme = strstr(url, "://"), *start = scheme ? scheme + 3 : url;
	char *login, *password, *u, *p, *out, host[1024];

	url_host(url, host, sizeof(host));
	if (!scheme || has_userinfo(start) || !find_credentials(host, &login, &password))
		return pgx_xstrdup(url);
	u = percent_encode(login), p = percent_encode(password);
	out = pgx_xmalloc(strlen(url) + strlen(u) + strlen(p) + 3);
	sprintf(out, "%.*s%s:%s@%s", (int)(start - url), url, u, p, start);
	explicit_bzero(password, strlen(password));
	explicit_bzero(p, strlen(p));
	free(login), free(password), free(u), free(p);
	return out;
}

/* One request; *out gets the JSON answer (NULL if none).  Reports failures. */
static enum patroni_result request(const char *base, const char *path, const char *method,
				   const char *payload, json_t **out)
{
	char *shown = patroni_strip_credentials(base), *full = with_credentials(base);
	char url[4200], err[256];
	struct pgx_http_request req = {
		.method = method, .url = url, .json_body = payload,
		.connect_timeout_ms = PATRONI_CONNECT_TIMEOUT_MS, .timeout_ms = PATRONI_TIMEOUT_MS,
		.max_reply = 8u << 20,	/* a /config answer is a few kB */
	};
	struct pgx_http_reply reply;
	enum patroni_result rc = PATRONI_ERROR;

	if (out)
		*out = NULL;
	snprintf(url, sizeof(url), "%s%s%s", full,
		 full[0] && full[strlen(full) - 1] == '/' ? "" : "/", path);
	explicit_bzero(full, strlen(full));
	free(full);
	if (!pgx_http(&req, &reply, err, sizeof(err)))
		pgx_error("Patroni %s %s/%s failed: %s", method, shown, path, err);
	else if (reply.status == 401 || reply.status == 403) {
		pgx_error("Patroni %s %s/%s: HTTP %ld, credentials missing or refused (URL user:password@, "
			  "PGX_PATRONI_USER and PGX_PATRONI_PASSWORD, or netrc)", method, shown, path,
			  reply.status);
		rc = PATRONI_DENIED;
	} else if (reply.status != 200)
		pgx_error("Patroni %s %s/%s answered HTTP %ld: %.200s", method, shown, path,
			  reply.status, reply.body ? reply.body : "");
	else {
		rc = PATRONI_OK;
		if (out && reply.body)
			*out = json_loads(reply.body, 0, NULL);
	}
	explicit_bzero(url, sizeof(url));
	free(reply.body);
	free(shown);
	return rc;
}

enum patroni_result patroni_get(const char *url, const char *path, json_t **out)
{
	enum patroni_result rc = request(url, path, "GET", NULL, out);

	if (rc != PATRONI_OK)
		return rc;
	if (!*out || !json_is_object(*out)) {
		char *shown = patroni_strip_credentials(url);
		pgx_error("Patroni GET %s/%s: the answer is not a JSON object", shown, path);
		free(shown);
		json_decref(*out);
		*out = NULL;
		return PATRONI_ERROR;
	}
	return PATRONI_OK;
}

enum patroni_result patroni_patch_config(const char *url, const json_t *body)
{
	char *payload = json_dumps(body, JSON_COMPACT);
	json_t *answer = NULL;
	enum patroni_result rc = payload ? request(url, "config", "PATCH", payload, &answer)
					 : PATRONI_ERROR;

	json_decref(answer);
	free(payload);
	return rc;
}

/* {"postgresql":{"parameters":{...}}}: the new values, or the prior ones
 * (null removes a key Patroni's configuration did not have). */
json_t *patroni_patch_body(const struct changeset *cs, bool undo)
{
	json_t *params = json_object();

	for (size_t i = 0; i < cs->n; i++) {
		const struct param *p = &cs->params[i];
		if (param_unchanged(p))
			continue;
		if (!undo)
			json_object_set_new(params, p->name, json_string(p->to));
		else
			json_object_set_new(params, p->name,
					    p->in_dcs && p->dcs_value ? json_string(p->dcs_value) : json_null());
	}
	return json_pack("{s:{s:o}}", "postgresql", "parameters", params);
}

/* A JSON scalar as PostgreSQL would read it; NULL for anything else. */
char *patroni_json_value(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return pgx_xstrdup(json_string_value(v));
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "on" : "off");
	else
		return NULL;
	return pgx_xstrdup(buf);
}

