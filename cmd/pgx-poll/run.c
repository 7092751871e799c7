/* run.c - sessions (connect, probe, guard) and one pass over the selected sections */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* SIGINT cancels the running query (exit 130); SIGTERM lets it finish, bounded
 * by statement_timeout, so the current record is complete. */
static PGcancel *volatile cancel_handle;
static PGcancel *volatile job_cancel[POLL_MAX_JOBS];	/* the sessions beside it */

static void cancel_on_sigint(void)
{
	PGcancel *cancel = cancel_handle;
	char errbuf[256];

	if (pgx_stop_signal != SIGINT)
		return;
	if (cancel)
		PQcancel(cancel, errbuf, sizeof(errbuf));
	for (size_t i = 0; i < POLL_MAX_JOBS; i++)
		if ((cancel = job_cancel[i]))
			PQcancel(cancel, errbuf, sizeof(errbuf));
}

/* Server notices (a shutdown's WARNING) are not pgx-poll's to print: what
 * matters reaches the records as errors. */
static void ignore_notice(void *arg, const char *message)
{
}

/* The probe and the privilege guard are the session's setup, not sections:
 * without them nothing may run, so they get at least this long whatever
 * --statement-timeout says (the guard reads all of pg_attribute: 20 ms is
 * too little on 8,000 tables).  The sections' own timeout follows them. */
#define SETUP_TIMEOUT_MS 10000

static long setup_timeout_ms(const struct poll_opts *o)
{
	return o->statement_timeout_ms > SETUP_TIMEOUT_MS ? o->statement_timeout_ms
							  : SETUP_TIMEOUT_MS;
}

/* The probe (with the session settings), the privilege guard and then the
 * sections' statement_timeout in one round trip: three statements of one
 * simple query, three results.  A failure ends the query string, so the
 * timeout is lowered only when the guard passed.  Through a pooler nothing
 * is set for the session: the string, one transaction, starts with its own
 * timeouts instead, which end with it. */
static bool probe_and_guard(struct poll_conn *pc, const struct poll_opts *o, bool name_db,
			    int *status)
{
	char *probe = probe_sql(!pc->pooled), *sql = NULL, *before = NULL, after[64] = "";
	PGresult *res, *results[4] = { NULL, NULL, NULL, NULL };
	PGresult **probe_res = results + pc->pooled;
	size_t n = 0;
	bool ok = false;

	if (pc->pooled) {
		char *timeouts = sql_timeouts_local(setup_timeout_ms(o), o->lock_timeout_ms);

		before = sql_format(PGX_SQL_MARK "/* probe */ %s;\n", timeouts);
		free(timeouts);
	} else
		snprintf(after, sizeof(after), ";\n" PGX_SQL_MARK "SET statement_timeout = %ld",
			 o->statement_timeout_ms);
	if (asprintf(&sql, "%s" PGX_SQL_MARK "/* probe */ %s;\n" PGX_SQL_MARK "/* guard */ %s%s",
		     before ? before : "", probe, guard_sql(), after) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	free(probe);
	free(before);
	if (PQsendQuery(pc->conn, sql)) {
		while ((res = PQgetResult(pc->conn))) {
			if (n < 4)
				results[n++] = res;
			else
				PQclear(res);
		}
	}
	free(sql);
	*status = PGX_EXIT_CONNECT;
	/* a failed set_config is the first result, and ends the string */
	if (pc->pooled && PQresultStatus(results[0]) != PGRES_TUPLES_OK)
		probe_res = results;
	if (server_probe(pc, probe_res[0])) {
		if (probe_res[1])
			ok = privilege_guard(pc, probe_res[1], o->allow_privileged, name_db, status);
		else
			pgx_error("cannot check the role's privileges: %s", "connection lost");
	}
	if (ok && !pc->pooled && PQresultStatus(results[2]) != PGRES_COMMAND_OK) {
		pgx_error("cannot set statement_timeout: %s",
			  PQresultErrorField(results[2], PG_DIAG_MESSAGE_PRIMARY)
				  ? PQresultErrorField(results[2], PG_DIAG_MESSAGE_PRIMARY)
				  : "connection lost");
		*status = PGX_EXIT_CONNECT;
		ok = false;
	}
	for (size_t i = 0; i < 4; i++)
		PQclear(results[i]);
	return ok;
}

static struct pgx_pq_options session_options(const struct poll_opts *o, const char *dsn)
{
	return (struct pgx_pq_options){
		.dsn = dsn, .connect_timeout_s = 10,
		.statement_timeout_ms = (int)setup_timeout_ms(o),
		.lock_timeout_ms = (int)o->lock_timeout_ms, .read_only = true,
	};
}

static void session_ready(struct poll_conn *pc)
{
	pc->dbname = pgx_xstrdup(PQdb(pc->conn));
	PQsetNoticeProcessor(pc->conn, ignore_notice, NULL);
}

static char *session_dsn(PGconn *conn, const char *db, bool same_host);

/* The same server: pinned to its host and port, it could still be another
 * one that took them over since (a restart, a failover). */
static bool same_server(const struct poll_conn *a, const struct poll_conn *b)
{
	return a->srv.start_ts == b->srv.start_ts && a->srv.version_num == b->srv.version_num &&
	       a->srv.in_recovery == b->srv.in_recovery;
}

/* A session beside pc on the server pc reached, set up and guarded as pc
 * was; false when it could not be had, with *why (malloc'd). */
static bool connect_beside(struct poll_conn *job, const struct poll_conn *pc,
			   const struct poll_opts *o, const char *dsn, char **why)
{
	struct pgx_pq_options pq = session_options(o, dsn);
	int status;

	memset(job, 0, sizeof(*job));
	job->beside = true;
	pq.pooled = &job->pooled;
	if (!(job->conn = pgx_pq_connect_beside(&pq, why)))
		return false;
	session_ready(job);
	if (!probe_and_guard(job, o, false, &status))
		*why = pgx_xstrdup("its probe or privilege check failed");
	else if (!same_server(pc, job))
		*why = pgx_xstrdup("it reached another server");
	else
		return true;
	poll_disconnect(job);
	return false;
}

/* --jobs: the sessions beside the main one.  One that cannot be had (a
 * connection limit, say) is a warning, and the passes run on fewer. */
static void connect_jobs(struct poll_conn *pc, const struct poll_opts *o)
{
	char *dsn = session_dsn(pc->conn, PQdb(pc->conn), true), *why = NULL;

	pc->jobs = pgx_xmalloc((size_t)(o->jobs - 1) * sizeof(*pc->jobs));
	for (long i = 1; i < o->jobs; i++) {
		struct poll_conn *job = &pc->jobs[pc->n_jobs];

		if (!connect_beside(job, pc, o, dsn, &why)) {
			pgx_warn("--jobs=%ld: session %ld of %ld cannot be opened, passes run on %zu: %s",
				 o->jobs, i + 1, o->jobs, pc->n_jobs + 1, why);
			free(why);
			break;
		}
		job_cancel[pc->n_jobs++] = PQgetCancel(job->conn);
	}
	free(dsn);
}

bool poll_connect(struct poll_conn *pc, const struct poll_opts *o, const char *dsn, int *status)
{
	struct pgx_pq_options pq = session_options(o, dsn ? dsn : o->dsn);

	memset(pc, 0, sizeof(*pc));
	*status = PGX_EXIT_CONNECT;
	pq.pooled = &pc->pooled;
	pc->conn = pgx_pq_connect(&pq);
	if (!pc->conn)
		return false;
	session_ready(pc);
	cancel_handle = PQgetCancel(pc->conn);
	pgx_set_stop_hook(cancel_on_sigint);
	/* another database of --all-databases: the refusal names it */
	if (!probe_and_guard(pc, o, dsn != NULL, status)) {
		poll_disconnect(pc);
		return false;
	}
	if (!dsn && o->jobs > 1)
		connect_jobs(pc, o);
	return true;
}

static void close_session(struct poll_conn *pc)
{
	server_info_clear(&pc->srv);
	prepared_forget_all(pc);
	stmt_costs_clear(pc);
	settings_cache_clear(&pc->settings_cache);
	free(pc->dbname);
	memset(pc, 0, sizeof(*pc));
}

static void disconnect_job(struct poll_conn *pc, size_t i)
{
	PGcancel *cancel = job_cancel[i];

	job_cancel[i] = NULL;
	if (cancel)
		PQfreeCancel(cancel);
	PQfinish(pc->jobs[i].conn);
	close_session(&pc->jobs[i]);
}

static void disconnect_jobs(struct poll_conn *pc)
{
	for (size_t i = 0; i < pc->n_jobs; i++)
		disconnect_job(pc, i);
	free(pc->jobs);
	pc->jobs = NULL;
	pc->n_jobs = 0;
}

/* After a pass: a session beside the main one that failed is closed, and
 * the next passes run on the others. */
static void drop_lost_jobs(struct poll_conn *pc)
{
	size_t kept = 0, lost = 0;

	for (size_t i = 0; i < pc->n_jobs; i++) {
		if (pc->jobs[i].lost) {
			disconnect_job(pc, i);
			lost++;
			continue;
		}
		pc->jobs[kept] = pc->jobs[i];
		job_cancel[kept++] = job_cancel[i];
	}
	for (size_t i = kept; i < POLL_MAX_JOBS; i++)
		job_cancel[i] = NULL;
	pc->n_jobs = kept;
	if (lost)
		pgx_warn("%zu --jobs session%s lost: the next passes run on %zu", lost, lost > 1 ? "s" : "",
			 kept + 1);
}

void poll_disconnect(struct poll_conn *pc)
{
	PGcancel *cancel = cancel_handle;

	if (!pc->conn)
		return;
	if (pc->beside) {
		PQfinish(pc->conn);
		close_session(pc);
		return;
	}
	disconnect_jobs(pc);
	pgx_set_stop_hook(NULL);
	cancel_handle = NULL;
	if (cancel)
		PQfreeCancel(cancel);
	pgx_pq_finish(pc->conn);
	close_session(pc);
}

json_t *error_record(struct pass *ps, const char *section, const char *db,
		     const char *message)
{
	json_t *rec = pgx_record_new("error", pgx_now());

	json_object_set_new(rec, "cluster", json_string(ps->cluster));
	if (section)
		json_object_set_new(rec, "section", json_string(section));
	if (db)
		json_object_set_new(rec, "db", json_string(db));
	json_object_set_new(rec, "message", json_string(message));
	json_array_append_new(ps->out, rec);
	ps->errors++;
	return rec;
}

/* After a failed query: is the session still there?  libpq does not always
 * mark a connection bad when the server closed it in the middle of a query. */
bool connection_alive(PGconn *conn)
{
	PGresult *res;
	bool alive;

	if (PQstatus(conn) == CONNECTION_BAD)
		return false;
	res = PQexec(conn, PGX_SQL_MARK "SELECT 1");
	alive = PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	return alive && PQstatus(conn) == CONNECTION_OK;
}

/* In pipeline mode each query's sync point is read with its result: a
 * session that died on the way left the pipeline broken. */
static bool session_alive(PGconn *conn, const struct pipeline *pl)
{
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		return !pipeline_broken(pl) && PQstatus(conn) == CONNECTION_OK;
	return connection_alive(conn);
}

static const char *section_status(const struct section_run *run)
{
	if (run->failed)
		return "error";
	return run->missing ? "degraded" : "ok";
}

static void set_status(struct section_run *run, json_t *rec)
{
	json_object_set_new(rec, "status", json_string(section_status(run)));
	if (run->missing)
		json_object_set(rec, "missing", run->missing);
}

static void add_sql_record(struct pass *ps, const struct section *s, const char *text)
{
	json_t *rec = pgx_record_new("sql", pgx_now());

	json_object_set_new(rec, "section", json_string(s->name));
	json_object_set_new(rec, "text", text ? json_string(text) : json_null());
	json_array_append_new(ps->out, rec);
}

/* A section's SQL for this server, built once for both runs of collect(). */
struct section_sql {
	const char *text;		/* NULL: the section cannot run here */
	const char *why;		/* then why (static), or NULL */
	char *built;			/* build_sql's text, to free */
};

static void section_sql_build(const struct section *s, const struct server_info *srv,
			      struct section_sql *q)
{
	q->why = NULL;
	q->built = s->build_sql ? s->build_sql(srv, &q->why) : NULL;
	q->text = s->build_sql ? q->built : s->sql;
}

/* Collect one section into ps->out; notices a lost connection. */
static void run_section(struct pass *ps, const struct section *s, size_t idx,
			struct poll_conn *pc, struct pipeline *pl, const struct section_sql *q)
{
	struct section_run run = { .name = s->name, .pc = pc, .opts = ps->o, .sql = q->text,
				   .pipeline = pl };
	size_t i;
	json_t *r;

	run.rec = pgx_record_new(s->name, pgx_now());
	json_object_set_new(run.rec, "cluster", json_string(ps->cluster));
	if (s->per_database)
		json_object_set_new(run.rec, "db", json_string(pc->dbname));
	if (ps->o->with_sql && !(*ps->sql_shown & (1UL << idx))) {
		add_sql_record(ps, s, run.sql);
		*ps->sql_shown |= 1UL << idx;
	}
	if (run.sql)
		s->collect(&run);
	else
		section_missing(&run, s->name, "%s", q->why ? q->why : "not available on this server");
	if (run.records) {
		json_array_foreach(run.records, i, r) {
			set_status(&run, r);
			json_array_append(ps->out, r);
		}
		json_decref(run.records);
		json_decref(run.rec);
	} else {
		set_status(&run, run.rec);
		json_array_append_new(ps->out, run.rec);
	}
	json_array_append_new(ps->done, json_string(s->name));
	if (run.missing)
		json_array_append_new(ps->degraded, json_string(s->name));
	if (run.failed)
		ps->errors++;
	if (!s->needs_pgbouncer && run.failed && !session_alive(pc->conn, pl)) {
		char *msg = pgx_pq_error_line(pc->conn, NULL, 0), *line = NULL;

		if (asprintf(&line, "connection lost: %s", msg) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		error_record(ps, s->name, pc->dbname, line);
		ps->lost = true;
		free(line);
		free(msg);
	}
	json_decref(run.missing);
}

static bool selected(const struct pass *ps, size_t i, bool per_database)
{
	return (ps->mask & (1UL << i)) && poll_sections[i].per_database == per_database;
}

/* collect() with nothing run: its queries are noted in pl.  PgBouncer's
 * section talks to its own connection. */
static void note_queries(struct pass *ps, const struct section *s, struct poll_conn *pc,
			 struct pipeline *pl, const struct section_sql *q)
{
	struct section_run run = { .name = s->name, .pc = pc, .opts = ps->o, .sql = q->text,
				   .pipeline = pl };

	if (s->needs_pgbouncer || !q->text)
		return;
	run.rec = json_object();
	s->collect(&run);
	json_decref(run.rec);
	json_decref(run.missing);
	json_decref(run.records);
}

/* The selected sections of the given kinds in pass order (cluster-wide
 * first, each kind as listed) into order; returns how many. */
static size_t pass_order(const struct pass *ps, bool cluster_wide, bool per_database,
			 size_t order[])
{
	size_t n = 0;

	for (int per_db = 0; per_db < 2; per_db++)
		for (size_t i = 0; i < poll_n_sections; i++)
			if ((per_db ? per_database : cluster_wide) && selected(ps, i, per_db))
				order[n++] = i;
	return n;
}

/* The selected sections of the given kinds, their queries pipelined. */
static void run_sections(struct pass *ps, struct poll_conn *pc, bool cluster_wide,
			 bool per_database)
{
	struct pipeline pl = { .recording = true };
	size_t order[sizeof(ps->mask) * 8], n = pass_order(ps, cluster_wide, per_database, order);
	struct section_sql sql[sizeof(ps->mask) * 8];

	if (pc->pooled)
		pipeline_local_timeouts(&pl, ps->o);
	for (size_t k = 0; k < n; k++) {
		section_sql_build(&poll_sections[order[k]], &pc->srv, &sql[k]);
		note_queries(ps, &poll_sections[order[k]], pc, &pl, &sql[k]);
	}
	pipeline_send(&pl, pc);
	for (size_t k = 0; k < n && !ps->lost && !pgx_stop_signal; k++)
		run_section(ps, &poll_sections[order[k]], order[k], pc, &pl, &sql[k]);
	pipeline_finish(&pl);
	drop_lost_jobs(pc);
	for (size_t k = 0; k < n; k++)
		free(sql[k].built);
}

static bool any_selected(const struct pass *ps, bool per_database)
{
	for (size_t i = 0; i < poll_n_sections; i++)
		if (selected(ps, i, per_database))
			return true;
	return false;
}

/* A conninfo option of conn as a session beside it is to have it: on the
 * host and port conn reached, not the list it was given. */
static const char *same_host_option(PGconn *conn, const PQconninfoOption *p)
{
	if (!strcmp(p->keyword, "host"))
		return PQhost(conn);
	if (!strcmp(p->keyword, "port"))
		return PQport(conn);
	if (!strcmp(p->keyword, "hostaddr") && p->val && *p->val)
		return PQhostaddr(conn);
	return p->val;
}

/* The conninfo of conn with another dbname (the password stays in memory
 * only); same_host: on the host and port conn reached. */
static char *session_dsn(PGconn *conn, const char *db, bool same_host)
{
	PQconninfoOption *opts = PQconninfo(conn);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (PQconninfoOption *p = opts; p && p->keyword; p++) {
		const char *v = !strcmp(p->keyword, "dbname") ? db
			      : same_host ? same_host_option(conn, p) : p->val;

		if (!v || !*v)
			continue;
		fprintf(f, "%s='", p->keyword);
		for (; *v; v++) {
			if (*v == '\'' || *v == '\\')
				fputc('\\', f);
			fputc(*v, f);
		}
		fputs("' ", f);
	}
	fclose(f);
	PQconninfoFree(opts);
	return out;
}

/* Every database that takes connections: [name, grant] pairs, grant being
 * NULL, or the GRANT this role lacks to connect there. */
static json_t *databases(struct pass *ps, struct poll_conn *pc)
{
	PGresult *res = PQexec(pc->conn,
		PGX_SQL_MARK "SELECT datname, CASE WHEN NOT pg_catalog.has_database_privilege(oid, 'CONNECT')"
		"  THEN pg_catalog.format('GRANT CONNECT ON DATABASE %I TO %I;', datname, current_user)"
		"  END FROM pg_catalog.pg_database"
		" WHERE datallowconn AND NOT datistemplate ORDER BY datname");
	json_t *dbs = json_array();

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *msg = pgx_pq_error_line(pc->conn, res, 0);

		error_record(ps, NULL, pc->dbname, msg);
		free(msg);
	}
	for (int r = 0; PQresultStatus(res) == PGRES_TUPLES_OK && r < PQntuples(res); r++)
		json_array_append_new(dbs, json_pack("[s, s?]", PQgetvalue(res, r, 0),
						     PQgetisnull(res, r, 1) ? NULL
									    : PQgetvalue(res, r, 1)));
	PQclear(res);
	return dbs;
}

/* A database this role may not connect to: each per-database section is
 * there, degraded, with the GRANT that would give it its data. */
static void database_without_connect(struct pass *ps, const char *db, const char *role,
				     const char *grant)
{
	size_t order[sizeof(ps->mask) * 8], n = pass_order(ps, false, true, order);
	char *why = NULL;

	if (asprintf(&why, "role \"%s\" lacks CONNECT on database \"%s\": %s", role, db, grant) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t k = 0; k < n; k++) {
		const char *name = poll_sections[order[k]].name;
		json_t *rec = pgx_record_new(name, pgx_now());

		json_object_set_new(rec, "cluster", json_string(ps->cluster));
		json_object_set_new(rec, "db", json_string(db));
		json_object_set_new(rec, "status", json_string("degraded"));
		json_object_set_new(rec, "missing", json_pack("[{s:s, s:s}]", "what", name, "why", why));
		json_array_append_new(ps->out, rec);
		json_array_append_new(ps->done, json_string(name));
		json_array_append_new(ps->degraded, json_string(name));
	}
	free(why);
}

static void show_databases(struct pgx_progress *progress, size_t done, size_t all, const char *now)
{
	if (pgx_progress_due(progress))
		pgx_progress_show(progress, "databases: %zu of %zu done, now %s", done, all, now);
}

/* Every other database, one connection at a time: the main connection (and
 * its --jobs sessions) is closed first, the caller reconnects, so a pass
 * never holds more sessions than at its start.  The
 * DSNs are built from the main connection before it closes.  A database
 * where the guard refuses the role ends the pass (ps->refused): the caller
 * then writes nothing of it. */
static void run_other_databases(struct pass *ps, struct poll_conn *pc)
{
	json_t *dbs = databases(ps, pc), *db;
	size_t n = json_array_size(dbs), i;
	char **dsns = pgx_xmalloc((n ? n : 1) * sizeof(*dsns));
	char *main_db = pgx_xstrdup(pc->dbname), *role = pgx_xstrdup(PQuser(pc->conn));
	struct poll_conn other;
	struct pgx_progress progress;
	int status;

	json_array_foreach(dbs, i, db)
		dsns[i] = session_dsn(pc->conn, json_string_value(json_array_get(db, 0)), false);
	poll_disconnect(pc);
	pgx_progress_start(&progress, ps->o->progress);
	json_array_foreach(dbs, i, db) {
		const char *name = json_string_value(json_array_get(db, 0));

		show_databases(&progress, i, n, name);
		if (!strcmp(name, main_db) || pgx_stop_signal || ps->refused)
			;
		else if (json_is_string(json_array_get(db, 1)))
			database_without_connect(ps, name, role,
						 json_string_value(json_array_get(db, 1)));
		else if (poll_connect(&other, ps->o, dsns[i], &status)) {
			run_sections(ps, &other, false, true);
			poll_disconnect(&other);
			ps->lost = false;	/* this database's loss; go on */
		} else if (status == PGX_EXIT_PRIVILEGE)
			ps->refused = true;
		else
			error_record(ps, NULL, name, "cannot connect to this database");
		free(dsns[i]);
	}
	pgx_progress_end(&progress);
	free(dsns);
	free(main_db);
	free(role);
	json_decref(dbs);
}

/* One pass: cluster-wide sections, then per-database ones in this database
 * and, with --all-databases, in every other connectable one. */
void pass_run(struct pass *ps, struct poll_conn *pc)
{
	ps->start_ts = pc->srv.start_ts;
	run_sections(ps, pc, true, true);
	if (ps->lost || pgx_stop_signal)
		return;
	if (ps->o->all_databases && !ps->lost && any_selected(ps, true))
		run_other_databases(ps, pc);
}
