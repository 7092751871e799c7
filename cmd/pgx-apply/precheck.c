/* precheck.c - every check on every parameter, before anything changes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "apply.h"

static bool one_of(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

/* Exists, and the value fits its type, unit, range or enum. */
static bool check_value(struct cluster *c, struct param *p)
{
	static const char *const not_in_auto_conf[] = { "data_directory", "config_file", NULL };
	char *why = NULL;

	if (!cluster_describe(c, p))
		return false;
	if (!p->exists) {
		param_refuse(p, REFUSE_INPUT, "unknown parameter (not in pg_settings)");
		return true;
	}
	if (!value_normalize(p, p->to, &p->expect, &why)) {
		param_refuse(p, REFUSE_INPUT, "invalid value: %s", why);
		free(why);
		return true;
	}
	if (!strcmp(p->vartype, "string") && (!strcmp(p->context, "user") ||
	    (c->superuser && !strcmp(p->context, "superuser")))) {
		char *canonical = NULL;
		if (!cluster_try_value(c, p, &canonical, &why)) {
			param_refuse(p, REFUSE_INPUT, "invalid value: %s", why);
			free(why);
			return true;
		}
		set_str(&p->expect, canonical);
		free(canonical);
	}
	if (!strcmp(p->context, "internal"))
		param_refuse(p, REFUSE_OTHER, "context 'internal': fixed when the server was built or initialised");
	else if (one_of(p->name, not_in_auto_conf))
		param_refuse(p, REFUSE_OTHER, "cannot be set in postgresql.auto.conf");
	return true;
}

static void check_alter_system(struct cluster *c, struct param *p)
{
	bool known;

	if (c->patroni_why) {
		param_refuse(p, REFUSE_OTHER, "cluster managed by Patroni (%s): ALTER SYSTEM would only "
			     "drift this node; apply through PATCH /config with --via-patroni", c->patroni_why);
		return;
	}
	if (p->source && !strcmp(p->source, "command line")) {
		param_refuse(p, REFUSE_OTHER, "set on the server's command line (source 'command line'), "
			     "which overrides postgresql.auto.conf: ALTER SYSTEM would have no effect");
		return;
	}
	if (!cluster_can_alter(c, p->name)) {
		param_refuse(p, REFUSE_PRIVILEGE, "role '%s' may not ALTER SYSTEM SET %s (needs superuser%s)",
			     c->user, p->name, c->version_num >= 150000 ?
			     " or GRANT ALTER SYSTEM ON PARAMETER" : ", PostgreSQL < 15");
		return;
	}
	if (!c->can_reload) {
		param_refuse(p, REFUSE_PRIVILEGE, "role '%s' may not run pg_reload_conf()", c->user);
		return;
	}
	if (cluster_auto_conf(c, p, &known) && !known)
		param_refuse(p, REFUSE_PRIVILEGE, "role '%s' cannot see whether %s is in postgresql.auto.conf "
			     "(needs superuser or pg_read_all_settings), so it could not be rolled back",
			     c->user, p->name);
}

static void check_patroni(struct cluster *c, struct param *p)
{
	static const char *const local_only[] = { "listen_addresses", "port", "cluster_name", NULL };
	json_t *params = json_object_get(json_object_get(c->patroni_config, "postgresql"), "parameters");
	json_t *v = json_object_get(params, p->name);

	if (one_of(p->name, local_only)) {
		param_refuse(p, REFUSE_OTHER, "Patroni sets %s from its local configuration, not /config",
			     p->name);
		return;
	}
	p->in_dcs = v && !json_is_null(v);
	set_str(&p->dcs_value, NULL);
	p->dcs_value = p->in_dcs ? patroni_json_value(v) : NULL;
}

static int wal_level_rank(const char *level)
{
	return !strcmp(level, "minimal") ? 0 : !strcmp(level, "replica") ? 1 : 2;
}

/* The changes that would cut off what replicates from this server. */
static void check_replicas(struct cluster *c, struct param *p)
{
	long slots = c->physical_slots + c->logical_slots;
	long n = atol(p->expect);

	if (!strcmp(p->name, "wal_level") && wal_level_rank(p->expect) < 1 && (c->walsenders || slots))
		param_refuse(p, REFUSE_OTHER, "wal_level '%s' would break replication: %ld WAL sender(s) "
			     "in use, %ld replication slot(s); they need 'replica' or more",
			     p->expect, c->walsenders, slots);
	else if (!strcmp(p->name, "wal_level") && wal_level_rank(p->expect) < 2 && c->logical_slots)
		param_refuse(p, REFUSE_OTHER, "wal_level '%s' would break %ld logical replication slot(s), "
			     "which need 'logical'", p->expect, c->logical_slots);
	else if (!strcmp(p->name, "max_wal_senders") && n < c->walsenders)
		param_refuse(p, REFUSE_OTHER, "max_wal_senders %ld is below the %ld WAL sender(s) in use "
			     "(pg_stat_replication)", n, c->walsenders);
	else if (!strcmp(p->name, "max_replication_slots") && n < slots)
		param_refuse(p, REFUSE_OTHER, "max_replication_slots %ld is below the %ld replication "
			     "slot(s) that exist (pg_replication_slots)", n, slots);
	else if (!strcmp(p->name, "hot_standby") && !strcmp(p->expect, "off") && c->in_recovery)
		param_refuse(p, REFUSE_OTHER, "hot_standby off on a standby would close it to every "
			     "read-only session");
}

static void check_standby(struct cluster *c, struct param *p, const struct apply_opts *o)
{
	if (c->in_recovery && !o->allow_standby && !o->via_patroni)
		param_refuse(p, REFUSE_OTHER, "the server is a hot standby: a change there makes this node "
			     "alone drift from its primary (--allow-standby to mean it, or change it through "
			     "Patroni)");
}

/* The value waiting in postgresql.auto.conf (or Patroni's configuration)
 * for a reload or a restart is the one asked for, or there is none. */
static bool configured_as_asked(struct cluster *c, struct param *p, const struct apply_opts *o)
{
	bool known, in_conf, same;
	char *conf = NULL, *why = NULL;
	const char *value;

	if (o->via_patroni)
		check_patroni(c, p);
	else if (!cluster_auto_conf(c, p, &known) || !known)
		return false;
	in_conf = o->via_patroni ? p->in_dcs : p->in_auto_conf;
	value = o->via_patroni ? p->dcs_value : p->auto_value;
	if (!in_conf)
		return true;
	same = value && value_normalize(p, value, &conf, &why) && value_matches(p, conf, p->expect);
	free(conf);
	free(why);
	return same;
}

/* Unchanged: live already, and no other value waits to replace it. */
static void check_unchanged(struct cluster *c, struct param *p, const struct apply_opts *o)
{
	if (p->from_setting && !p->pending_restart && value_matches(p, p->from_setting, p->expect) &&
	    configured_as_asked(c, p, o))
		set_str(&p->action, "unchanged");
}

/* Returns the gravest refusal; each parameter carries its own action and reason. */
enum refusal precheck(struct cluster *c, struct changeset *cs, const struct apply_opts *o)
{
	enum refusal worst = REFUSE_NONE;

	for (size_t i = 0; i < cs->n; i++) {
		struct param *p = &cs->params[i];
		if (!check_value(c, p))
			pgx_die(PGX_EXIT_CONNECT, "lost the connection to the server during prechecks");
		if (p->refusal == REFUSE_NONE)
			check_unchanged(c, p, o);
		if (p->refusal == REFUSE_NONE && !param_unchanged(p)) {
			check_standby(c, p, o);
			check_replicas(c, p);
			if (o->via_patroni)
				check_patroni(c, p);
			else
				check_alter_system(c, p);
		}
		if (p->refusal == REFUSE_NONE && !param_unchanged(p))
			set_str(&p->action, "plan");
		if (p->refusal > worst)
			worst = p->refusal;
	}
	return worst;
}
