/* http.c - one HTTP request on libcurl, with timeouts and a bounded answer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "pgx.h"
#include "pgx_http.h"

struct collected {
	struct pgx_http_reply *reply;
	size_t max;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct collected *c = user;
	struct pgx_http_reply *r = c->reply;
	size_t n = size * nmemb;

	if (!c->max)
		return n;
	if (r->len + n > c->max)
		return 0;	/* libcurl then fails the transfer */
	r->body = pgx_xrealloc(r->body, r->len + n + 1);
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

void pgx_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		pgx_die(PGX_EXIT_INTERNAL, "cannot initialise libcurl");
}

void pgx_http_cleanup(void)
{
	curl_global_cleanup();
}

bool pgx_http(const struct pgx_http_request *req, struct pgx_http_reply *reply,
	      char *err, size_t errlen)
{
	struct collected c = { reply, req->max_reply };
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURL *curl = curl_easy_init();
	CURLcode rc;

	memset(reply, 0, sizeof(*reply));
	if (!curl) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return false;
	}
	/* no "Expect: 100-continue": a receiver that ignores it costs a second */
	hdr = curl_slist_append(hdr, "Expect:");
	if (req->json_body)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
	if (req->json_body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->json_body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
	else
		snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK;
}

char *pgx_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url, *end, *at;
	size_t prefix = (size_t)(host - url), hostlen;
	char *out;

	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	hostlen = (size_t)(end - host);
	out = pgx_xmalloc(prefix + hostlen + 5);
	memcpy(out, url, prefix);
	memcpy(out + prefix, host, hostlen);
	strcpy(out + prefix + hostlen, *end ? "/..." : "");
	return out;
}
