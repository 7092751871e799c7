/* pgx-apply - plan, apply and roll back settings changes, safely */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_pq.h"
#include "pgx_http.h"
#include "apply.h"

static void usage(void)
{
	printf("%s changes PostgreSQL settings safely: a plan first, a record before any\n"
	       "change, verification after, and a rollback that works even after a crash.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]... plan      dry run: what would change, nothing changes\n"
	       "  %s [OPTION]... apply     ALTER SYSTEM (or PATCH /config), reload, verify\n"
	       "  %s [OPTION]... rollback ID\n"
	       "  %s [OPTION]... list      the changesets in the state directory\n\n"
	       "Reads recommendation records (pgx-tune) or 'name = value' lines from standard\n"
	       "input or --file; other records pass through.  Writes change and changeset records.\n\n"
	       "Options:\n"
	       "  -f, --file=FILE        read the changeset from FILE instead of standard input\n"
	       "      --state-dir=DIR    changesets and locks (default /var/lib/pgx for root,\n"
	       "                         else $XDG_STATE_HOME/pgx or ~/.local/state/pgx)\n"
	       "      --patroni=URL      Patroni REST API of the cluster (http://host:8008);\n"
	       "                         credentials from the URL, PGX_PATRONI_USER and\n"
	       "                         PGX_PATRONI_PASSWORD, or netrc\n"
	       "      --via-patroni      apply through PATCH /config instead of ALTER SYSTEM\n"
	       "      --format=FORMAT    records (default) or table (default on a terminal)\n"
	       "      --allow-standby    change a hot standby by itself (it then differs\n"
	       "                         from its primary)\n"
	       "      --force            roll back over a value changed since the apply\n"
	       "  -w, --wait=SECONDS     how long to wait for values to arrive (default 10,\n"
	       "                         60 through Patroni)\n"
	       "  -V, --version          output version information, then exit\n"
	       "  -h, --help             show this help, then exit\n\n"
	       "Connection options:\n"
	       "  -d, --dbname=DSN       conninfo string or URI (default: PG* environment)\n\n"
	       "Exit status: 0 done or nothing to apply, 1 refused (Patroni, command line,\n"
	       "internal, standby, replication), locked, empty input or changed since apply,\n"
	       "2 usage, 3 invalid input or unknown changeset, 4 cannot connect,\n"
	       "5 privilege refused (Patroni 401/403 too), 6 write error, 7 a change failed\n"
	       "and was undone, 8 internal.\n",
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname());
}

enum { OPT_STATE_DIR = 256, OPT_PATRONI, OPT_VIA_PATRONI, OPT_FORMAT, OPT_ALLOW_STANDBY, OPT_FORCE };

static const char *parse_options(int argc, char **argv, struct apply_opts *o, const char **id)
{
	static const struct option longopts[] = {
		{ "dbname", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "patroni", required_argument, NULL, OPT_PATRONI },
		{ "via-patroni", no_argument, NULL, OPT_VIA_PATRONI },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "allow-standby", no_argument, NULL, OPT_ALLOW_STANDBY },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "wait", required_argument, NULL, 'w' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *format = NULL;
	int c;

	o->wait_s = -1;
	while ((c = getopt_long(argc, argv, "d:f:w:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': free((char *)o->dsn), o->dsn = pgx_mask_take_arg(optarg); break;
		case 'f': o->file = optarg; break;
		case OPT_STATE_DIR: o->state_dir = optarg; break;
		case OPT_PATRONI: free((char *)o->patroni_url), o->patroni_url = pgx_mask_take_arg(optarg); break;
		case OPT_VIA_PATRONI: o->via_patroni = true; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_ALLOW_STANDBY: o->allow_standby = true; break;
		case OPT_FORCE: o->force = true; break;
		case 'w':
			if (!pgx_parse_seconds(optarg, "--wait", &o->wait_s))
				pgx_usage_error(NULL);
			break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
	if (optind >= argc)
		pgx_usage_error("a subcommand is required: plan, apply, rollback ID or list");
	cmd = argv[optind++];
	if (strcmp(cmd, "plan") && strcmp(cmd, "apply") && strcmp(cmd, "rollback") && strcmp(cmd, "list"))
		pgx_usage_error("unknown subcommand '%s'", cmd);
	if (!strcmp(cmd, "rollback")) {
		if (optind >= argc)
			pgx_usage_error("rollback needs a changeset ID (see 'pgx-apply list')");
		*id = argv[optind++];
	}
	if (optind < argc)
		pgx_usage_error("unexpected argument '%s'", argv[optind]);
	if (format && strcmp(format, "records") && strcmp(format, "table"))
		pgx_usage_error("invalid value '%s' for --format (records or table)", format);
	o->table = format ? !strcmp(format, "table") : isatty(STDOUT_FILENO);
	if (o->via_patroni && !o->patroni_url)
		pgx_usage_error("--via-patroni needs --patroni URL");
	if (o->wait_s < 0)
		o->wait_s = o->via_patroni ? 60 : 10;
	return cmd;
}

/* Reach Patroni when given; its /config holds the prior values. */
static int open_cluster(struct cluster *c, const struct apply_opts *o, bool read_only)
{
	json_t *me = NULL;
	enum patroni_result rc = PATRONI_OK;

	if (!cluster_open(c, o->dsn, read_only))
		return PGX_EXIT_CONNECT;
	if (o->patroni_url) {
		rc = patroni_get(o->patroni_url, "patroni", &me);
		if (rc == PATRONI_OK)
			rc = patroni_get(o->patroni_url, "config", &c->patroni_config);
		json_decref(me);
		if (rc != PATRONI_OK)
			return rc == PATRONI_DENIED ? PGX_EXIT_PRIVILEGE : PGX_EXIT_CONNECT;
	}
	cluster_detect_patroni(c, o->patroni_url);
	return 0;
}

static void init_changeset(struct changeset *cs, const struct cluster *c, const struct apply_opts *o)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	cs->cluster = pgx_xstrdup(c->fingerprint);
	cs->method = pgx_xstrdup(o->via_patroni ? "patroni" : "alter_system");
	cs->patroni_url = o->patroni_url ? patroni_strip_credentials(o->patroni_url) : NULL;
	cs->user = c->user ? pgx_xstrdup(c->user) : NULL;
	cs->host = pgx_xstrdup(host);
	cs->status = pgx_xstrdup("planned");
}

/* Under Patroni without --via-patroni: the PATCH that would do it. */
static json_t *patroni_plan(const struct cluster *c, const struct changeset *cs,
			    const struct apply_opts *o)
{
	json_t *patch;
	char *text;

	if (!c->patroni_why || o->via_patroni)
		return NULL;
	patch = patroni_patch_body(cs, false);
	text = json_dumps(patch, JSON_COMPACT);
	pgx_hint("under Patroni, change them with: curl -X PATCH -d '%s' %s/config", text,
		 cs->patroni_url ? cs->patroni_url : "http://PATRONI:8008");
	free(text);
	return patch;
}

static size_t count_refused(const struct changeset *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += cs->params[i].refusal != REFUSE_NONE;
	return n;
}

static size_t count_unchanged(const struct changeset *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += param_unchanged(&cs->params[i]);
	return n;
}

/* No parameter at all is an empty pipeline upstream (exit 1); values
 * already in place are a plan or apply already done (exit 0). */
static int nothing_to_apply(struct changeset *cs)
{
	if (!cs->n) {
		set_str(&cs->status, "empty");
		pgx_error("nothing to apply: the input holds no parameter");
		return PGX_EXIT_FINDINGS;
	}
	set_str(&cs->status, "unchanged");
	pgx_info("nothing to apply: %s already in place", cs->n == 1 ? "the value is" :
		 "every value is");
	return PGX_EXIT_OK;
}

/* A later changeset still in effect on one of the same parameters would be
 * silently undone too: it has to be rolled back first. */
static bool newer_in_effect(const char *root, const struct changeset *cs)
{
	static const char *const settled[] = { "rolled_back", "failed", "planned", "refused", NULL };
	struct changeset *all;
	size_t n;
	bool found = false;

	if (state_list(root, &all, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct changeset *o = &all[i];
		bool live = true;
		for (int k = 0; settled[k]; k++)
			live &= strcmp(o->status, settled[k]) != 0;
		if (!found && live && !strcmp(o->cluster, cs->cluster) && o->created > cs->created)
			for (size_t a = 0; a < o->n && !found; a++)
				for (size_t b = 0; b < cs->n && !found; b++)
					if (!strcmp(o->params[a].name, cs->params[b].name)) {
						found = true;
						pgx_error("changeset '%s' is newer and also changes %s", o->id,
							  o->params[a].name);
						pgx_hint("roll back '%s' first", o->id);
					}
	}
	for (size_t i = 0; i < n; i++)
		changeset_free(&all[i]);
	free(all);
	return found;
}

/* The cluster's state directory, locked; *dir is set on success. */
static int take_lock(const char *root, const char *fingerprint, const char *operation,
		     const char *id, char **dir)
{
	int lock;

	if (!(*dir = state_cluster_dir(root, fingerprint, true)))
		return errno == EACCES || errno == EPERM || errno == EROFS ?
		       PGX_EXIT_PRIVILEGE : PGX_EXIT_INTERNAL;
	lock = state_lock(*dir, operation, id);
	if (!lock)
		return PGX_EXIT_OK;
	free(*dir);
	*dir = NULL;
	return lock == 1 ? PGX_EXIT_FINDINGS : lock == -2 ? PGX_EXIT_PRIVILEGE : PGX_EXIT_INTERNAL;
}

/* The state directory's lock, then the server's: two hosts or two users
 * with their own state directories exclude each other there. */
static int lock_both(struct cluster *c, const char *root, const char *operation, const char *id,
		     char **dir)
{
	int status = take_lock(root, c->fingerprint, operation, id, dir), rc;

	if (status)
		return status;
	if (!(rc = cluster_lock_server(c)))
		return PGX_EXIT_OK;
	state_unlock(*dir);
	free(*dir);
	*dir = NULL;
	return rc == 1 ? PGX_EXIT_FINDINGS : PGX_EXIT_CONNECT;
}

/* Prechecks, then (apply, nothing refused) the change itself; records last. */
static int plan_or_apply(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
			 const char *cmd, const char *dir)
{
	enum refusal worst = precheck(c, cs, o);
	json_t *patch = patroni_plan(c, cs, o);
	int status = exit_for(worst);

	if (worst != REFUSE_NONE) {
		set_str(&cs->status, "refused");
		if (dir)
			pgx_error("nothing changed: %zu of %zu parameter(s) refused", count_refused(cs), cs->n);
	} else if (count_unchanged(cs) == cs->n)
		status = nothing_to_apply(cs);
	else if (dir) {
		cs->id = state_new_id();
		cs->created = pgx_now();
		status = run_apply(c, cs, o, dir);
	}
	if (dir)
		state_unlock(dir);
	if (!emit_all(cs, cmd, o->table, patch))
		status = PGX_EXIT_OUTPUT;
	json_decref(patch);
	return status;
}

/* The end of apply, plan and rollback: the session, the changeset and the
 * state paths released; status passed through. */
static int command_done(struct cluster *c, struct changeset *cs, char *dir, char *root,
			int status)
{
	cluster_close(c);
	changeset_free(cs);
	free(dir);
	free(root);
	return status;
}

static int do_plan_or_apply(const char *cmd, const struct apply_opts *o)
{
	struct changeset cs = { 0 };
	struct cluster c = { 0 };
	char *root = NULL, *dir = NULL;
	bool apply = !strcmp(cmd, "apply");
	int status = input_read(o, &cs, !o->table);

	if (!status && pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	if (!status)
		status = open_cluster(&c, o, !apply);
	if (!status) {
		init_changeset(&cs, &c, o);
		if (apply) {
			root = state_dir_resolve(o->state_dir);
			status = lock_both(&c, root, "apply", NULL, &dir);
		}
	}
	if (!status)
		status = plan_or_apply(&c, &cs, o, cmd, dir);
	return command_done(&c, &cs, dir, root, status);
}

/* Checked under the lock, so no apply slips in between. */
static int rollback_locked(struct cluster *c, struct changeset *cs, const struct apply_opts *o,
			   const char *root, const char *dir)
{
	int status;

	if (!strcmp(cs->status, "rolled_back")) {
		pgx_error("changeset '%s' was already rolled back", cs->id);
		return PGX_EXIT_FINDINGS;
	}
	if (newer_in_effect(root, cs))
		return PGX_EXIT_FINDINGS;
	if (!o->force && run_conflicts(c, cs))
		status = PGX_EXIT_FINDINGS;
	else
		status = run_rollback(c, cs, o, dir);
	if (!emit_all(cs, "rollback", o->table, NULL))
		status = PGX_EXIT_OUTPUT;
	return status;
}

static int do_rollback(const char *id, const struct apply_opts *o)
{
	struct changeset cs = { 0 };
	struct cluster c = { 0 };
	char *root = state_dir_resolve(o->state_dir), *dir = NULL;
	int status, rc;

	if ((status = open_cluster(&c, o, false)))
		goto out;
	rc = state_load(root, c.fingerprint, id, &cs);
	if (rc == 1)
		status = PGX_EXIT_INPUT, pgx_error("no changeset '%s' in '%s'", id, root);
	else if (rc == 2)
		status = PGX_EXIT_INPUT, pgx_error("changeset '%s' belongs to cluster '%s', not to this one ('%s')",
						   id, cs.cluster, c.fingerprint);
	else if (rc < 0)
		status = PGX_EXIT_INPUT;
	else if (!(status = lock_both(&c, root, "rollback", id, &dir))) {
		status = rollback_locked(&c, &cs, o, root, dir);
		state_unlock(dir);
	}
out:
	return command_done(&c, &cs, dir, root, status);
}

static int do_list(const struct apply_opts *o)
{
	char *root = state_dir_resolve(o->state_dir);
	struct changeset *all;
	size_t n;
	bool ok = true;
	int status = state_list(root, &all, &n) ? PGX_EXIT_INPUT : PGX_EXIT_OK;

	if (o->table && n)
		printf("%-24s  %-28s  %-13s  %-12s  %s\n", "ID", "CLUSTER", "METHOD", "STATUS", "PARAMETERS");
	for (size_t i = 0; i < n; i++) {
		if (o->table) {
			printf("%-24s  %-28s  %-13s  %-12s ", all[i].id, all[i].cluster, all[i].method,
			       all[i].status);
			for (size_t j = 0; j < all[i].n; j++)
				printf(" %s=%s", all[i].params[j].name, all[i].params[j].to);
			printf("\n");
		} else if (ok)
			ok = emit_changeset(&all[i], "list", NULL);
		changeset_free(&all[i]);
	}
	free(all);
	free(root);
	return ok ? status : PGX_EXIT_OUTPUT;
}

int main(int argc, char **argv)
{
	struct apply_opts opts = { 0 };
	const char *id = NULL, *cmd;
	int status;

	pgx_init(argv[0]);
	cmd = parse_options(argc, argv, &opts, &id);
	pgx_install_signals();
	pgx_http_init();
	if (!strcmp(cmd, "list"))
		status = do_list(&opts);
	else if (!strcmp(cmd, "rollback"))
		status = do_rollback(id, &opts);
	else
		status = do_plan_or_apply(cmd, &opts);
	pgx_http_cleanup();
	free((char *)opts.dsn);
	free((char *)opts.patroni_url);
	return pgx_finish(status);
}
