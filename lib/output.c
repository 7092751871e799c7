/* output.c - NDJSON records on stdout, one compact line each */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pgx.h"

/* jansson prints every real with one precision: 17 digits is exact for all
 * of them, and shortest_reals() then trims each to the fewest digits that
 * read back as the same double (as jq and Python print numbers), so epoch
 * microseconds survive and 79.4 does not become 79.40000000000001. */
#define PGX_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))

static int flush_each = -1;	/* unknown until the first write */
static int write_errno;
static bool held;
static char *dump_buf;	/* json_dumpb target kept across records */
static size_t dump_cap;

/* Keep the first write error for pgx_finish to report; false for callers. */
static bool note_write_error(void)
{
	if (!write_errno)
		write_errno = errno ? errno : EIO;
	return false;
}

static bool stdout_is_interactive(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return true;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDOUT_FILENO);
}

static bool finish_line(void)
{
	if (flush_each < 0)
		flush_each = stdout_is_interactive();
	if (putchar('\n') == EOF || (flush_each && !held && fflush(stdout) == EOF))
		return note_write_error();
	return true;
}

void pgx_output_hold(bool hold)
{
	held = hold;
	if (!hold && fflush(stdout) == EOF)
		note_write_error();
}

bool pgx_emit_raw(const char *line, size_t len)
{
	if (write_errno)
		return false;
	pgx_progress_before_output();
	if (len && fwrite(line, 1, len, stdout) != len)
		return note_write_error();
	return finish_line();
}

/* printf's exponent has a sign and two digits at least; jansson's has
 * neither ("1e-5"), and the rewrite must never grow a token. */
static size_t trim_exponent(char *out, size_t n)
{
	char *e = strchr(out, 'e'), *d;

	if (!e)
		return n;
	d = e + 1 + (e[1] == '-');
	if (e[1] == '+')
		memmove(e + 1, e + 2, strlen(e + 2) + 1);
	while (d[0] == '0' && d[1])
		memmove(d, d + 1, strlen(d + 1) + 1);
	return strlen(out);
}

static size_t format_shortest(double v, char *out, size_t outlen)
{
	int n = 0;

	for (int digits = 15; digits <= 17; digits++) {
		n = snprintf(out, outlen, "%.*g", digits, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return trim_exponent(out, (size_t)n);
}

/* Index of the quote closing a string whose body starts at r, or len. */
static size_t string_end(const char *s, size_t r, size_t len)
{
	const char *q;

	while ((q = memchr(s + r, '"', len - r))) {
		size_t at = (size_t)(q - s), backslashes = 0;

		while (at - backslashes > r && s[at - backslashes - 1] == '\\')
			backslashes++;
		if (backslashes % 2 == 0)
			return at;
		r = at + 1;
	}
	return len;
}

static void move_down(char *s, size_t *w, size_t from, size_t n)
{
	if (*w != from)
		memmove(s + *w, s + from, n);
	*w += n;
}

/* Rewrite, in place, each real number token outside strings; never grows. */
static size_t shortest_reals(char *s, size_t len)
{
	size_t r = 0, w = 0;

	while (r < len) {
		size_t start = r, n;
		char num[40];
		bool is_real = false;

		if (s[r] == '"') {
			r = string_end(s, r + 1, len);
			r += r < len;
			move_down(s, &w, start, r - start);
			continue;
		}
		if (s[r] != '-' && !isdigit((unsigned char)s[r])) {
			s[w++] = s[r++];
			continue;
		}
		while (r < len && strchr("0123456789+-.eE", s[r]))
			is_real |= s[r] == '.' || s[r] == 'e' || s[r] == 'E', r++;
		n = r - start;
		if (is_real && n < sizeof(num)) {
			memcpy(num, s + start, n);
			num[n] = '\0';
			n = format_shortest(strtod(num, NULL), num, sizeof(num));
			memcpy(s + w, num, n);
			w += n;
		} else
			move_down(s, &w, start, n);
	}
	return w;
}

/* With PGX_VALIDATE_DIR set (the test harness sets it), every record this
 * process builds is also appended to DIR/PROG.PID.ndjson, for `pgx-report
 * validate` to check against share/pgx/records.yaml.  Unset, nothing happens;
 * a copy that cannot be written is skipped, never an error of the command. */
/* With stdout closed, open() returns 1: the records would go to the copy
 * and a closed stdout would no longer be a write error. */
static int above_stdio(int fd)
{
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

	close(fd);
	return moved;
}

static void copy_for_validation(const char *line, size_t len)
{
	static int fd = -2;
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };

	if (fd == -2) {
		const char *dir = getenv("PGX_VALIDATE_DIR");
		char *path;

		fd = -1;
		if (dir && *dir && asprintf(&path, "%s/%s.%ld.ndjson", dir, pgx_progname(), (long)getpid()) >= 0) {
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
			free(path);
		}
		if (fd >= 0 && fd <= STDERR_FILENO)
			fd = above_stdio(fd);
	}
	if (fd >= 0 && writev(fd, iov, 2) < 0)
		fd = -1;
}

bool pgx_emit(json_t *rec)
{
	size_t len;

	if (!rec)
		return false;
	while ((len = json_dumpb(rec, dump_buf, dump_cap, PGX_DUMP_FLAGS)) > dump_cap) {
		dump_cap = len * 2;
		dump_buf = pgx_xrealloc(dump_buf, dump_cap);
	}
	json_decref(rec);
	if (!len)
		pgx_die(PGX_EXIT_INTERNAL, "cannot serialise record (out of memory or invalid UTF-8)");
	len = shortest_reals(dump_buf, len);
	copy_for_validation(dump_buf, len);
	return pgx_emit_raw(dump_buf, len);
}

char *pgx_record_dumps(const json_t *rec, size_t *len)
{
	char *text = json_dumps(rec, PGX_DUMP_FLAGS);

	if (!text)
		pgx_die(PGX_EXIT_INTERNAL, "cannot serialise record (out of memory or invalid UTF-8)");
	*len = shortest_reals(text, strlen(text));
	text[*len] = '\0';
	copy_for_validation(text, *len);
	return text;
}

void pgx_json_write(FILE *f, const json_t *doc)
{
	size_t len;
	char *text = pgx_record_dumps(doc, &len);

	fwrite(text, 1, len, f);
	fputc('\n', f);
	free(text);
}

int pgx_finish(int status)
{
	free(dump_buf);
	dump_buf = NULL;
	dump_cap = 0;
	errno = 0;
	if (fflush(stdout) == EOF)
		note_write_error();
	if (ferror(stdout) && !write_errno)
		write_errno = EIO;
	if ((errno = pgx_output_done(!write_errno && status != PGX_EXIT_INTERRUPTED)))
		write_errno = errno;	/* what the -o file said, not EIO */
	if (fclose(stdout) == EOF)
		note_write_error();
	if (write_errno && pgx_output_name()) {
		pgx_error("cannot write \"%s\": %s", pgx_output_name(), strerror(write_errno));
		return PGX_EXIT_OUTPUT;
	}
	if (write_errno) {
		pgx_error("write error on standard output: %s", strerror(write_errno));
		return PGX_EXIT_OUTPUT;
	}
	return status;
}

json_t *pgx_record_new(const char *type, double ts)
{
	json_t *rec = json_object();

	if (!rec)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	json_object_set_new(rec, "type", json_string(type));
	pgx_set_ts(rec, "ts", ts < 0 ? pgx_now() : ts);
	json_object_set_new(rec, "src", json_string(pgx_progname()));
	return rec;
}

void pgx_set_ts(json_t *rec, const char *key, double ts)
{
	json_object_set_new(rec, key, json_real(pgx_round_us(ts)));
}

const char *pgx_rec_type(const json_t *rec)
{
	return pgx_rec_str(rec, "type");
}

const char *pgx_rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

long pgx_rec_int(const json_t *rec, const char *key, long dflt)
{
	json_t *v = json_object_get(rec, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

double pgx_rec_ts(const json_t *rec)
{
	json_t *ts = json_object_get(rec, "ts");

	return json_is_number(ts) ? json_number_value(ts) : -1;
}

bool pgx_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}
