/* settings.c - the server's current settings: from a pgx-poll settings
 * record, or read from pg_settings over a read-only session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "tune.h"

/* One query builds the settings record's shape, so both ways share one reader. */
static const char settings_sql[] =
	PGX_SQL_MARK "SELECT pg_catalog.json_build_object("
	" 'server_version_num', pg_catalog.current_setting('server_version_num')::int,"
	" 'settings', pg_catalog.json_agg(pg_catalog.json_build_object("
	"  'name', s.name, 'setting', s.setting, 'unit', s.unit, 'context', s.context,"
	"  'vartype', s.vartype, 'min_val', s.min_val, 'max_val', s.max_val,"
	"  'enumvals', s.enumvals, 'boot_val', s.boot_val, 'reset_val', s.reset_val,"
	"  'source', s.source, 'pending_restart', s.pending_restart) ORDER BY s.name))::text"
	" FROM pg_catalog.pg_settings s";

static int version_num(const json_t *v)
{
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_string(v))
		return atoi(json_string_value(v));
	return 0;
}

static bool is_local(const char *host)
{
	return !host || !*host || host[0] == '/' || strcmp(host, "localhost") == 0 ||
	       strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0;
}

/* pgx-poll labels its records "HOST:PORT" (a socket directory for a Unix
 * socket) unless given --cluster: a name says nothing about where it runs. */
static char *remote_origin(const json_t *rec)
{
	const char *label = pgx_rec_str(rec, "cluster"), *colon;
	char host[256], where[300];

	if (!label || !(colon = strrchr(label, ':')) || (size_t)(colon - label) >= sizeof(host)) {
		snprintf(where, sizeof(where), "cluster \"%s\"", label ? label : "(unlabelled)");
		return pgx_xstrdup(where);
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - label), label);
	if (is_local(host))
		return NULL;
	snprintf(where, sizeof(where), "host \"%s\"", host);
	return pgx_xstrdup(where);
}

bool settings_from_record(struct settings *s, json_t *rec, char *err, size_t errlen)
{
	json_t *list = json_object_get(rec, "settings"), *row, *rows;
	size_t i;

	if (!json_is_array(list)) {
		snprintf(err, errlen, "settings record without a \"settings\" array");
		return false;
	}
	rows = json_object();
	json_array_foreach(list, i, row) {
		const char *name = pgx_rec_str(row, "name");

		if (!name) {
			snprintf(err, errlen, "settings[%zu] has no \"name\" string", i);
			json_decref(rows);
			return false;
		}
		json_object_set(rows, name, row);
	}
	settings_free(s);
	s->rows = rows;
	s->version_num = version_num(json_object_get(rec, "server_version_num"));
	s->origin = "settings";
	s->remote = remote_origin(rec);
	return true;
}

bool settings_from_server(struct settings *s, const char *dsn, int *exit_code)
{
	struct pgx_pq_options pq = { .dsn = dsn, .connect_timeout_s = 10,
				     .statement_timeout_ms = 10000, .lock_timeout_ms = 1000,
				     .read_only = true };
	PGconn *conn = pgx_pq_connect(&pq);
	PGresult *res;
	json_t *rec = NULL;
	char err[256];
	bool ok = false;

	*exit_code = PGX_EXIT_CONNECT;
	if (!conn)
		return false;
	res = PQexec(conn, settings_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char *msg = pgx_pq_error_line(conn, res, 0);

		pgx_error("cannot read pg_settings: %s", msg);
		free(msg);
	} else if (!(rec = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
		pgx_error("cannot read pg_settings: the server's JSON did not parse");
		*exit_code = PGX_EXIT_INTERNAL;
	} else if (!settings_from_record(s, rec, err, sizeof(err))) {
		pgx_error("cannot read pg_settings: %s", err);
		*exit_code = PGX_EXIT_INTERNAL;
	} else {
		s->origin = "server";
		free(s->remote);
		s->remote = NULL;
		if (!is_local(PQhost(conn))) {
			snprintf(err, sizeof(err), "host \"%s\"", PQhost(conn));
			s->remote = pgx_xstrdup(err);
		}
		*exit_code = PGX_EXIT_OK;
		ok = true;
	}
	json_decref(rec);
	PQclear(res);
	pgx_pq_finish(conn);
	return ok;
}

void settings_free(struct settings *s)
{
	json_decref(s->rows);
	s->rows = NULL;
	free(s->remote);
	s->remote = NULL;
}

/* A field as text: pgx-poll writes strings; a number is accepted too. */
static const char *field(const json_t *row, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(row, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, len, "%.17g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "on" : "off";
	return NULL;
}

bool settings_lookup(const struct settings *s, const char *name, struct current *c)
{
	const json_t *row = s->rows ? json_object_get(s->rows, name) : NULL;
	json_t *ev;

	memset(c, 0, sizeof(*c));
	if (!row)
		return false;
	c->setting = field(row, "setting", c->buf[0], sizeof(c->buf[0]));
	c->min_val = field(row, "min_val", c->buf[1], sizeof(c->buf[1]));
	c->max_val = field(row, "max_val", c->buf[2], sizeof(c->buf[2]));
	c->unit = pgx_rec_str(row, "unit");
	c->context = pgx_rec_str(row, "context");
	c->vartype = pgx_rec_str(row, "vartype");
	c->source = pgx_rec_str(row, "source");
	c->pending_restart = json_is_true(json_object_get(row, "pending_restart"));
	ev = json_object_get(row, "enumvals");
	c->enumvals = json_is_array(ev) ? ev : NULL;
	return true;
}

/* pg_settings units of memory: "8kB" -> 8, "kB" -> 1, "MB" -> 1024, "B" -> 0. */
long long unit_kb(const char *unit)
{
	static const struct { const char *name; long long kb; } units[] = {
		{ "kB", 1 }, { "MB", KB_PER_MB }, { "GB", KB_PER_GB }, { "TB", KB_PER_GB * 1024 },
	};
	long long n = 1;
	char *end;

	if (!unit || !*unit)
		return 0;
	if (unit[0] >= '0' && unit[0] <= '9') {
		n = strtoll(unit, &end, 10);
		unit = end;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0)
			return n * units[i].kb;
	return 0;
}
