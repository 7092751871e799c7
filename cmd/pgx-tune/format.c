/* format.c - recommendations as records, a postgresql.conf snippet,
 * postgres -c flags, ALTER SYSTEM statements or a table. */
#include <stdio.h>
#include <string.h>
#include "pgx.h"
#include "tune.h"

bool format_parse(const char *name, enum format *f)
{
	static const char *const names[] = { "records", "conf", "flags", "sql", "table" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*f = (enum format)i;
			return true;
		}
	return false;
}

#define TABLE_CELL_MAX 24	/* wider values are cut, marked with "..." */

/* A change the output should carry; with --all, every recommendation. */
static bool shown(const struct rec *x, bool all)
{
	return all || !strcmp(rec_status(x), "change");
}

/* Human formats also show what the server's state holds back. */
static bool shown_to_people(const struct rec *x, bool all)
{
	return all || !x->keep;
}

/* pgtune profiles only: the auto and conservative rules are not pgtune's. */
static bool deviates_from_pgtune(const struct rec *x)
{
	return x->deviates && strncmp(x->rule, "pgtune.", 7) == 0;
}

static bool emit_recommendation(const struct rec *x, enum profile p)
{
	json_t *rec = pgx_record_new("recommendation", pgx_now());

	json_object_set_new(rec, "parameter", json_string(x->def->name));
	json_object_set_new(rec, "current", x->has_current ? json_string(x->current) : json_null());
	json_object_set_new(rec, "recommended", json_string(x->recommended));
	json_object_set_new(rec, "confidence", json_string(x->confidence));
	json_object_set_new(rec, "rationale", json_string(x->rationale));
	json_object_set_new(rec, "context", json_string(x->context));
	json_object_set_new(rec, "restart", json_boolean(x->restart));
	json_object_set_new(rec, "rule", json_string(x->rule));
	json_object_set_new(rec, "profile", json_string(profile_name(p)));
	json_object_set_new(rec, "status", json_string(rec_status(x)));
	json_object_set_new(rec, "deviates_from", deviates_from_pgtune(x) ? json_string("pgtune") : json_null());
	return pgx_emit(rec);
}

static void machine_summary(const struct machine *m, enum profile p, char *buf, size_t len)
{
	static const char *const db_size_phrase[] = { "smaller than RAM", "about RAM's size",
						      "larger than RAM" };
	char ram[32];

	format_mem_human(m->memory_kb, ram, sizeof(ram));
	snprintf(buf, len, "profile %s; %s RAM (%s), %ld CPU%s (%s), %s storage (%s), "
		 "database %s (%s), PostgreSQL %d (%s), max_connections %ld (%s)",
		 profile_name(p), ram, m->memory_source, m->cpus, m->cpus == 1 ? "" : "s", m->cpus_source,
		 storage_name(m->storage), m->storage_source, db_size_phrase[m->db_size],
		 m->db_size_source, m->pg_version, m->pg_version_source,
		 m->max_connections, m->max_connections_source);
}

/* A value for postgresql.conf or SQL: numbers bare in conf, all else quoted
 * with '' for a quote (and, in SQL, E'' when there is a backslash). */
static void put_literal(const char *v, bool sql)
{
	bool backslash = strchr(v, '\\') != NULL;

	if (sql && backslash)
		putchar('E');
	putchar('\'');
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || (*p == '\\' && (sql || backslash)))
			putchar(*p);
		putchar(*p);
	}
	putchar('\'');
}

static void put_conf_value(const struct rec *x)
{
	if (x->kind == V_INT || x->kind == V_REAL)
		fputs(x->recommended, stdout);
	else
		put_literal(x->recommended, false);
}

static void output_conf(const struct recs *r, const struct machine *m, enum profile p, bool all)
{
	char summary[512];

	machine_summary(m, p, summary, sizeof(summary));
	printf("# Written by pgx-tune %s: %s.\n", PGX_VERSION, summary);
	printf("# Settings marked \"restart\" take effect after a server restart, the others on reload.\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];

		if (!shown_to_people(x, all))
			continue;
		printf("\n# %s\n# [%s, confidence %s%s%s%s%s]\n", x->rationale, x->rule, x->confidence,
		       x->restart ? ", restart" : "", x->has_current ? ", current " : "",
		       x->has_current ? x->current : "", deviates_from_pgtune(x) ? ", not pgtune's" : "");
		printf("%s%s = ", x->keep || x->pending_restart ? "#" : "", x->def->name);
		put_conf_value(x);
		printf("%s\n", x->pending_restart ? "\t# a new value already waits for a restart"
		       : x->keep ? "\t# already within 10% of the current value" : "");
	}
}

static void output_flags(const struct recs *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].keep && !r->v[i].pending_restart)
			printf("%s-c %s=%s", n++ ? " " : "", r->v[i].def->name, r->v[i].recommended);
	if (n)
		putchar('\n');
}

/* Parameter names come from pgx-tune's own table; quoted anyway when not plain. */
static void put_ident(const char *name)
{
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen(name)) {
		fputs(name, stdout);
		return;
	}
	putchar('"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

static void output_sql(const struct recs *r, const struct machine *m, enum profile p)
{
	char summary[512];
	bool restart = false;

	machine_summary(m, p, summary, sizeof(summary));
	printf("-- Written by pgx-tune %s: %s.\n", PGX_VERSION, summary);
	printf("-- ALTER SYSTEM cannot run in a transaction block: run with psql, not in BEGIN/COMMIT.\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];

		if (x->keep)
			continue;
		if (x->pending_restart || x->command_line) {
			printf("-- %s = '%s' not set: %s\n", x->def->name, x->recommended, x->pending_restart
			       ? "a new value already waits for a restart"
			       : "set on the server's command line, which ALTER SYSTEM cannot override");
			continue;
		}
		fputs("ALTER SYSTEM SET ", stdout);
		put_ident(x->def->name);
		fputs(" = ", stdout);
		put_literal(x->recommended, true);
		printf(";%s\n", x->restart ? "  -- needs a restart" : "");
		restart |= x->restart;
	}
	printf("SELECT pg_catalog.pg_reload_conf();\n");
	if (restart)
		printf("-- Some settings above take effect only after a server restart.\n");
}

/* A table cell: values wider than TABLE_CELL_MAX end in "..." so a cut shows. */
static const char *cell(const char *value, char *buf, size_t len)
{
	if (strlen(value) <= TABLE_CELL_MAX)
		return value;
	snprintf(buf, len, "%.*s...", TABLE_CELL_MAX - 3, value);
	return buf;
}

enum { T_PARAM, T_CURRENT, T_RECOMMENDED, T_STATUS, T_CONFIDENCE, T_RESTART, T_RULE, T_COLS };

static void table_cells(const struct rec *x, const char *cells[T_COLS], char cut[2][TABLE_CELL_MAX + 1])
{
	cells[T_PARAM] = x->def->name;
	cells[T_CURRENT] = cell(x->has_current ? x->current : "-", cut[0], sizeof(cut[0]));
	cells[T_RECOMMENDED] = cell(x->recommended, cut[1], sizeof(cut[1]));
	cells[T_STATUS] = rec_status(x);
	cells[T_CONFIDENCE] = x->confidence;
	cells[T_RESTART] = x->restart ? "yes" : "no";
	cells[T_RULE] = x->rule;
}

static void table_row(const int w[T_COLS], const char *cells[T_COLS], const char *why)
{
	for (size_t k = 0; k < T_COLS; k++)
		printf("%-*s  ", w[k], cells[k]);
	printf("%s\n", why);
}

static void output_table(const struct recs *r, const struct machine *m, enum profile p, bool all)
{
	static const char *head[T_COLS] = { "parameter", "current", "recommended", "status",
					    "confidence", "restart", "rule" };
	char summary[512], cut[2][TABLE_CELL_MAX + 1];
	const char *cells[T_COLS];
	int w[T_COLS];

	for (size_t k = 0; k < T_COLS; k++)
		w[k] = (int)strlen(head[k]);
	for (size_t i = 0; i < r->n; i++) {
		table_cells(&r->v[i], cells, cut);
		for (size_t k = 0; k < T_COLS; k++)
			if ((int)strlen(cells[k]) > w[k])
				w[k] = (int)strlen(cells[k]);
	}
	machine_summary(m, p, summary, sizeof(summary));
	printf("%s\n\n", summary);
	table_row(w, head, "why");
	for (size_t i = 0; i < r->n; i++) {
		if (!shown_to_people(&r->v[i], all))
			continue;
		table_cells(&r->v[i], cells, cut);
		table_row(w, cells, r->v[i].rationale);
	}
}

/* What the records and flags formats leave out goes to stderr, so nobody misses it. */
static void warn_held_back(const struct recs *r, enum format f, bool all)
{
	if (all || (f != FMT_RECORDS && f != FMT_FLAGS))
		return;
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];

		if (x->pending_restart)
			pgx_warn("%s: not recommended again, a new value already waits for a restart",
				 x->def->name);
		else if (x->command_line && f == FMT_RECORDS)
			pgx_warn("%s = %s is not written: the server's command line sets it, "
				 "which ALTER SYSTEM cannot override", x->def->name, x->recommended);
	}
}

bool output_recs(const struct recs *r, const struct machine *m, enum profile p,
		 enum format f, bool all)
{
	bool ok = true;

	warn_held_back(r, f, all);
	switch (f) {
	case FMT_RECORDS:
		ok = machine_emit(m, profile_name(p));
		for (size_t i = 0; ok && i < r->n; i++)
			if (shown(&r->v[i], all))
				ok = emit_recommendation(&r->v[i], p);
		return ok;
	case FMT_CONF: output_conf(r, m, p, all); break;
	case FMT_FLAGS: output_flags(r); break;
	case FMT_SQL: output_sql(r, m, p); break;
	case FMT_TABLE: output_table(r, m, p, all); break;
	}
	return !ferror(stdout);
}
