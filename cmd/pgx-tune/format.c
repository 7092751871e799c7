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

static bool shown(const struct rec *x, bool all)
{
	return all || !x->keep;
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
	json_object_set_new(rec, "status", json_string(x->keep ? "keep" : "change"));
	return pgx_emit(rec);
}

static void machine_summary(const struct machine *m, enum profile p, char *buf, size_t len)
{
	char ram[32];

	format_mem_human(m->memory_kb, ram, sizeof(ram));
	snprintf(buf, len, "profile %s; %s RAM (%s), %ld CPUs (%s), %s storage (%s), "
		 "PostgreSQL %d (%s), max_connections %ld (%s)",
		 profile_name(p), ram, m->memory_source, m->cpus, m->cpus_source,
		 storage_name(m->storage), m->storage_source, m->pg_version, m->pg_version_source,
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

		if (!shown(x, all))
			continue;
		printf("\n# %s\n# [%s, confidence %s%s%s%s]\n", x->rationale, x->rule, x->confidence,
		       x->restart ? ", restart" : "", x->has_current ? ", current " : "",
		       x->has_current ? x->current : "");
		printf("%s%s = ", x->keep ? "#" : "", x->def->name);
		put_conf_value(x);
		printf("%s\n", x->keep ? "\t# already within 10% of the current value" : "");
	}
}

static void output_flags(const struct recs *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].keep)
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

static void output_table(const struct recs *r, const struct machine *m, enum profile p, bool all)
{
	static const char *const head[] = { "parameter", "current", "recommended", "status",
					    "confidence", "restart", "rule" };
	int w[7];
	char summary[512];

	for (size_t k = 0; k < 7; k++)
		w[k] = (int)strlen(head[k]);
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];
		const char *cells[7] = { x->def->name, x->has_current ? x->current : "-", x->recommended,
					 "change", x->confidence, "no", x->rule };

		for (size_t k = 0; k < 7; k++)
			if ((int)strlen(cells[k]) > w[k])
				w[k] = (int)strlen(cells[k]);
	}
	machine_summary(m, p, summary, sizeof(summary));
	printf("%s\n\n", summary);
	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], head[0], w[1], head[1], w[2],
	       head[2], w[3], head[3], w[4], head[4], w[5], head[5], w[6], head[6], "why");
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];

		if (!shown(x, all))
			continue;
		printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], x->def->name,
		       w[1], x->has_current ? x->current : "-", w[2], x->recommended,
		       w[3], x->keep ? "keep" : "change", w[4], x->confidence,
		       w[5], x->restart ? "yes" : "no", w[6], x->rule, x->rationale);
	}
}

bool output_recs(const struct recs *r, const struct machine *m, enum profile p,
		 enum format f, bool all)
{
	bool ok = true;

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
