/* health.c - which input is a health snapshot */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pgx.h"
#include "health.h"
#include "trend.h"

/* Put standard input in an anonymous file on descriptor 0, so it can be
 * read twice: once to see what it is, once by the view that renders it. */
static void spool_stdin(void)
{
	char buf[65536];
	ssize_t n;
	int fd = memfd_create("pgx-report-stdin", MFD_CLOEXEC);

	if (fd < 0)
		pgx_die(PGX_EXIT_INTERNAL, "cannot buffer standard input: %s", strerror(errno));
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR && !pgx_stop_signal)
			continue;
		if (n < 0 && pgx_stop_signal)
			break;
		if (n < 0)
			pgx_die(PGX_EXIT_INPUT, "cannot read stdin: %s", strerror(errno));
		if (write(fd, buf, (size_t)n) != n)
			pgx_die(PGX_EXIT_INTERNAL, "cannot buffer standard input: %s", strerror(errno));
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, STDIN_FILENO) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "cannot buffer standard input: %s", strerror(errno));
	close(fd);
}

static bool is_stdin(const char *path)
{
	return !strcmp(path, "-");
}

/* True when a record of a pgx-poll type is in the input; quiet about
 * malformed lines, which the chosen view reports. */
static bool scan_input(struct pgx_input *in)
{
	struct pgx_line line;
	bool found = false;

	while (!found && pgx_input_next(in, &line) == 1) {
		json_t *rec = pgx_json_parse_line(&line, NULL, 0);

		found = rec && health_type(pgx_rec_type(rec));
		json_decref(rec);
	}
	return found;
}

static bool input_is_health(char *const *files, size_t nfiles)
{
	bool found = false;

	for (size_t i = 0; !found && i < nfiles; i++) {
		struct pgx_input *in;

		if (is_stdin(files[i]))
			lseek(STDIN_FILENO, 0, SEEK_SET);
		if (!(in = pgx_input_open(files[i], PGX_MAX_LINE_DEFAULT)))
			continue;
		found = scan_input(in);
		pgx_input_close(in);
	}
	lseek(STDIN_FILENO, 0, SEEK_SET);
	return found;
}

struct file_list {
	char **v;
	size_t n, cap;
};

static int visible_file(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A directory of cron snapshots stands for its regular files, in name
 * order; hidden files and subdirectories are left out. */
static bool add_directory(struct file_list *l, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, visible_file, alphasort);
	size_t before = l->n;

	if (n < 0) {
		pgx_error("cannot read directory \"%s\": %s", dir, strerror(errno));
		return false;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
		char *path = pgx_xmalloc(len);
		struct stat st;

		snprintf(path, len, "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			*vec_push(l) = path;
		else
			free(path);
		free(names[i]);
	}
	free(names);
	if (l->n == before) {
		pgx_error("no file in directory \"%s\"", dir);
		return false;
	}
	return true;
}

/* The operands with each directory replaced by its files. */
static bool expand_operands(struct file_list *l, char *const *files, size_t nfiles)
{
	bool ok = true;

	for (size_t i = 0; i < nfiles; i++) {
		struct stat st;

		if (!is_stdin(files[i]) && stat(files[i], &st) == 0 && S_ISDIR(st.st_mode))
			ok &= add_directory(l, files[i]);
		else
			*vec_push(l) = pgx_xstrdup(files[i]);
	}
	return ok;
}

static void file_list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

struct render_arg {
	const struct snapshot *s;
	enum health_format fmt;
	long top;
};

static void render_health(FILE *f, void *arg)
{
	const struct render_arg *a = arg;
	json_t *doc;

	switch (a->fmt) {
	case HF_PROM: prom_render(f, a->s, a->top); break;
	case HF_HTML: html_render(f, a->s, a->top); break;
	case HF_JSON:
		doc = snapshot_document(a->s);
		pgx_json_write(f, doc);
		json_decref(doc);
		break;
	default: health_table_render(f, a->s, a->top); break;
	}
}

static int report_snapshot(char *const *files, size_t nfiles, enum health_format fmt,
			   const char *output, long top)
{
	struct snapshot s;
	struct render_arg arg = { &s, fmt, top };
	int status;

	snapshot_init(&s);
	if (fmt == HF_HTML)
		snapshot_keep_history(&s, trend_slim);
	snapshot_load(&s, files, nfiles);
	status = snapshot_status(&s);
	if (status == PGX_EXIT_INTERRUPTED) {
		/* nothing written */
	} else if (!s.nhealth) {
		pgx_error("no pgx-poll record in %s (this format reads the output of pgx-poll)",
			  nfiles == 1 ? (is_stdin(files[0]) ? "stdin" : files[0]) : "the input files");
		status = PGX_EXIT_INPUT;
	} else if (!pgx_output_to(output)) {
		status = PGX_EXIT_OUTPUT;
	} else {
		render_health(stdout, &arg);
	}
	snapshot_free(&s);
	return status;
}

int health_report(char *const *files, size_t nfiles, enum health_format fmt,
		  bool known_health, const char *output, long top)
{
	static char *const dash[] = { "-", NULL };
	bool any_stdin = nfiles == 0;
	struct file_list in = { 0 };
	int status;

	for (size_t i = 0; i < nfiles; i++)
		any_stdin |= is_stdin(files[i]);
	if (!nfiles) {
		files = dash;
		nfiles = 1;
	}
	if (any_stdin)
		spool_stdin();
	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	if (!expand_operands(&in, files, nfiles))
		status = PGX_EXIT_INPUT;
	else if (!known_health && !input_is_health(in.v, in.n))
		status = -1;
	else
		status = report_snapshot(in.v, in.n, fmt, output, top);
	file_list_free(&in);
	return status;
}
