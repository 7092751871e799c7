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

/* One request; *out gets the JSON answer (NULL if none).  Reports failures. */
static bool request(const char *base, const char *path, const char *method, const char *payload,
		    json_t **out)
{
	char *shown = patroni_strip_credentials(base), url[4200], err[256];
	struct pgx_http_request req = {
		.method = method, .url = url, .json_body = payload,
		.connect_timeout_ms = PATRONI_CONNECT_TIMEOUT_MS, .timeout_ms = PATRONI_TIMEOUT_MS,
		.max_reply = 8u << 20,	/* a /config answer is a few kB */
	};
	struct pgx_http_reply reply;
	bool ok = false;

	if (out)
		*out = NULL;
	snprintf(url, sizeof(url), "%s%s%s", base,
		 base[0] && base[strlen(base) - 1] == '/' ? "" : "/", path);
	if (!pgx_http(&req, &reply, err, sizeof(err)))
		pgx_error("Patroni %s %s/%s failed: %s", method, shown, path, err);
	else if (reply.status != 200)
		pgx_error("Patroni %s %s/%s answered HTTP %ld: %.200s", method, shown, path,
			  reply.status, reply.body ? reply.body : "");
	else {
		ok = true;
		if (out && reply.body)
			*out = json_loads(reply.body, 0, NULL);
	}
	free(reply.body);
	free(shown);
	return ok;
}

bool patroni_get(const char *url, const char *path, json_t **out)
{
	if (!request(url, path, "GET", NULL, out))
		return false;
	if (!*out || !json_is_object(*out)) {
		char *shown = patroni_strip_credentials(url);
		pgx_error("Patroni GET %s/%s: the answer is not a JSON object", shown, path);
		free(shown);
		json_decref(*out);
		*out = NULL;
		return false;
	}
	return true;
}

bool patroni_patch_config(const char *url, const json_t *body)
{
	char *payload = json_dumps(body, JSON_COMPACT);
	json_t *answer = NULL;
	bool ok = payload && request(url, "config", "PATCH", payload, &answer);

	json_decref(answer);
	free(payload);
	return ok;
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

