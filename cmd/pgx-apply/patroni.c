/* patroni.c - Patroni's REST API: GET /patroni and /config, PATCH /config */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "pgx.h"
#include "apply.h"

#define PATRONI_CONNECT_TIMEOUT_S 5L
#define PATRONI_TIMEOUT_S 20L

struct body { char *data; size_t len; };

static size_t collect(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct body *b = user;
	size_t n = size * nmemb;

	if (b->len + n > (8u << 20))	/* a /config answer is a few kB */
		return 0;
	b->data = pgx_xrealloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

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
	struct body b = { NULL, 0 };
	struct curl_slist *headers = NULL;
	char *shown = patroni_strip_credentials(base), url[4200], errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *curl = curl_easy_init();
	bool ok = false;

	if (out)
		*out = NULL;
	if (!curl)
		pgx_die(PGX_EXIT_INTERNAL, "cannot initialise libcurl");
	snprintf(url, sizeof(url), "%s%s%s", base,
		 base[0] && base[strlen(base) - 1] == '/' ? "" : "/", path);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, PATRONI_CONNECT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, PATRONI_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	if (payload)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		pgx_error("Patroni %s %s/%s failed: %s", method, shown, path,
			  *errbuf ? errbuf : curl_easy_strerror(rc));
	else if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status), status != 200)
		pgx_error("Patroni %s %s/%s answered HTTP %ld: %.200s", method, shown, path, status,
			  b.data ? b.data : "");
	else {
		ok = true;
		if (out && b.data)
			*out = json_loads(b.data, 0, NULL);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(b.data);
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

void patroni_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		pgx_die(PGX_EXIT_INTERNAL, "cannot initialise libcurl");
}

void patroni_cleanup(void)
{
	curl_global_cleanup();
}
