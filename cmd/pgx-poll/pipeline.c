/* pipeline.c - a pass's queries sent in one go (libpq pipeline mode), read in order */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
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
 * pipeline and then runs on its own. */

struct queued_query {
	char *sql;
	int nparams;
	Oid *types;			/* NULL: untyped */
	char **params;
	PGresult *res;			/* read ahead of its turn, not yet taken */
	bool taken;
};

static char **copy_params(int n, const char *const *params)
{
	char **out = pgx_xmalloc((n ? n : 1) * sizeof(*out));

	for (int i = 0; i < n; i++)
		out[i] = params[i] ? pgx_xstrdup(params[i]) : NULL;
	return out;
}

void pipeline_note(struct pipeline *pl, const char *sql, int nparams, const Oid *types,
		   const char *const *params)
{
	struct queued_query *q;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 32;
		pl->q = pgx_xrealloc(pl->q, pl->cap * sizeof(*pl->q));
	}
	q = &pl->q[pl->n++];
	memset(q, 0, sizeof(*q));
	q->sql = pgx_xstrdup(sql);
	q->nparams = nparams;
	q->params = copy_params(nparams, params);
	if (types) {
		q->types = pgx_xmalloc(nparams * sizeof(*q->types));
		memcpy(q->types, types, nparams * sizeof(*q->types));
	}
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

void pipeline_send(struct pipeline *pl, PGconn *conn)
{
	pl->recording = false;
	if (!pl->n || !PQenterPipelineMode(conn))
		return;
	PQsetnonblocking(conn, 1);
	for (; pl->sent < pl->n; pl->sent++) {
		struct queued_query *q = &pl->q[pl->sent];
		char *sql = pgx_sql_marked(q->sql);
		bool sent = PQsendQueryParams(conn, sql, q->nparams, q->types,
					      (const char *const *)q->params, NULL, NULL, 0) &&
			    PQpipelineSync(conn);

		free(sql);
		if (!sent)
			break;
	}
	if (!flush_all(conn))
		pl->broken = true;
	PQsetnonblocking(conn, 0);
}

/* One query's result (its first; a query sends one), then its sync point. */
static PGresult *read_one(struct pipeline *pl, PGconn *conn)
{
	PGresult *first = NULL, *r;

	while (!pl->broken && (r = PQgetResult(conn))) {
		if (!first)
			first = r;
		else
			PQclear(r);
		if (PQstatus(conn) == CONNECTION_BAD)
			pl->broken = true;
	}
	r = pl->broken ? NULL : PQgetResult(conn);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		pl->broken = true;
	PQclear(r);
	return first;
}

static void read_through(struct pipeline *pl, PGconn *conn, size_t last)
{
	for (; pl->read < pl->sent && pl->read <= last; pl->read++)
		pl->q[pl->read].res = read_one(pl, conn);
}

/* Out of pipeline mode, every sent result read (and kept). */
static void drain(struct pipeline *pl, PGconn *conn)
{
	if (pl->sent)
		read_through(pl, conn, pl->sent - 1);
	if (!pl->broken && PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		PQexitPipelineMode(conn);
}

static bool same_query(const struct queued_query *q, const char *sql, int nparams,
		       const Oid *types, const char *const *params)
{
	if (q->taken || q->nparams != nparams || strcmp(q->sql, sql) ||
	    (!q->types != !types))
		return false;
	for (int i = 0; i < nparams; i++) {
		if (types && q->types[i] != types[i])
			return false;
		if (!q->params[i] != !params[i] || (params[i] && strcmp(q->params[i], params[i])))
			return false;
	}
	return true;
}

bool pipeline_take(struct pipeline *pl, PGconn *conn, const char *sql, int nparams,
		   const Oid *types, const char *const *params, PGresult **res)
{
	for (size_t i = 0; i < pl->sent; i++) {
		struct queued_query *q = &pl->q[i];

		if (!same_query(q, sql, nparams, types, params))
			continue;
		read_through(pl, conn, i);
		q->taken = true;
		*res = q->res;
		q->res = NULL;
		return true;
	}
	drain(pl, conn);
	return false;
}

/* After the pass: the results nobody took are read and dropped, unless a
 * signal ends the run (the server's next write to a closed socket ends the
 * rest). */
void pipeline_finish(struct pipeline *pl, PGconn *conn)
{
	if (!pgx_stop_signal)
		drain(pl, conn);
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
	memset(pl, 0, sizeof(*pl));
}
