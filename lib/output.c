/* output.c - NDJSON records on stdout, one compact line each */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pgx.h"

/* Every real is written with the fewest digits that read back as the same
 * double (as jq and Python print numbers), so epoch microseconds survive and
 * 79.4 does not become 79.40000000000001. */

/* Each thread writes records of its own: a second thread reading part of
 * an input writes them to a file of its own (pgx_output_thread_file). */
static __thread FILE *thread_file;	/* NULL: stdout */
static __thread int flush_each = -1;	/* unknown until the first write */
static __thread int write_errno;
static __thread bool held;
static __thread char *dump_buf;	/* the record writer's buffer, kept across records */
static __thread size_t dump_cap;

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
	if (thread_file)
		return putc('\n', thread_file) != EOF || note_write_error();
	if (flush_each < 0)
		flush_each = stdout_is_interactive();
	if (putchar('\n') == EOF || (flush_each && !held && fflush(stdout) == EOF))
		return note_write_error();
	return true;
}

/* A pipe holds 64 KiB by default, one buffer of ours: the writer then
 * waits for the reader to empty it after each write, and the two take turns
 * on the CPUs (a context switch per write).  A larger pipe lets them run at
 * once.  Never shrunk; a size refused (over pipe-max-size or the user's
 * quota) leaves it as it was. */
static void widen_stdout_pipe(void)
{
	const int wanted = 1 << 20;
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl(STDOUT_FILENO, F_GETPIPE_SZ) < wanted)
		fcntl(STDOUT_FILENO, F_SETPIPE_SZ, wanted);
}

void pgx_output_bulk(void)
{
	static char buf[64u << 10];	/* glibc takes no size without a buffer */

	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	widen_stdout_pipe();
}

void pgx_output_hold(bool hold)
{
	held = hold;
	if (!hold && fflush(stdout) == EOF)
		note_write_error();
}

void pgx_output_thread_file(FILE *f)
{
	thread_file = f;
}

bool pgx_emit_raw(const char *line, size_t len)
{
	if (write_errno)
		return false;
	if (!thread_file)
		pgx_progress_before_output();
	if (len && fwrite(line, 1, len, thread_file ? thread_file : stdout) != len)
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

/* "00" to "99": digits are written two at a time */
static const char digit_pairs[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static size_t integer_digits(unsigned long long u, char *out)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	size_t n;

	for (; u >= 100; u /= 100)
		memcpy(p -= 2, digit_pairs + 2 * (u % 100), 2);
	if (u >= 10)
		memcpy(p -= 2, digit_pairs + 2 * u, 2);
	else
		*--p = (char)('0' + u);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

/* m / 10^k as %g writes it: fixed from 1e-4 up, else d.ddde-X */
static size_t print_decimal(bool negative, unsigned long long m, int k, char *out, size_t outlen)
{
	char digits[24], *o = out;
	int n = (int)integer_digits(m, digits), exp10 = n - 1 - k;

	if (outlen < 48)
		return 0;
	if (negative)
		*o++ = '-';
	if (exp10 < -4) {
		*o++ = digits[0];
		if (n > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)n - 1);
			o += n - 1;
		}
		*o++ = 'e';
		*o++ = '-';
		o += integer_digits((unsigned long long)-exp10, o);
	} else if (n > k) {
		memcpy(o, digits, (size_t)(n - k));
		o += n - k;
		if (k) {
			*o++ = '.';
			memcpy(o, digits + n - k, (size_t)k);
			o += k;
		}
	} else {
		memcpy(o, "0.000", (size_t)(2 + k - n));
		o += 2 + k - n;
		memcpy(o, digits, (size_t)n);
		o += n;
	}
	*o = '\0';
	return (size_t)(o - out);
}

/* What format_shortest() finds, without printf's floating point, when v is
 * a decimal m / 10^k with m < 2^53 and k <= 22: that quotient is rounded
 * once (Clinger), so its reading back as v proves that this decimal rounds
 * to v; when decimals of its length are spaced wider than v's ulp it is
 * the only one, so the one "%.15g" or "%.16g" prints.  The smallest such k
 * is the fewest digits.  0 when v is not such a number. */
static size_t format_short_decimal(double v, char *out, size_t outlen)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	double a = fabs(v), ulp = nextafter(a, INFINITY) - a;

	if (!(a >= 1e-20 && a < 1e15))
		return 0;
	for (int k = 0; k < (int)(sizeof(pow10) / sizeof(*pow10)); k++) {
		double scaled = a * pow10[k];
		unsigned long long m = (unsigned long long)(scaled + 0.5);

		if (scaled >= 0x1p53)
			return 0;
		if ((double)m / pow10[k] != a)
			continue;
		if ((k && m % 10 == 0) || ulp * pow10[k] >= 1)
			return 0;	/* not provably the shortest: let printf decide */
		return print_decimal(v < 0, m, k, out, outlen);
	}
	return 0;
}

/* The whole seconds of the last time written: a log's lines mostly share them. */
static __thread struct {
	unsigned long long secs;
	char digits[24];
	size_t len;
} last_seconds = { 0, "0", 1 };

static char *write_seconds(char *o, unsigned long long secs)
{
	if (secs != last_seconds.secs) {
		last_seconds.secs = secs;
		last_seconds.len = integer_digits(secs, last_seconds.digits);
	}
	memcpy(o, last_seconds.digits, last_seconds.len);
	return o + last_seconds.len;
}

/* ".000001" to ".999999" without trailing zeros; nothing for 0 */
static char *write_microseconds(char *o, unsigned long us)
{
	if (!us)
		return o;
	*o++ = '.';
	memcpy(o, digit_pairs + 2 * (us / 10000), 2);
	memcpy(o + 2, digit_pairs + 2 * (us / 100 % 100), 2);
	memcpy(o + 4, digit_pairs + 2 * (us % 100), 2);
	o += 6;
	while (o[-1] == '0')
		o--;
	return o;
}

/* format_short_decimal() in one step for a value in [1, 2^33) (a time in
 * seconds) that is a whole number of microseconds, as pgx_round_us() makes
 * them; 0 for any other.  A microsecond is wider than such a value's ulp
 * (2^-20 at most), so one multiple of it at most reads back as v: m / 10^6
 * here.  The first k where that loop finds a decimal is then m's trailing
 * zeros off 6: below 6 its m (v * 10^k, off by less than 0.2) is exactly
 * this one's digits, at 6 it computes this very m; and its later checks
 * hold (ulp * 10^k < 1, v * 10^k < 2^53).  print_decimal() writes that
 * decimal (v >= 1) as its whole seconds, then the microseconds, if any,
 * without their trailing zeros. */
static size_t format_whole_microseconds(double v, char *out, size_t outlen)
{
	double a = fabs(v);
	unsigned long long m;
	char *o = out;

	if (!(a >= 1 && a < 0x1p33) || outlen < 32)
		return 0;
	m = (unsigned long long)(a * 1e6 + 0.5);
	if ((double)m / 1e6 != a)
		return 0;
	if (v < 0)
		*o++ = '-';
	o = write_seconds(o, m / 1000000);
	o = write_microseconds(o, (unsigned long)(m % 1000000));
	*o = '\0';
	return (size_t)(o - out);
}

static size_t format_shortest(double v, char *out, size_t outlen)
{
	int n = 0;
	size_t fast = format_whole_microseconds(v, out, outlen);

	if (!fast)
		fast = format_short_decimal(v, out, outlen);

	if (fast)
		return fast;

	for (int digits = 15; digits <= 17; digits++) {
		n = snprintf(out, outlen, "%.*g", digits, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return trim_exponent(out, (size_t)n);
}

/* ---- the record writer: jansson's compact form with shortest reals ----
 *
 * What json_dumpb(JSON_COMPACT | JSON_REAL_PRECISION(17)) wrote before
 * each real was rewritten in place to its shortest form, in one pass and
 * without jansson's per-codepoint string loop or the 17-digit round trip of
 * every real: keys in the object's own order, strings escaped as jansson
 * escapes them (\" \\ \b \f \n \r \t, other control bytes \u00XX, the
 * rest as is), integers in full, reals at their shortest.  (The in-place
 * rewrite broke records with a real in [1e16, 1e17): "45819590486778240.0"
 * became "4.581959048677824e16", one byte longer, over the next field.) */

struct text_buf {
	char *s;
	size_t len, cap;
};

static void buf_reserve(struct text_buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = (b->len + more + 1) * 2;
	b->s = pgx_xrealloc(b->s, b->cap);
}

static inline void buf_add(struct text_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/* Whether any of 8 bytes is a control byte, '"' or '\\' (SWAR: a byte of
 * x - 0x01.. borrows below 0x80 only where x's byte was below the bound). */
static bool word_needs_escape(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');

	return (((w - ones * 0x20) | (quote - ones) | (backslash - ones)) & ~w & high) != 0;
}

static char *write_escape(char *o, unsigned char c)
{
	/* what follows the backslash of a control byte: 'u' for \u00XX */
	static const char control[] = "uuuuuuuubtnufruuuuuuuuuuuuuuuuuu";
	static const char hex[] = "0123456789ABCDEF";

	*o++ = '\\';
	*o++ = c < 0x20 ? control[c] : (char)c;
	if (c < 0x20 && control[c] == 'u') {
		memcpy(o, "00", 2);
		o[2] = hex[c >> 4];
		o[3] = hex[c & 15];
		o += 4;
	}
	return o;
}

/* Whether any of 16 bytes needs an escape (SSE2's compares, or NEON's). */
static bool block_needs_escape(const char *s)
{
	bytes16 v, escapes;
	uint64_t hit[2];

	memcpy(&v, s, 16);
	escapes = (bytes16)(v < 0x20) | (bytes16)(v == '"') | (bytes16)(v == '\\');
	memcpy(hit, &escapes, 16);
	return (hit[0] | hit[1]) != 0;
}

/* Room is made for the rest of the string at its start and at each escape
 * (six bytes at most), so the runs that need none are copied 16 and 8
 * bytes at a time as they are checked. */
static void write_string(struct text_buf *b, const char *s, size_t n)
{
	char *o;
	size_t i = 0;
	uint64_t w;

	buf_reserve(b, n + 2);
	o = b->s + b->len;
	*o++ = '"';
	while (i < n) {
		for (; i + 16 <= n && !block_needs_escape(s + i); i += 16, o += 16)
			memcpy(o, s + i, 16);
		for (; i + 8 <= n; i += 8, o += 8) {
			memcpy(&w, s + i, 8);
			if (word_needs_escape(w))
				break;
			memcpy(o, &w, 8);
		}
		for (; i < n && !needs_escape((unsigned char)s[i]); i++)
			*o++ = s[i];
		if (i == n)
			break;
		b->len = (size_t)(o - b->s);
		buf_reserve(b, 6 + (n - i - 1) + 1);
		o = write_escape(b->s + b->len, (unsigned char)s[i++]);
	}
	*o++ = '"';
	b->len = (size_t)(o - b->s);
}

static bool write_value(struct text_buf *b, const json_t *v);

static void write_integer(struct text_buf *b, json_int_t v)
{
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

	buf_reserve(b, 24);
	if (v < 0)
		b->s[b->len++] = '-';
	b->len += integer_digits(u, b->s + b->len);
}

static bool write_object(struct text_buf *b, const json_t *obj)
{
	const char *key;
	json_t *v;
	bool first = true;

	buf_add(b, "{", 1);
	json_object_foreach((json_t *)obj, key, v) {
		if (!first)
			buf_add(b, ",", 1);
		first = false;
		if (pgx_utf8_invalid_at(key, strlen(key)) >= 0)
			return false;
		write_string(b, key, strlen(key));
		buf_add(b, ":", 1);
		if (!write_value(b, v))
			return false;
	}
	buf_add(b, "}", 1);
	return true;
}

static bool write_array(struct text_buf *b, const json_t *arr)
{
	buf_add(b, "[", 1);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		if (i)
			buf_add(b, ",", 1);
		if (!write_value(b, json_array_get(arr, i)))
			return false;
	}
	buf_add(b, "]", 1);
	return true;
}

static bool write_value(struct text_buf *b, const json_t *v)
{
	char num[48];

	switch (json_typeof(v)) {
	case JSON_OBJECT: return write_object(b, v);
	case JSON_ARRAY: return write_array(b, v);
	case JSON_STRING:
		if (pgx_utf8_invalid_at(json_string_value(v), json_string_length(v)) >= 0)
			return false;	/* jansson refuses to write it too */
		write_string(b, json_string_value(v), json_string_length(v));
		return true;
	case JSON_INTEGER:
		write_integer(b, json_integer_value(v));
		return true;
	case JSON_REAL:
		buf_add(b, num, format_shortest(json_real_value(v), num, sizeof(num)));
		return true;
	case JSON_TRUE: buf_add(b, "true", 4); return true;
	case JSON_FALSE: buf_add(b, "false", 5); return true;
	case JSON_NULL: buf_add(b, "null", 4); return true;
	}
	return false;
}

/* The record's text in b (b->len from 0); dies as jansson's dump failed. */
static void write_record(struct text_buf *b, const json_t *rec)
{
	b->len = 0;
	if (!json_is_object(rec) && !json_is_array(rec))
		pgx_die(PGX_EXIT_INTERNAL, "cannot serialise record (not an object)");
	if (!write_value(b, rec))
		pgx_die(PGX_EXIT_INTERNAL, "cannot serialise record (out of memory or invalid UTF-8)");
	b->s[b->len] = '\0';
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
	static __thread int fd = -2;	/* O_APPEND: a thread's records each whole */
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
	struct text_buf b = { dump_buf, 0, dump_cap };

	if (!rec)
		return false;
	write_record(&b, rec);
	dump_buf = b.s;
	dump_cap = b.cap;
	json_decref(rec);
	copy_for_validation(dump_buf, b.len);
	return pgx_emit_raw(dump_buf, b.len);
}

char *pgx_json_dumps(const json_t *doc, size_t *len)
{
	struct text_buf b = { NULL, 0, 0 };

	write_record(&b, doc);
	*len = b.len;
	return b.s;
}

char *pgx_record_dumps(const json_t *rec, size_t *len)
{
	char *text = pgx_json_dumps(rec, len);

	copy_for_validation(text, *len);
	return text;
}

static __thread struct text_buf flat;
static __thread bool flat_first;	/* no member yet in the innermost object */

/* ,"KEY": -- a key is a name in the code or a regex group's name (word
 * characters: no control byte, quote or backslash), so it needs no escape
 * and is copied as it is, in one reservation: four keys a log record, where
 * checking each byte cost as much as the copy. */
static void flat_key(const char *key)
{
	size_t n = strlen(key);
	char *o;

	buf_reserve(&flat, n + 4);
	o = flat.s + flat.len;
	if (!flat_first)
		*o++ = ',';
	flat_first = false;
	*o++ = '"';
	memcpy(o, key, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	flat.len = (size_t)(o - flat.s);
}

/* What a record's head wrote for a string it depends on (its type, the
 * program's name), kept for the next record: a command writes few types,
 * and copying the bytes costs less than escaping them again. */
#define FRAGMENTS 4
struct fragments {
	struct {
		char of[32], text[96];
		size_t len;	/* 0: unused */
	} f[FRAGMENTS];
	size_t next;
};

static bool fragment_copied(const struct fragments *c, const char *of)
{
	for (size_t i = 0; i < FRAGMENTS; i++)
		if (c->f[i].len && !strcmp(c->f[i].of, of)) {
			buf_add(&flat, c->f[i].text, c->f[i].len);
			return true;
		}
	return false;
}

/* flat.s[from..flat.len), written for of, kept if it fits */
static void fragment_keep(struct fragments *c, const char *of, size_t from)
{
	size_t i = c->next++ % FRAGMENTS;

	if (strlen(of) >= sizeof(c->f[i].of) || flat.len - from > sizeof(c->f[i].text))
		return;
	strcpy(c->f[i].of, of);
	memcpy(c->f[i].text, flat.s + from, flat.len - from);
	c->f[i].len = flat.len - from;
}

/* {"type":TYPE,"ts": */
static void flat_head(const char *type)
{
	static __thread struct fragments heads;

	flat_first = false;
	if (fragment_copied(&heads, type))
		return;
	buf_add(&flat, "{", 1);
	flat_first = true;
	pgx_flat_str("type", type, strlen(type));
	flat_key("ts");
	fragment_keep(&heads, type, 0);
}

/* ,"src":PROGRAM */
static void flat_src(void)
{
	static __thread struct fragments sources;
	const char *prog = pgx_progname();
	size_t from = flat.len;

	if (fragment_copied(&sources, prog))
		return;
	flat_key("src");
	write_string(&flat, prog, strlen(prog));
	fragment_keep(&sources, prog, from);
}

void pgx_flat_begin(const char *type, double ts)
{
	char num[48];

	flat.len = 0;
	flat_head(type);
	buf_add(&flat, num, format_shortest(pgx_round_us(ts < 0 ? pgx_now() : ts), num, sizeof(num)));
	flat_src();
}

void pgx_flat_str(const char *key, const char *s, size_t len)
{
	flat_key(key);
	write_string(&flat, s, len);
}

void pgx_flat_text(const char *key, const char *s, size_t len)
{
	char *clean;

	if (pgx_utf8_invalid_at(s, len) < 0) {
		pgx_flat_str(key, s, len);
		return;
	}
	clean = pgx_utf8_sanitize(s, len, &len);
	pgx_flat_str(key, clean, len);
	free(clean);
}

void pgx_flat_json(const char *key, const json_t *v)
{
	flat_key(key);
	if (!write_value(&flat, v))
		pgx_die(PGX_EXIT_INTERNAL, "cannot serialise record (out of memory or invalid UTF-8)");
}

void pgx_flat_int(const char *key, long long v)
{
	flat_key(key);
	write_integer(&flat, v);
}

void pgx_flat_real(const char *key, double v)
{
	char num[48];

	flat_key(key);
	buf_add(&flat, num, format_shortest(v, num, sizeof(num)));
}

void pgx_flat_literal(const char *key, const char *json)
{
	flat_key(key);
	buf_add(&flat, json, strlen(json));
}

void pgx_flat_object(const char *key)
{
	flat_key(key);
	buf_add(&flat, "{", 1);
	flat_first = true;
}

void pgx_flat_close(void)
{
	buf_add(&flat, "}", 1);
	flat_first = false;
}

void pgx_output_thread_end(void)
{
	free(dump_buf);
	free(flat.s);
	dump_buf = NULL;
	dump_cap = 0;
	memset(&flat, 0, sizeof(flat));
}

const char *pgx_flat_line(size_t *len)
{
	buf_add(&flat, "}", 1);
	flat.s[flat.len] = '\0';
	copy_for_validation(flat.s, flat.len);
	*len = flat.len;
	return flat.s;
}

bool pgx_flat_emit(void)
{
	size_t len;
	const char *line = pgx_flat_line(&len);

	return pgx_emit_raw(line, len);
}

void pgx_json_write(FILE *f, const json_t *doc)
{
	size_t len;
	char *text = pgx_json_dumps(doc, &len);

	fwrite(text, 1, len, f);
	fputc('\n', f);
	free(text);
}

int pgx_finish(int status)
{
	free(dump_buf);
	dump_buf = NULL;
	dump_cap = 0;
	free(flat.s);
	flat = (struct text_buf){ NULL, 0, 0 };
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
