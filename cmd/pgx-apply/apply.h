/* apply.h - pgx-apply: settings changed safely, verified, and undone. */
#ifndef PGX_APPLY_H
#define PGX_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

/* Why a parameter cannot be changed; decides the exit status. */
enum refusal {
	REFUSE_NONE,
	REFUSE_OTHER,		/* internal, command line, Patroni: exit 1 */
	REFUSE_INPUT,		/* unknown parameter, invalid value: exit 3 */
	REFUSE_PRIVILEGE,	/* no right to change it: exit 5 */
};

/* One parameter of a changeset: what was asked, what was there, what happened. */
struct param {
	char *name;		/* pg_settings' spelling once known, else as given */
	char *to;		/* the value as given */
	char *origin;		/* "FILE:LINE" of the request */
	bool exists;
	char *from;		/* current_setting(): the live value with its unit */
	char *from_setting;	/* pg_settings.setting, in base units */
	char *unit, *vartype, *context, *source;
	char *min_val, *max_val, *enumvals;
	char *expect;		/* `to` in pg_settings.setting form, for verification */
	bool restart;		/* context postmaster */
	bool in_auto_conf;	/* set in postgresql.auto.conf before the change */
	char *auto_value;	/* its value there */
	bool pending_restart;	/* a changed value already waits for a restart */
	bool in_dcs;		/* set in Patroni's dynamic configuration before */
	char *dcs_value;
	enum refusal refusal;
	char *reason;		/* why refused or why it failed */
	char *action;		/* plan applied verified pending_restart refused failed rolled_back */
};

struct changeset {
	char *id;
	char *cluster;		/* fingerprint */
	char *method;		/* "alter_system" or "patroni" */
	char *patroni_url;	/* without credentials */
	char *status;		/* planned applying applied failed rolling_back rolled_back */
	char *user, *host;
	double created, updated;
	struct param *params;
	size_t n, cap;
};

/* What the command was asked to do. */
struct apply_opts {
	const char *dsn;
	const char *file;
	const char *state_dir;
	const char *patroni_url;
	bool via_patroni;
	bool table;
	bool allow_standby;
	bool force;
	double wait_s;
};

/* pg_advisory_lock(KEY1, KEY2) on the server: "pgxa" and 1. */
#define APPLY_LOCK_KEY1_SQL "1885829217"
#define APPLY_LOCK_KEY2_SQL "1"

/* A connection and what pgx-apply learnt about the server. */
struct cluster {
	PGconn *conn;
	PGconn *probe;		/* sets nothing: reads what the server gives a session */
	PGconn *lock_conn;	/* holds the server-side advisory lock */
	bool in_recovery;
	long walsenders, physical_slots, logical_slots;
	const char *dsn;
	char *fingerprint;
	int version_num;
	bool superuser;
	bool read_all_settings;
	bool can_reload;
	char *data_dir;		/* NULL when not readable */
	char *user;
	char *patroni_why;	/* how Patroni was detected, NULL if not */
	json_t *patroni_config;	/* GET /config, when --patroni was given */
	bool patroni_denied;	/* a request answered 401 or 403 */
};

/* input.c */
int input_read(const struct apply_opts *o, struct changeset *cs, bool pass_through);

/* value.c */
bool value_normalize(const struct param *p, const char *value, char **out, char **why);
bool value_matches(const struct param *p, const char *setting, const char *expect);
bool value_is_quoted_list(const char *name);
char **value_list_items(const char *name, const char *value, size_t *n);
void value_list_free(char **items, size_t n);
bool value_parse_conf_line(const char *line, char **name, char **value, const char **err);

/* cluster.c */
bool cluster_open(struct cluster *c, const char *dsn, bool read_only);
void cluster_close(struct cluster *c);
PGconn *cluster_new_session(const char *dsn, bool read_only);
PGconn *cluster_probe_session(const char *dsn);
int cluster_lock_server(struct cluster *c);
bool cluster_describe(struct cluster *c, struct param *p);
bool cluster_auto_conf(struct cluster *c, struct param *p, bool *known);
bool cluster_can_alter(struct cluster *c, const char *name);
bool cluster_try_value(struct cluster *c, const struct param *p, char **canonical, char **why);
bool cluster_detect_patroni(struct cluster *c, const char *url);

/* state.c */
char *state_dir_resolve(const char *opt);
char *state_cluster_dir(const char *root, const char *fingerprint, bool create);
int state_lock(const char *dir, const char *operation, const char *id);
void state_unlock(const char *dir);
bool state_save(const char *dir, const struct changeset *cs);
int state_load(const char *root, const char *cluster, const char *id, struct changeset *cs);
int state_list(const char *root, struct changeset **out, size_t *n);
char *state_new_id(void);

/* changeset.c */
struct param *changeset_add(struct changeset *cs, const char *name, const char *to,
			    const char *origin);
void changeset_free(struct changeset *cs);
json_t *changeset_to_json(const struct changeset *cs);
bool changeset_from_json(const json_t *j, struct changeset *cs);
void param_refuse(struct param *p, enum refusal r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void set_str(char **dst, const char *src);
bool param_unchanged(const struct param *p);

/* precheck.c */
enum refusal precheck(struct cluster *c, struct changeset *cs, const struct apply_opts *o);

/* run.c */
int run_apply(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
	      const char *dir);
size_t run_conflicts(struct cluster *c, struct changeset *cs);
int run_rollback(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
		 const char *dir);

/* patroni.c */
enum patroni_result { PATRONI_OK, PATRONI_ERROR, PATRONI_DENIED /* HTTP 401 or 403 */ };
enum patroni_result patroni_get(const char *url, const char *path, json_t **out);
enum patroni_result patroni_patch_config(const char *url, const json_t *body);
json_t *patroni_patch_body(const struct changeset *cs, bool undo);
char *patroni_strip_credentials(const char *url);
char *patroni_json_value(const json_t *v);

/* records.c */
bool emit_change(const struct changeset *cs, const struct param *p, const char *operation);
bool emit_changeset(const struct changeset *cs, const char *operation, const json_t *patch);
bool emit_all(const struct changeset *cs, const char *operation, bool table, const json_t *patch);
void table_print(const struct changeset *cs, const char *operation);
int exit_for(enum refusal r);

#endif
