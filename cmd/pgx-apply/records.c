/* records.c - change and changeset records, and the table for a terminal */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "apply.h"

int exit_for(enum refusal r)
{
	switch (r) {
	case REFUSE_NONE: return PGX_EXIT_OK;
	case REFUSE_OTHER: return PGX_EXIT_FINDINGS;
	case REFUSE_INPUT: return PGX_EXIT_INPUT;
	case REFUSE_PRIVILEGE: return PGX_EXIT_PRIVILEGE;
	}
	return PGX_EXIT_INTERNAL;
}

static void set_opt(json_t *rec, const char *key, const char *value)
{
	json_object_set_new(rec, key, value ? json_string(value) : json_null());
}

/* A rollback goes from the applied value back to the prior one. */
static void endpoints(const struct changeset *cs, const struct param *p, const char *operation,
		      const char **from, const char **to)
{
	const char *prior = !strcmp(cs->method, "patroni") ? (p->in_dcs ? p->dcs_value : NULL)
							  : (p->in_auto_conf ? p->auto_value : NULL);

	*from = p->from, *to = p->to;
	if (!strcmp(operation, "rollback"))
		*from = p->to, *to = prior ? prior : p->from;
}

bool emit_change(const struct changeset *cs, const struct param *p, const char *operation)
{
	json_t *rec = pgx_record_new("change", -1);
	const char *from, *to;

	endpoints(cs, p, operation, &from, &to);
	set_opt(rec, "id", cs->id);
	set_opt(rec, "cluster", cs->cluster);
	json_object_set_new(rec, "parameter", json_string(p->name));
	set_opt(rec, "from", from);
	json_object_set_new(rec, "to", json_string(to));
	set_opt(rec, "action", p->action);
	set_opt(rec, "context", p->context);
	json_object_set_new(rec, "restart", p->exists ? json_boolean(p->restart) : json_null());
	json_object_set_new(rec, "method", json_string(cs->method));
	if (!strcmp(cs->method, "patroni"))
		json_object_set_new(rec, "in_dcs", json_boolean(p->in_dcs));
	else if (p->exists && (!p->action || strcmp(p->action, "refused")))
		json_object_set_new(rec, "in_auto_conf", json_boolean(p->in_auto_conf));
	if (p->reason)
		json_object_set_new(rec, "reason", json_string(p->reason));
	if (p->origin)
		json_object_set_new(rec, "origin", json_string(p->origin));
	return pgx_emit(rec);
}

static size_t count_action(const struct changeset *cs, const char *action)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += cs->params[i].action && !strcmp(cs->params[i].action, action);
	return n;
}

bool emit_changeset(const struct changeset *cs, const char *operation, const json_t *patch)
{
	json_t *rec = pgx_record_new("changeset", -1);
	static const char *const actions[] = { "plan", "applied", "verified", "pending_restart",
		"refused", "failed", "rolled_back", "skipped", "unchanged", NULL };
	bool restart = false;

	for (size_t i = 0; i < cs->n; i++)
		restart |= cs->params[i].restart && cs->params[i].action &&
			   !strcmp(cs->params[i].action, "pending_restart");
	set_opt(rec, "id", cs->id);
	set_opt(rec, "cluster", cs->cluster);
	json_object_set_new(rec, "operation", json_string(operation));
	json_object_set_new(rec, "method", json_string(cs->method));
	json_object_set_new(rec, "status", json_string(cs->status));
	json_object_set_new(rec, "parameters", json_integer((json_int_t)cs->n));
	for (int i = 0; actions[i]; i++)
		json_object_set_new(rec, actions[i], json_integer((json_int_t)count_action(cs, actions[i])));
	json_object_set_new(rec, "restart_needed", json_boolean(restart));
	if (cs->created > 0)
		pgx_set_ts(rec, "created", cs->created);
	if (cs->updated > 0)
		pgx_set_ts(rec, "updated", cs->updated);
	if (cs->patroni_url)
		json_object_set_new(rec, "patroni_url", json_string(cs->patroni_url));
	if (patch)
		json_object_set(rec, "patroni_patch", (json_t *)patch);
	return pgx_emit(rec);
}

static int width(const char *s, int w)
{
	int n = s ? (int)strlen(s) : 1;

	return n > w ? n : w;
}

#define TABLE_VALUE_MAX 24

/* A value cut to the column shows that it was cut. */
static const char *fit(const char *s, char *buf, size_t len)
{
	if (!s)
		return "-";
	if (strlen(s) <= TABLE_VALUE_MAX)
		return s;
	snprintf(buf, len, "%.*s...", TABLE_VALUE_MAX - 3, s);
	return buf;
}

void table_print(const struct changeset *cs, const char *operation)
{
	int wp = 9, wf = 4, wt = 2, wa = 6;
	const char *from, *to;
	char fbuf[TABLE_VALUE_MAX + 1], tbuf[TABLE_VALUE_MAX + 1];

	for (size_t i = 0; i < cs->n; i++) {
		const struct param *p = &cs->params[i];
		endpoints(cs, p, operation, &from, &to);
		wp = width(p->name, wp), wf = width(from, wf), wt = width(to, wt), wa = width(p->action, wa);
	}
	if (wf > TABLE_VALUE_MAX) wf = TABLE_VALUE_MAX;
	if (wt > TABLE_VALUE_MAX) wt = TABLE_VALUE_MAX;
	printf("%-*s  %-*s  %-*s  %-*s  %-7s  %s\n", wp, "PARAMETER", wf, "FROM", wt, "TO", wa,
	       "ACTION", "RESTART", "REASON");
	for (size_t i = 0; i < cs->n; i++) {
		const struct param *p = &cs->params[i];
		endpoints(cs, p, operation, &from, &to);
		printf("%-*s  %-*s  %-*s  %-*s  %-7s  %s\n", wp, p->name, wf, fit(from, fbuf, sizeof(fbuf)),
		       wt, fit(to, tbuf, sizeof(tbuf)), wa, p->action ? p->action : "-",
		       p->exists ? (p->restart ? "yes" : "no") : "-", p->reason ? p->reason : "");
	}
	printf("changeset %s: %s (%s, %zu parameter%s)\n", cs->id ? cs->id : "-", cs->status,
	       cs->method, cs->n, cs->n == 1 ? "" : "s");
}

/* Records, or a table: one changeset's change lines and its summary. */
bool emit_all(const struct changeset *cs, const char *operation, bool table, const json_t *patch)
{
	if (table) {
		table_print(cs, operation);
		return !ferror(stdout);
	}
	for (size_t i = 0; i < cs->n; i++)
		if (!emit_change(cs, &cs->params[i], operation))
			return false;
	return emit_changeset(cs, operation, patch);
}
