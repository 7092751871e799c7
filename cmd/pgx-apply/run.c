/* run.c - apply and roll back: record first, change, reload, verify, undo */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "apply.h"

enum seen { SEEN_NONE, SEEN_LIVE, SEEN_PENDING_RESTART, SEEN_OTHER };

/* The value as SQL literals: one, or one per item for the list parameters
 * ALTER SYSTEM would otherwise quote whole ('a, b' becoming "a, b"). */
static char *value_literals(PGconn *conn, const struct param *p, const char *value)
{
	size_t n = 0, len = 1;
	char **items = value_is_quoted_list(p->name) ? value_list_items(p->name, value, &n) : NULL;
	char *out, *lit;

	if (!items || !n) {
		if (items)
			value_list_free(items, n);
		lit = PQescapeLiteral(conn, value, strlen(value));
		out = lit ? pgx_xstrdup(lit) : NULL;
		PQfreemem(lit);
		return out;
	}
	out = pgx_xstrdup("");
	for (size_t i = 0; i < n && out; i++) {
		if (!(lit = PQescapeLiteral(conn, items[i], strlen(items[i])))) {
			free(out);
			out = NULL;
			break;
		}
		len += strlen(lit) + 2;
		out = pgx_xrealloc(out, len);
		strcat(strcat(out, i ? ", " : ""), lit);
		PQfreemem(lit);
	}
	value_list_free(items, n);
	return out;
}

/* ALTER SYSTEM SET name = 'value', or RESET when value is NULL; the name as
 * pg_settings spells it, both escaped by libpq. */
static bool alter_system(PGconn *conn, struct param *p, const char *value)
{
	char *ident = PQescapeIdentifier(conn, p->name, strlen(p->name));
	char *lit = value ? value_literals(conn, p, value) : NULL;
	char *sql, *msg;
	PGresult *res = NULL;
	bool ok = false;

	if (ident && (!value || lit)) {
		sql = pgx_xmalloc(strlen(ident) + (lit ? strlen(lit) : 0) + 48);
		if (lit)
			sprintf(sql, PGX_SQL_MARK "ALTER SYSTEM SET %s = %s", ident, lit);
		else
			sprintf(sql, PGX_SQL_MARK "ALTER SYSTEM RESET %s", ident);
		res = PQexec(conn, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		free(sql);
	}
	if (!ok) {
		msg = pgx_pq_error_line(conn, res, PGX_PQ_DETAIL | PGX_PQ_HINT);
		set_str(&p->reason, msg);
		free(msg);
	}
	PQclear(res);
	PQfreemem(ident);
	free(lit);
	return ok;
}

static bool reload(PGconn *conn, char **why)
{
	PGresult *res = PQexec(conn, PGX_SQL_MARK "SELECT pg_catalog.pg_reload_conf()");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		*why = pgx_pq_error_line(conn, res, PGX_PQ_DETAIL | PGX_PQ_HINT);
	PQclear(res);
	return ok;
}

/* What a new session sees of one parameter. */
static enum seen look(PGconn *conn, const struct param *p, const char *expect, char **shown)
{
	const char *args[1] = { p->name };
	PGresult *res = PQexecParams(conn, PGX_SQL_MARK "SELECT setting, pending_restart, current_setting(name),"
				     " reset_val FROM pg_catalog.pg_settings WHERE name = $1",
				     1, NULL, args, NULL, NULL, 0);
	enum seen s = SEEN_OTHER;

	/* A string's setting may be dressed by a show hook (archive_command shows
	 * "(disabled)"); reset_val is the configured value itself. */
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		set_str(shown, PQgetvalue(res, 0, 2));
		if (value_matches(p, PQgetvalue(res, 0, 0), expect) ||
		    (!strcmp(p->vartype, "string") && value_matches(p, PQgetvalue(res, 0, 3), expect)))
			s = SEEN_LIVE;
		else if (p->restart && !strcmp(PQgetvalue(res, 0, 1), "t"))
			s = SEEN_PENDING_RESTART;
	}
	PQclear(res);
	return s;
}

/* Poll from new sessions (pg_reload_conf() is asynchronous) until every
 * parameter shows its expected value, or waits for a restart, or time is up.
 * expect[i] NULL skips a parameter.  Returns how many did not get there. */
static size_t verify(const char *dsn, struct changeset *cs, char **expect, enum seen *seen,
		     char **shown, double wait_s, bool undoing)
{
	double deadline = pgx_now() + wait_s;
	size_t missing;
	PGconn *conn;

	for (;;) {
		missing = 0;
		if (!(conn = cluster_probe_session(dsn)))
			return cs->n;
		for (size_t i = 0; i < cs->n; i++) {
			if (!expect[i] || seen[i] == SEEN_LIVE)
				continue;
			seen[i] = look(conn, &cs->params[i], expect[i], &shown[i]);
			missing += seen[i] != SEEN_LIVE;
		}
		PQfinish(conn);
		/* a postmaster parameter waiting for a restart is as far as it gets */
		for (size_t i = 0; i < cs->n; i++)
			if (expect[i] && seen[i] == SEEN_PENDING_RESTART)
				missing--;
		/* an undo runs to its end even after SIGINT: it is what SIGINT asked for */
		if (!missing || pgx_now() >= deadline || (pgx_stop_signal && !undoing))
			return missing;
		usleep(200000);
	}
}

#ifdef PGX_TEST_HOOKS
/* Sleep after N parameters: lets the tests kill an apply in its middle.
 * Only the copy `make check` builds has it: an installed pgx-apply must
 * not stall in the middle of a change because of a variable. */
static void test_pause(size_t done)
{
	const char *env = getenv("PGX_APPLY_TEST_PAUSE_AFTER");

	if (!env || (size_t)atol(env) != done)
		return;
	pgx_info("test pause after %zu parameter(s) (PGX_APPLY_TEST_PAUSE_AFTER)", done);
	for (int i = 0; i < 600 && !pgx_stop_signal; i++)
		usleep(100000);
}
#else
static void test_pause(size_t done)
{
}
#endif

/* The value pg_settings shows once a parameter is back to where it was. */
static char *prior_expect(const struct cluster *c, const struct changeset *cs,
			  const struct param *p)
{
	const char *prior = !strcmp(cs->method, "patroni") ? (p->in_dcs ? p->dcs_value : NULL)
							  : (p->in_auto_conf ? p->auto_value : NULL);
	char *out = NULL, *why = NULL;

	if (!prior)
		return p->from_setting ? pgx_xstrdup(p->from_setting) : NULL;
	if (!value_normalize(p, prior, &out, &why))
		out = pgx_xstrdup(prior);
	free(why);
	return out;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Send the prior values: one PATCH, or ALTER SYSTEM newest first and a reload.
 * A parameter that could not be sent is marked failed; false if any. */
static bool send_prior(struct cluster *c, struct changeset *cs, size_t count,
		       const struct apply_opts *o)
{
	const char *url = o->patroni_url ? o->patroni_url : cs->patroni_url;
	char *why = NULL;
	bool ok = true;

	if (!strcmp(cs->method, "patroni")) {
		json_t *body = patroni_patch_body(cs, true);
		enum patroni_result rc = url ? patroni_patch_config(url, body) : PATRONI_ERROR;
		ok = rc == PATRONI_OK;
		c->patroni_denied = rc == PATRONI_DENIED;
		json_decref(body);
		if (!ok)
			why = pgx_xstrdup(rc == PATRONI_DENIED ? "PATCH /config: credentials missing or refused"
							       : "PATCH /config failed");
	} else if (c->conn || (c->conn = cluster_new_session(c->dsn, false))) {
		for (size_t i = count; i-- > 0;) {
			struct param *p = &cs->params[i];
			if (param_unchanged(p))
				continue;
			if (!alter_system(c->conn, p, p->in_auto_conf ? p->auto_value : NULL)) {
				set_str(&p->action, "failed");
				ok = false;
			}
		}
		if (!reload(c->conn, &why))
			ok = false;
		pgx_pq_finish(c->conn);
		c->conn = NULL;
	} else {
		ok = false;
		why = pgx_xstrdup("cannot connect");
	}
	for (size_t i = 0; i < count && why; i++)
		if (!param_unchanged(&cs->params[i]) &&
		    (!cs->params[i].action || strcmp(cs->params[i].action, "failed"))) {
			set_str(&cs->params[i].action, "failed");
			set_str(&cs->params[i].reason, why);
		}
	free(why);
	return ok;
}

/* Put parameters [0, count) back as they were; verify.  Actions become
 * rolled_back or pending_restart, or failed with the reason. */
static bool restore(struct cluster *c, struct changeset *cs, size_t count, const struct apply_opts *o,
		    bool undo)
{
	char **expect = calloc(cs->n, sizeof(char *)), **shown = calloc(cs->n, sizeof(char *));
	enum seen *seen = calloc(cs->n, sizeof(enum seen));
	bool ok;
	char buf[512];

	if (!expect || !shown || !seen)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < count; i++)
		if (!param_unchanged(&cs->params[i]))
			set_str(&cs->params[i].action, "restoring");
	ok = send_prior(c, cs, count, o);
	for (size_t i = 0; i < count; i++)
		if (!strcmp(cs->params[i].action, "restoring"))
			expect[i] = prior_expect(c, cs, &cs->params[i]);
	verify(c->dsn, cs, expect, seen, shown, o->wait_s, true);
	for (size_t i = 0; i < count; i++) {
		struct param *p = &cs->params[i];
		if (!expect[i])
			continue;
		if (seen[i] == SEEN_LIVE) {
			set_str(&p->action, "rolled_back");
			if (!undo)
				set_str(&p->reason, NULL);
		} else if (seen[i] == SEEN_PENDING_RESTART) {
			set_str(&p->action, "pending_restart");
			set_str(&p->reason, "prior value restored in the configuration; takes effect at restart");
		} else {
			snprintf(buf, sizeof(buf), "after the reload the server shows '%s', expected '%s'",
				 shown[i] ? shown[i] : "?", expect[i]);
			set_str(&p->action, "failed");
			set_str(&p->reason, buf);
			ok = false;
		}
	}
	free_strs(expect, cs->n);
	free_strs(shown, cs->n);
	free(seen);
	return ok;
}

static bool save_status(const char *dir, struct changeset *cs, const char *status)
{
	set_str(&cs->status, status);
	cs->updated = pgx_now();
	return state_save(dir, cs);
}

/* ALTER SYSTEM each parameter, saving progress; how many were attempted. */
static size_t change_alter_system(struct cluster *c, struct changeset *cs, const char *dir,
				  bool *ok)
{
	size_t i;
	char *why = NULL;

	*ok = true;
	for (i = 0; i < cs->n && *ok; i++) {
		struct param *p = &cs->params[i];
		if (param_unchanged(p))
			continue;
		if (pgx_stop_signal) {
			set_str(&p->reason, "interrupted");
			*ok = false;
			break;
		}
		*ok = alter_system(c->conn, p, p->to);
		set_str(&p->action, *ok ? "applied" : "failed");
		*ok = save_status(dir, cs, "applying") && *ok;
		test_pause(i + 1);
	}
	if (*ok && !reload(c->conn, &why)) {
		*ok = false;
		set_str(&cs->params[cs->n - 1].reason, why);
	}
	free(why);
	return i;
}

static size_t change_patroni(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
			     bool *ok)
{
	json_t *body = patroni_patch_body(cs, false);
	enum patroni_result rc = patroni_patch_config(o->patroni_url, body);

	*ok = rc == PATRONI_OK;
	c->patroni_denied = rc == PATRONI_DENIED;
	json_decref(body);
	for (size_t i = 0; i < cs->n; i++)
		if (!param_unchanged(&cs->params[i])) {
			set_str(&cs->params[i].action, *ok ? "applied" : "failed");
			if (c->patroni_denied)
				set_str(&cs->params[i].reason, "PATCH /config: credentials missing or refused");
		}
	test_pause(cs->n);
	return *ok ? cs->n : 0;
}

/* Mark what verification saw; false if some value did not arrive. */
static bool judge(struct changeset *cs, enum seen *seen, char **shown)
{
	bool ok = true;
	char buf[512];

	for (size_t i = 0; i < cs->n; i++) {
		struct param *p = &cs->params[i];
		if (param_unchanged(p))
			continue;
		if (seen[i] == SEEN_LIVE)
			set_str(&p->action, "verified");
		else if (seen[i] == SEEN_PENDING_RESTART) {
			set_str(&p->action, "pending_restart");
			set_str(&p->reason, "context 'postmaster': takes effect at the next restart");
		} else {
			snprintf(buf, sizeof(buf), "after the reload the server shows '%s', expected '%s'",
				 shown[i] ? shown[i] : "?", p->to);
			set_str(&p->action, "failed");
			set_str(&p->reason, buf);
			ok = false;
		}
	}
	return ok;
}

/* The changeset is on disk before the first change; a failure undoes what was done. */
int run_apply(struct cluster *c, struct changeset *cs, const struct apply_opts *o, const char *dir)
{
	char **expect = calloc(cs->n + 1, sizeof(char *)), **shown = calloc(cs->n + 1, sizeof(char *));
	enum seen *seen = calloc(cs->n + 1, sizeof(enum seen));
	bool patroni = !strcmp(cs->method, "patroni"), ok;
	size_t done;
	int status = PGX_EXIT_OK;

	if (!expect || !shown || !seen)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	if (!save_status(dir, cs, "applying"))
		status = PGX_EXIT_INTERNAL;
	else {
		done = patroni ? change_patroni(c, cs, o, &ok) : change_alter_system(c, cs, dir, &ok);
		pgx_pq_finish(c->conn);
		c->conn = NULL;
		if (ok) {
			for (size_t i = 0; i < cs->n; i++)
				expect[i] = param_unchanged(&cs->params[i]) ? NULL : cs->params[i].expect;
			verify(c->dsn, cs, expect, seen, shown, o->wait_s, false);
			ok = judge(cs, seen, shown) && !pgx_stop_signal;
		}
		if (ok)
			save_status(dir, cs, "applied");
		else {
			if (done || !c->patroni_denied)	/* denied: Patroni's error says it all */
				pgx_error("changeset %s failed; undoing the %zu change(s) made", cs->id, done);
			for (size_t i = done; i < cs->n; i++)
				if (!param_unchanged(&cs->params[i]))
					set_str(&cs->params[i].action, "skipped");
			if (done && !restore(c, cs, done, o, true))
				pgx_error("undo incomplete: run 'pgx-apply rollback %s'", cs->id);
			save_status(dir, cs, "failed");
			status = pgx_stop_signal ? PGX_EXIT_INTERRUPTED : c->patroni_denied ?
				 PGX_EXIT_PRIVILEGE : PGX_EXIT_FAILED;
		}
	}
	for (size_t i = 0; i < cs->n; i++)
		free(shown[i]);
	free(shown);
	free(expect);
	free(seen);
	return status;
}

static bool took_effect(const struct param *p)
{
	static const char *const done[] = { "applied", "verified", "pending_restart", NULL };

	for (int i = 0; p->action && done[i]; i++)
		if (!strcmp(p->action, done[i]))
			return true;
	return false;
}

/* True when the server has neither the changeset's value nor the prior one:
 * someone changed it since, and a rollback would silently lose that. */
static bool drifted(struct cluster *c, const struct changeset *cs, struct param *p)
{
	const char *args[1] = { p->name };
	PGresult *res = PQexecParams(c->probe, PGX_SQL_MARK "SELECT setting, current_setting(name) FROM"
				     " pg_catalog.pg_settings WHERE name = $1", 1, NULL, args, NULL, NULL, 0);
	char *prior = prior_expect(c, cs, p), buf[1024];
	bool moved = false;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && p->expect && prior) {
		const char *setting = PQgetvalue(res, 0, 0);
		moved = !value_matches(p, setting, p->expect) && !value_matches(p, setting, prior) &&
			!(p->from_setting && value_matches(p, setting, p->from_setting));
		if (moved) {
			snprintf(buf, sizeof(buf), "changed since the apply: the server has '%s', the changeset "
				 "set '%s', before it was '%s'", PQgetvalue(res, 0, 1), p->to,
				 p->in_auto_conf && p->auto_value ? p->auto_value : p->from ? p->from : "?");
			pgx_error("%s %s", p->name, buf);
			set_str(&p->action, "conflict");
			set_str(&p->reason, buf);
		}
	}
	PQclear(res);
	free(prior);
	return moved;
}

/* Three-way: how many parameters moved on since the apply (reported). */
size_t run_conflicts(struct cluster *c, struct changeset *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		if (took_effect(&cs->params[i]))
			n += drifted(c, cs, &cs->params[i]);
	if (n)
		pgx_hint("nothing was rolled back; --force rolls back anyway and loses the later value%s",
			 n == 1 ? "" : "s");
	return n;
}

int run_rollback(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
		 const char *dir)
{
	bool ok;

	if (!strcmp(cs->method, "patroni") && !o->patroni_url && !cs->patroni_url)
		pgx_die(PGX_EXIT_USAGE, "changeset %s went through Patroni: give --patroni URL", cs->id);
	if (!save_status(dir, cs, "rolling_back"))
		return PGX_EXIT_INTERNAL;
	pgx_pq_finish(c->conn);
	c->conn = NULL;
	ok = restore(c, cs, cs->n, o, false);
	save_status(dir, cs, ok ? "rolled_back" : "rollback_failed");
	return ok ? PGX_EXIT_OK : c->patroni_denied ? PGX_EXIT_PRIVILEGE : PGX_EXIT_FAILED;
}
