/* health.h - pgx-report's views of pgx-poll health snapshots: Prometheus
 * text, HTML, table, JSON, diff, and the alert catalog with notifications */
#ifndef PGX_HEALTH_H
#define PGX_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

enum health_format { HF_TABLE, HF_JSON, HF_PROM, HF_HTML };

/* The latest record of each section: sections[type][db or ""] = record.
 * A stream of samples collapses to its last sample per section. */
struct snapshot {
	json_t *sections;	/* {type: {db: record}} */
	json_t *sql;		/* {section: text} from sql records */
	json_t *alerts;		/* {key: latest alert record} */
	json_t *alert_summary;	/* the latest, or NULL: alerts never evaluated */
	json_t *slow;		/* [slow_query records] */
	json_t *errors;		/* [error records] */
	json_t *history;	/* [what keep() made of each pgx-poll record,
				 * input order] when kept (time series), else NULL */
	json_t *(*keep)(const json_t *rec);	/* a new record, or NULL */
	json_t *by_cluster;	/* {cluster: {type: {db: record}}}, the
				 * latest, when history is kept */
	const char *cluster;	/* borrowed from a record */
	double ts;		/* latest ts seen */
	size_t nhealth;		/* records of pgx-poll types */
	unsigned long input_errors;
	bool unreadable;
};

/* snapshot.c */
bool health_type(const char *type);	/* a record type pgx-poll writes */
void snapshot_init(struct snapshot *s);
/* Before snapshot_load: keep keep(rec) of every pgx-poll record, and the
 * latest records of each cluster apart */
void snapshot_keep_history(struct snapshot *s, json_t *(*keep)(const json_t *rec));
void snapshot_add(struct snapshot *s, json_t *rec);	/* takes the reference */
/* Read files (or stdin when nfiles == 0); reports malformed lines. */
void snapshot_load(struct snapshot *s, char *const *files, size_t nfiles);
void snapshot_free(struct snapshot *s);
json_t *snapshot_get(const struct snapshot *s, const char *type, const char *db);
json_t *snapshot_section(const struct snapshot *s, const char *type); /* {db: rec} */
const char *snapshot_sql(const struct snapshot *s, const char *section);
json_t *snapshot_document(const struct snapshot *s);	/* --format json */
int snapshot_status(const struct snapshot *s);	/* exit status of the input */

/* A settings element the DBA set to another value than the built-in one
 * (not a session's own, such as pgx-poll's SETs). */
bool setting_not_default(const json_t *setting);

/* Numbers and paths in records: "a.b.c"; NULL when absent or not a number. */
json_t *jpath(const json_t *obj, const char *path);
bool jnum(const json_t *obj, const char *path, double *out);
const char *jstr(const json_t *obj, const char *path);

/* prom.c, html.c, htable.c */
void prom_render(FILE *f, const struct snapshot *s, long top);
void html_render(FILE *f, const struct snapshot *s, long top);
void html_esc(FILE *f, const char *s);	/* text and attribute values */
void health_table_render(FILE *f, const struct snapshot *s, long top);

/* health.c: the report entry point for health input.  Unless the format
 * says the input is a health snapshot (known_health), returns -1 when it
 * holds no pgx-poll record (stdin is then re-readable from the start, for
 * the startup-profile views); else an exit status. */
int health_report(char *const *files, size_t nfiles, enum health_format fmt,
		  bool known_health, const char *output, long top);

/* diff.c: `pgx-report diff BEFORE AFTER` */
/* all: also the changes without news (null -> 0, ranks, catalog relations) */
int health_diff(const char *before, const char *after, bool json, bool all, const char *output);

/* alerts.c: `pgx-report alerts [OPTION]... [FILE]...`, own options */
int alerts_main(int argc, char **argv);

#endif
