/* pgx-docker - run, build and watch PostgreSQL containers through the Docker
 * Engine API, reporting what happens to them as NDJSON records. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "docker.h"

static void usage(void)
{
	printf("%s runs, builds and watches PostgreSQL containers through the Docker Engine API\n"
	       "and reports what happens to them as NDJSON records.\n\n", pgx_progname());
	printf("Usage:\n"
	       "  %1$s run IMAGE [OPTION]... [-- COMMAND [ARG]...]\n"
	       "  %1$s build --dockerfile FILE [--context DIR] --tag TAG\n"
	       "  %1$s logs CONTAINER [--follow]\n"
	       "  %1$s inspect CONTAINER\n", pgx_progname());
	printf("\nOptions for run:\n"
	       "  -e, --env=KEY=VALUE          set an environment variable in the container\n"
	       "  -v, --volume=SRC:DST[:ro]    bind-mount SRC at DST\n"
	       "      --name=NAME              name the container\n"
	       "  -p, --port=PORT              PostgreSQL port on 127.0.0.1 (default: 5432)\n"
	       "      --cgroup-parent=PATH     cgroup parent of the container\n"
	       "  -u, --until=WHEN             stop streaming at ready, exit (default) or\n"
	       "                               after SECONDS\n"
	       "      --stop                   stop the container when streaming stops\n"
	       "      --rm                     stop and remove the container on the way out\n"
	       "      --pull                   pull IMAGE when it is not present locally\n");
	printf("\nOptions for build:\n"
	       "  -f, --dockerfile=FILE        the Dockerfile\n"
	       "  -c, --context=DIR            the build context (default: .)\n"
	       "  -t, --tag=TAG                name of the image to build\n"
	       "      --progress               show the step and the time taken on stderr\n"
	       "                               (default: when stderr is a terminal)\n"
	       "      --no-progress            never show progress\n");
	printf("\nOptions for logs:\n"
	       "      --follow                 keep streaming until the container stops\n");
	printf("\nOther options:\n"
	       "  -V, --version                output version information, then exit\n"
	       "  -h, --help                   show this help, then exit\n");
	printf("\nThe daemon is reached at $DOCKER_HOST (unix:// only), default %s.\n"
	       "Exit status: 0 ok, 2 usage, 3 image or container not found, 4 no daemon,\n"
	       "5 permission denied, 6 output error, 7 the container failed, 130 interrupted.\n",
	       "unix://" DOCKER_DEFAULT_SOCKET);
}

/* Names go into URL paths as they are, so keep them to reference characters. */
static bool valid_ref(const char *s, const char *what)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
		      == strlen(s) && !strstr(s, ".."))
		return true;
	pgx_error("invalid %s \"%s\"", what, s);
	return false;
}

static bool parse_until(const char *arg, struct run_opts *o)
{
	if (!strcmp(arg, "ready"))
		o->until = UNTIL_READY;
	else if (!strcmp(arg, "exit"))
		o->until = UNTIL_EXIT;
	else if (pgx_parse_seconds(arg, "--until", &o->until_seconds))
		o->until = UNTIL_SECONDS;
	else
		return false;
	return true;
}

static bool add_pair(json_t *list, const char *arg, const char *opt)
{
	if (!strchr(arg, opt[2] == 'e' ? '=' : ':') || arg[0] == '=' || arg[0] == ':') {
		pgx_error("invalid value \"%s\" for option %s", arg, opt);
		return false;
	}
	json_array_append_new(list, json_string(arg));
	return true;
}

/* Split at "--": what follows is the container's command, never options. */
static int split_command(int argc, char **argv, json_t **cmd)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			*cmd = json_array();
			for (int j = i + 1; j < argc; j++)
				json_array_append_new(*cmd, json_string(argv[j]));
			argv[i] = NULL;
			return i;
		}
	return argc;
}

static bool parse_run_option(int c, struct run_opts *o)
{
	switch (c) {
	case 'e': return add_pair(o->env, optarg, "--env");
	case 'v': return add_pair(o->binds, optarg, "--volume");
	case 'N': o->name = optarg; return valid_ref(optarg, "container name");
	case 'p': return pgx_parse_long(optarg, "--port", 1, 65535, &o->port);
	case 'G': o->cgroup_parent = optarg; return true;
	case 'u': return parse_until(optarg, o);
	case 'S': o->stop = true; return true;
	case 'R': o->rm = true; return true;
	case 'P': o->pull = true; return true;
	default: return false;
	}
}

static int cmd_run(struct docker **d, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "env", required_argument, NULL, 'e' }, { "volume", required_argument, NULL, 'v' },
		{ "name", required_argument, NULL, 'N' }, { "port", required_argument, NULL, 'p' },
		{ "cgroup-parent", required_argument, NULL, 'G' },
		{ "until", required_argument, NULL, 'u' }, { "stop", no_argument, NULL, 'S' },
		{ "rm", no_argument, NULL, 'R' }, { "pull", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct run_opts o = { .env = json_array(), .binds = json_array(), .port = 5432 };
	const char *traced = getenv("PGX_TRACE_CGROUP");
	int c, status;

	/* Under pgx-trace, the container goes below the traced cgroup, so that
	 * what the daemon starts for us is traced too. */
	if (traced && *traced)
		o.cgroup_parent = traced;

	argc = split_command(argc, argv, &o.cmd);
	while ((c = getopt_long(argc, argv, "e:v:p:u:h", longopts, NULL)) != -1) {
		if (c == 'h')
			pgx_exit_help(usage);
		if (!parse_run_option(c, &o))
			pgx_usage_error(NULL);
	}
	if (optind != argc - 1)
		pgx_usage_error(optind >= argc ? "run needs an IMAGE" : "run takes one IMAGE, got \"%s\" too",
				argv[optind + 1]);
	o.image = argv[optind];
	if (!valid_ref(o.image, "image name"))
		pgx_usage_error(NULL);
	if ((status = (*d = docker_open(&status)) ? PGX_EXIT_OK : status) == PGX_EXIT_OK)
		status = docker_run(*d, &o);
	json_decref(o.env);
	json_decref(o.binds);
	json_decref(o.cmd);
	return status;
}

static int cmd_build(struct docker **d, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dockerfile", required_argument, NULL, 'f' },
		{ "context", required_argument, NULL, 'c' },
		{ "tag", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "progress", no_argument, NULL, 1 }, { "no-progress", no_argument, NULL, 2 },
		{ NULL, 0, NULL, 0 }
	};
	struct build_opts o = { .context = "." };
	int c, status;

	while ((c = getopt_long(argc, argv, "f:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': pgx_exit_help(usage);
		case 'f': o.dockerfile = optarg; break;
		case 'c': o.context = optarg; break;
		case 't': o.tag = optarg; break;
		case 1: o.progress = PGX_PROGRESS_ON; break;
		case 2: o.progress = PGX_PROGRESS_OFF; break;
		default: pgx_usage_error(NULL);
		}
	}
	if (optind < argc)
		pgx_usage_error("build takes no arguments, got \"%s\"", argv[optind]);
	if (!o.dockerfile || !o.tag)
		pgx_usage_error("build needs --dockerfile and --tag");
	if (!valid_ref(o.tag, "tag"))
		pgx_usage_error(NULL);
	if ((*d = docker_open(&status)))
		status = docker_build(*d, &o);
	return status;
}

/* logs and inspect: one CONTAINER, --follow for logs only. */
static int cmd_container(struct docker **d, int argc, char **argv, bool logs)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'F' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool follow = false;
	int c, status;

	/* inspect knows --help only */
	while ((c = getopt_long(argc, argv, "h", logs ? longopts : longopts + 1, NULL)) != -1) {
		if (c == 'h')
			pgx_exit_help(usage);
		if (c != 'F')
			pgx_usage_error(NULL);
		follow = true;
	}
	if (optind != argc - 1)
		pgx_usage_error("%s needs one CONTAINER", logs ? "logs" : "inspect");
	if (!valid_ref(argv[optind], "container name"))
		pgx_usage_error(NULL);
	if ((*d = docker_open(&status)))
		status = logs ? docker_logs(*d, argv[optind], follow)
			      : docker_inspect(*d, argv[optind]);
	return status;
}

static int dispatch(struct docker **d, const char *sub, int argc, char **argv)
{
	if (!strcmp(sub, "run"))
		return cmd_run(d, argc, argv);
	if (!strcmp(sub, "build"))
		return cmd_build(d, argc, argv);
	if (!strcmp(sub, "logs") || !strcmp(sub, "inspect"))
		return cmd_container(d, argc, argv, !strcmp(sub, "logs"));
	pgx_usage_error("unknown command \"%s\"", sub);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct docker *d = NULL;
	const char *sub;
	int c, status;

	pgx_init(argv[0]);
	argv[0] = (char *)pgx_progname();	/* getopt's messages: "pgx-docker: ..." */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': pgx_exit_help(usage);
		case 'V': pgx_exit_version();
		default: pgx_usage_error(NULL);
		}
	}
	if (optind >= argc)
		pgx_usage_error("no command given (run, build, logs or inspect)");
	pgx_install_signals();
	argc -= optind, argv += optind;
	optind = 0;	/* restart getopt for the subcommand, argv[0] is its name */
	sub = argv[0];
	argv[0] = (char *)pgx_progname();
	status = dispatch(&d, sub, argc, argv);
	docker_close(d);
	return pgx_finish(status);
}
