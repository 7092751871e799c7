/* pipeline.c - a pass's queries sent in one go (libpq pipeline mode), read in order */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* A pass runs each section's collect() twice.  The first time, with
 * pipeline.recording set, section_query_typed() only notes the query; then
 * every noted query goes out at once, each followed by a sync point, so each
 * runs in its own implicit transaction (its own statement_timeout; an error
 * ends that query only), and the server works through them back to back
 * instead of waiting for a round trip per section.  The second time,
 * section_query_typed() reads the result of the query it asks for.  Results
 * are read in the order sent, so normally one is in memory at a time; a
 * query that was not noted (collect took another path) first drains the
 * pipeline and then runs on its own.
 *
 * Each query is a statement prepared once per session: the first pass sends
 * its Parse (PQsendPrepare) in front of its execution, in the same sync
 * segment; later passes only execute it, so a warm --interval session does
 * not parse, analyze and (once the plan cache settles on a generic plan)
 * plan 20 large catalog queries every pass.  The server revalidates a
 * prepared statement itself when what it reads changes (DDL, an extension
 * dropped and created again).  A new session starts with none (a restart
 * ends the session: poll_disconnect forgets them).  Should the server not
 * know a statement (a pooler that switched server connections) or refuse its
 * cached plan (a view whose columns changed), that query runs again
 * unprepared, on its own, and is prepared anew next pass.
 *
 * With --jobs, the main session has others beside it (run.c), each a lane
 * of its own: the pass's queries are shared out by their cost, each lane
 * pipelines its share, and the servers' backends work through them at once.
 * A query's cost is what it took in the passes before (every lane's results
 * are read as they arrive, so each is timed from the one before it on its
 * lane), or, in the first pass, its section's in sections.c.  Results are
 * still taken in pass order.  A query whose session beside failed runs again
 * on the main session; that session is closed after the pass (pc->lost). */

struct queued_query {
	const char *tag;		/* the section's name, in a comment after the mark */
	char *sql;
	int nparams;
	Oid *types;			/* NULL: untyped */
	char **params;
	PGresult *res;			/* read ahead of its turn, not yet taken */
	double ms;			/* read this long after its lane's query before it
					 * (or its sending); -1: not timed */
	size_t lane;			/* the session it runs on: pl->lane[lane] */
	bool sent;
	bool taken;
	bool prepare_sent;		/* prepared in this pass, before its execution */
	bool timeouts_sent;		/* its transaction's timeouts, before its execution */
	char stmt[24];			/* prepared statement name */
};

/* SQLSTATEs of a prepared statement the server no longer runs as prepared:
 * unknown to this server connection, or its cached plan would change its
 * result type. */
#define SQLSTATE_INVALID_SQL_STATEMENT_NAME "26000"
#define SQLSTATE_FEATURE_NOT_SUPPORTED "0A000"

/* NULL stays NULL (untyped). */
static Oid *copy_types(int n, const Oid *types)
{
	return types ? memcpy(pgx_xmalloc(n * sizeof(*types)), types, n * sizeof(*types)) : NULL;
}

static bool same_statement(const char *sql1, int n1, const Oid *types1, const char *sql2, int n2,
			   const Oid *types2)
{
	if (n1 != n2 || !types1 != !types2 || strcmp(sql1, sql2))
		return false;
	return !types1 || !memcmp(types1, types2, n1 * sizeof(*types1));
}

static struct prepared_stmt *prepared_find(struct poll_conn *pc, const struct queued_query *q)
{
	for (size_t i = 0; i < pc->n_prepared; i++) {
		struct prepared_stmt *p = &pc->prepared[i];

		if (same_statement(p->sql, p->nparams, p->types, q->sql, q->nparams, q->types))
			return p;
	}
	return NULL;
}

static struct prepared_stmt *prepared_add(struct poll_conn *pc, const struct queued_query *q)
{
	struct prepared_stmt *p;

	pc->prepared = pgx_xrealloc(pc->prepared, (pc->n_prepared + 1) * sizeof(*pc->prepared));
	p = &pc->prepared[pc->n_prepared++];
	p->sql = pgx_xstrdup(q->sql);
	p->nparams = q->nparams;
	p->types = copy_types(q->nparams, q->types);
	snprintf(p->name, sizeof(p->name), "pgx_poll_%lu", ++pc->prepared_serial);
	return p;
}

/* Forget one statement (it failed to prepare, or the server lost it). */
static void prepared_forget(struct poll_conn *pc, const char *name)
{
	for (size_t i = 0; i < pc->n_prepared; i++) {
		struct prepared_stmt *p = &pc->prepared[i];

		if (strcmp(p->name, name))
			continue;
		free(p->sql);
		free(p->types);
		pc->prepared[i] = pc->prepared[--pc->n_prepared];
		return;
	}
}

void prepared_forget_all(struct poll_conn *pc)
{
	for (size_t i = 0; i < pc->n_prepared; i++) {
		free(pc->prepared[i].sql);
		free(pc->prepared[i].types);
	}
	free(pc->prepared);
	pc->prepared = NULL;
	pc->n_prepared = 0;
}

static char **copy_params(int n, const char *const *params)
{
	char **out = pgx_xmalloc((n ? n : 1) * sizeof(*out));

	for (int i = 0; i < n; i++)
		out[i] = params[i] ? pgx_xstrdup(params[i]) : NULL;
	return out;
}

void pipeline_note(struct pipeline *pl, const char *tag, const char *sql, int nparams,
		   const Oid *types, const char *const *params)
{
	struct queued_query *q;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 32;
		pl->q = pgx_xrealloc(pl->q, pl->cap * sizeof(*pl->q));
	}
	q = &pl->q[pl->n++];
	memset(q, 0, sizeof(*q));
	q->tag = tag;
	q->ms = -1;
	q->sql = pgx_xstrdup(sql);
	q->nparams = nparams;
	q->params = copy_params(nparams, params);
	q->types = copy_types(nparams, types);
}

/* Through a pooler the server still ends a query at --statement-timeout or
 * --lock-timeout, as on a session of pgx's own. */
void pipeline_local_timeouts(struct pipeline *pl, const struct poll_opts *o)
{
	pl->timeouts_sql = sql_timeouts_local(o->statement_timeout_ms, o->lock_timeout_ms);
}

/* Write what libpq buffered, reading meanwhile so the server never blocks
 * on a full socket while we block on ours. */
static bool flush_all(PGconn *conn)
{
	int r;

	while ((r = PQflush(conn)) == 1) {
		struct pollfd p = { .fd = PQsocket(conn), .events = POLLIN | POLLOUT };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return false;
		if ((p.revents & POLLIN) && !PQconsumeInput(conn))
			return false;
	}
	return r == 0;
}

/* Everything up to a sync point is one transaction (an implicit one), and
 * set_config(..., true) lasts until its end: a pooler may give the next
 * transaction's server connection to another client, but not this one's. */
static bool send_timeouts(struct poll_conn *pc, const struct pipeline *pl, struct queued_query *q)
{
	char *sql = pgx_sql_marked_as(q->tag, pl->timeouts_sql);

	q->timeouts_sent = PQsendQueryParams(pc->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	free(sql);
	return q->timeouts_sent;
}

/* Through a pooler: the query's timeouts, then the query as the unnamed
 * statement, which the next one replaces; then its sync point. */
static bool send_unnamed(struct poll_conn *pc, const struct pipeline *pl, struct queued_query *q)
{
	char *sql = pgx_sql_marked_as(q->tag, q->sql);
	bool sent = send_timeouts(pc, pl, q) &&
		    PQsendQueryParams(pc->conn, sql, q->nparams, q->types,
				      (const char *const *)q->params, NULL, NULL, 0) &&
		    PQpipelineSync(pc->conn);

	free(sql);
	return sent;
}

/* The query's execution, after its Parse when the session has not prepared
 * it yet; then its sync point.  Through a pooler nothing is prepared: a
 * named statement would stay on a server connection other clients share,
 * and the next pgx-poll there would find its name taken. */
static bool send_prepared(struct poll_conn *pc, const struct pipeline *pl, struct queued_query *q)
{
	struct prepared_stmt *p;

	if (pc->pooled)
		return send_unnamed(pc, pl, q);
	if (!(p = prepared_find(pc, q))) {
		char *sql = pgx_sql_marked_as(q->tag, q->sql);

		p = prepared_add(pc, q);
		q->prepare_sent = PQsendPrepare(pc->conn, p->name, sql, q->nparams, q->types);
		free(sql);
		if (!q->prepare_sent) {
			prepared_forget(pc, p->name);
			return false;
		}
	}
	snprintf(q->stmt, sizeof(q->stmt), "%s", p->name);
	if (PQsendQueryPrepared(pc->conn, q->stmt, q->nparams, (const char *const *)q->params,
				NULL, NULL, 0) && PQpipelineSync(pc->conn))
		return true;
	if (q->prepare_sent)	/* its Parse may or may not have gone out */
		prepared_forget(pc, q->stmt);
	return false;
}

static struct stmt_cost *cost_find(const struct poll_conn *pc, const char *sql)
{
	for (size_t i = 0; i < pc->n_costs; i++)
		if (!strcmp(pc->costs[i].sql, sql))
			return &pc->costs[i];
	return NULL;
}

/* A query's cost: what it took in the passes before (a running mean where
 * the last pass weighs as much as all before it), or else its part of its
 * section's cost in sections.c (the section's queries share it). */
static double query_cost(const struct pipeline *pl, const struct poll_conn *main, size_t i)
{
	const struct stmt_cost *learned = cost_find(main, pl->q[i].sql);
	const struct section *s;
	size_t same = 0;

	if (learned)
		return learned->ms;
	s = section_find(pl->q[i].tag, NULL);
	for (size_t k = 0; k < pl->n; k++)
		same += !strcmp(pl->q[k].tag, pl->q[i].tag);
	return (s && s->cost_ms > 0 ? s->cost_ms : 0.1) / (double)same;
}

/* After a pass: each query read whole on its lane updates its cost. */
static void learn_costs(const struct pipeline *pl, struct poll_conn *main)
{
	for (size_t i = 0; i < pl->n; i++) {
		const struct queued_query *q = &pl->q[i];
		struct stmt_cost *c;

		if (q->ms < 0)
			continue;
		if ((c = cost_find(main, q->sql))) {
			c->ms = (c->ms + q->ms) / 2;
			continue;
		}
		main->costs = pgx_xrealloc(main->costs, (main->n_costs + 1) * sizeof(*main->costs));
		main->costs[main->n_costs++] = (struct stmt_cost){ .sql = pgx_xstrdup(q->sql), .ms = q->ms };
	}
}

void stmt_costs_clear(struct poll_conn *pc)
{
	for (size_t i = 0; i < pc->n_costs; i++)
		free(pc->costs[i].sql);
	free(pc->costs);
	pc->costs = NULL;
	pc->n_costs = 0;
}

/* The costliest query first, each to the session with the least work so
 * far (the main one on a tie), so that the sessions finish together; each
 * runs its queries in pass order, the order they are taken in. */
static void share_out(struct pipeline *pl)
{
	double load[POLL_MAX_JOBS] = { 0 }, *cost = pgx_xmalloc((pl->n ? pl->n : 1) * sizeof(*cost));
	bool *placed = pgx_xmalloc((pl->n ? pl->n : 1) * sizeof(*placed));

	for (size_t i = 0; i < pl->n; i++) {
		cost[i] = query_cost(pl, pl->lane[0].pc, i);
		placed[i] = false;
		pl->q[i].lane = 0;
	}
	for (size_t k = 0; k < pl->n && pl->n_lanes > 1; k++) {
		size_t next = pl->n, lane = 0;

		for (size_t i = 0; i < pl->n; i++)
			if (!placed[i] && (next == pl->n || cost[i] > cost[next]))
				next = i;
		for (size_t l = 1; l < pl->n_lanes; l++)
			if (load[l] < load[lane])
				lane = l;
		pl->q[next].lane = lane;
		load[lane] += cost[next];
		placed[next] = true;
	}
	free(cost);
	free(placed);
}

/* A lane's queries out at once, each with its sync point. */
static void send_lane(struct pipeline *pl, size_t l)
{
	struct poll_conn *pc = pl->lane[l].pc;
	size_t i = 0;

	while (i < pl->n && pl->q[i].lane != l)
		i++;
	if (i == pl->n || !PQenterPipelineMode(pc->conn))
		return;
	PQsetnonblocking(pc->conn, 1);
	for (; i < pl->n; i++)
		if (pl->q[i].lane == l && !(pl->q[i].sent = send_prepared(pc, pl, &pl->q[i])))
			break;
	if (!flush_all(pc->conn))
		pl->lane[l].broken = true;
	PQsetnonblocking(pc->conn, 0);
}

static double monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The lane's first sent query at index from or after, or pl->n. */
static size_t lane_next(const struct pipeline *pl, size_t l, size_t from)
{
	while (from < pl->n && !(pl->q[from].lane == l && pl->q[from].sent))
		from++;
	return from;
}

static void lane_start(struct pipeline *pl, size_t l, size_t from)
{
	struct pipeline_lane *lane = &pl->lane[l];
	const struct queued_query *q;

	lane->next_read = lane_next(pl, l, from);
	if (lane->next_read == pl->n)
		return;
	q = &pl->q[lane->next_read];
	lane->stage = q->prepare_sent || q->timeouts_sent ? READ_BEFORE : READ_EXECUTE;
}

void pipeline_send(struct pipeline *pl, struct poll_conn *pc)
{
	pl->recording = false;
	pl->lane[0] = (struct pipeline_lane){ .pc = pc };
	pl->n_lanes = 1;
	for (size_t j = 0; j < pc->n_jobs && pl->n_lanes < POLL_MAX_JOBS; j++)
		pl->lane[pl->n_lanes++] = (struct pipeline_lane){ .pc = &pc->jobs[j] };
	share_out(pl);
	for (size_t l = 0; l < pl->n_lanes; l++) {
		send_lane(pl, l);
		pl->lane[l].since = monotonic_ms();
		lane_start(pl, l, 0);
	}
}

/* What was sent before the query's execution failed (or was never read). */
static bool before_failed(const struct queued_query *q, const PGresult *before)
{
	if (q->prepare_sent)
		return PQresultStatus(before) != PGRES_COMMAND_OK;
	return q->timeouts_sent && PQresultStatus(before) != PGRES_TUPLES_OK;
}

/* The lane's current query is read: its result is its execution's, or,
 * when its Parse or its timeouts failed, that error (the execution after it
 * was only aborted; a statement whose Parse failed is not the session's). */
static void lane_done(struct pipeline *pl, size_t l)
{
	struct pipeline_lane *lane = &pl->lane[l];
	struct queued_query *q = &pl->q[lane->next_read];
	double now = monotonic_ms();

	if (before_failed(q, lane->before_res)) {
		if (q->prepare_sent)
			prepared_forget(lane->pc, q->stmt);
		PQclear(lane->exec_res);
		q->res = lane->before_res;
	} else {
		PQclear(lane->before_res);
		q->res = lane->exec_res;
	}
	if (!lane->broken)
		q->ms = now - lane->since;
	lane->since = now;
	lane->before_res = lane->exec_res = NULL;
	lane_start(pl, l, lane->next_read + 1);
}

/* One PQgetResult of the lane's current query: each command's results end
 * with a NULL (the first result is the command's), and the query ends with
 * its sync point.  True when the query is read. */
static bool lane_step(struct pipeline_lane *lane, PGresult *r)
{
	PGresult **held = lane->stage == READ_BEFORE ? &lane->before_res : &lane->exec_res;

	if (lane->stage == READ_SYNC) {
		if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
			lane->broken = true;
		PQclear(r);
		return true;
	}
	if (!r)
		lane->stage = lane->stage == READ_BEFORE ? READ_EXECUTE : READ_SYNC;
	else if (!*held)
		*held = r;
	else
		PQclear(r);
	return false;
}

/* Whatever the lane's server has sent, read without waiting.  A lane that
 * fails ends its current query with what it had, and its others with no
 * result. */
static void lane_harvest(struct pipeline *pl, size_t l)
{
	struct pipeline_lane *lane = &pl->lane[l];
	PGconn *conn = lane->pc->conn;

	if (lane->next_read == pl->n)
		return;
	if (!PQconsumeInput(conn))
		lane->broken = true;
	while (!lane->broken && lane->next_read < pl->n && !PQisBusy(conn)) {
		if (lane_step(lane, PQgetResult(conn)))
			lane_done(pl, l);
		if (PQstatus(conn) == CONNECTION_BAD)
			lane->broken = true;
	}
	while (lane->broken && lane->next_read < pl->n)
		lane_done(pl, l);
}

/* Wait until query i is read, reading every lane's results as they come,
 * so that each query's time on its lane is known (learn_costs). */
static void await_query(struct pipeline *pl, size_t i)
{
	struct pipeline_lane *lane = &pl->lane[pl->q[i].lane];

	for (;;) {
		struct pollfd fds[POLL_MAX_JOBS];
		nfds_t n = 0;

		for (size_t l = 0; l < pl->n_lanes; l++)
			lane_harvest(pl, l);
		if (lane->next_read > i)
			return;
		for (size_t l = 0; l < pl->n_lanes; l++)
			if (pl->lane[l].next_read < pl->n)
				fds[n++] = (struct pollfd){ .fd = PQsocket(pl->lane[l].pc->conn),
							    .events = POLLIN };
		if (poll(fds, n, -1) < 0 && errno != EINTR)
			lane->broken = true;
	}
}

/* A statement prepared in an earlier pass that the server no longer runs
 * as prepared (see the top of this file). */
static bool lost_prepared(const struct queued_query *q)
{
	const char *state = PQresultErrorField(q->res, PG_DIAG_SQLSTATE);

	return !q->prepare_sent && state && (!strcmp(state, SQLSTATE_INVALID_SQL_STATEMENT_NAME) ||
					     !strcmp(state, SQLSTATE_FEATURE_NOT_SUPPORTED));
}

/* A session beside the main one failed with this query: its result is
 * that failure, and the main session runs it instead. */
static bool lost_beside(const struct pipeline *pl, const struct queued_query *q)
{
	return q->lane > 0 && pl->lane[q->lane].broken && PQresultStatus(q->res) != PGRES_TUPLES_OK;
}

/* Out of pipeline mode, every sent result of the lane read (and kept). */
static void drain(struct pipeline *pl, size_t l)
{
	PGconn *conn = pl->lane[l].pc->conn;

	while (pl->lane[l].next_read < pl->n)
		await_query(pl, pl->lane[l].next_read);
	if (!pl->lane[l].broken && PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		PQexitPipelineMode(conn);
}

static bool same_query(const struct queued_query *q, const char *sql, int nparams,
		       const Oid *types, const char *const *params)
{
	if (q->taken || !same_statement(q->sql, q->nparams, q->types, sql, nparams, types))
		return false;
	for (int i = 0; i < nparams; i++)
		if (!q->params[i] != !params[i] || (params[i] && strcmp(q->params[i], params[i])))
			return false;
	return true;
}

/* The result of a query noted and sent; false when the caller must run it
 * on the main session itself (drained first, out of pipeline mode). */
bool pipeline_take(struct pipeline *pl, const char *sql, int nparams, const Oid *types,
		   const char *const *params, PGresult **res)
{
	for (size_t i = 0; i < pl->n; i++) {
		struct queued_query *q = &pl->q[i];

		if (!same_query(q, sql, nparams, types, params))
			continue;
		if (!q->sent)
			break;
		await_query(pl, i);
		q->taken = true;
		if (lost_prepared(q) || lost_beside(pl, q)) {	/* run again, unprepared */
			if (lost_prepared(q))
				prepared_forget(pl->lane[q->lane].pc, q->stmt);
			PQclear(q->res);
			q->res = NULL;
			break;
		}
		*res = q->res;
		q->res = NULL;
		return true;
	}
	if (pl->n_lanes)
		drain(pl, 0);
	return false;
}

bool pipeline_broken(const struct pipeline *pl)
{
	return pl->n_lanes && pl->lane[0].broken;
}

/* After the pass: the results nobody took are read and dropped, unless a
 * signal ends the run (the server's next write to a closed socket ends the
 * rest).  A session beside the main one that failed is marked lost. */
void pipeline_finish(struct pipeline *pl)
{
	for (size_t l = 0; l < pl->n_lanes; l++) {
		if (!pgx_stop_signal)
			drain(pl, l);
		PQclear(pl->lane[l].before_res);
		PQclear(pl->lane[l].exec_res);
		if (l > 0 && (pl->lane[l].broken || PQstatus(pl->lane[l].pc->conn) != CONNECTION_OK))
			pl->lane[l].pc->lost = true;
	}
	if (pl->n_lanes > 1 && !pgx_stop_signal)
		learn_costs(pl, pl->lane[0].pc);
	for (size_t i = 0; i < pl->n; i++) {
		struct queued_query *q = &pl->q[i];

		PQclear(q->res);
		for (int p = 0; p < q->nparams; p++)
			free(q->params[p]);
		free(q->params);
		free(q->types);
		free(q->sql);
	}
	free(pl->q);
	free(pl->timeouts_sql);
	memset(pl, 0, sizeof(*pl));
}
