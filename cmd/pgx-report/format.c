/* format.c - numbers and text cells written the same way in every view */
#include <math.h>
#include <string.h>
#include "pgx.h"
#include "report.h"

/* Divide by the inverse: 2.4 stays 2.4, not 2.4000000000000004. */
double round_to(double v, double unit)
{
	double scale = round(1 / unit);

	return unit < 1 ? round(v * scale) / scale : round(v / unit) * unit;
}

/* -0.0004 would print as "-0.000s": a zero is a zero. */
static double tidy(double v, double unit)
{
	v = round_to(v, unit);
	return v == 0 ? 0 : v;
}

const char *fmt_secs(char buf[FMT_LEN], double s)
{
	if (s < 0 || !isfinite(s))
		return strcpy(buf, "-");
	snprintf(buf, FMT_LEN, "%.3fs", tidy(s, 0.001));
	return buf;
}

const char *fmt_delta(char buf[FMT_LEN], double s)
{
	snprintf(buf, FMT_LEN, "%+.3fs", tidy(s, 0.001));
	return buf;
}

const char *fmt_pct(char buf[FMT_LEN], double pct)
{
	if (pct < 0 || !isfinite(pct))
		return strcpy(buf, "-");
	snprintf(buf, FMT_LEN, "%.1f%%", tidy(pct, 0.1));
	return buf;
}

const char *fmt_delta_pct(char buf[FMT_LEN], double pct)
{
	if (!isfinite(pct))
		return strcpy(buf, "n/a");
	snprintf(buf, FMT_LEN, "%+.1f%%", tidy(pct, 0.1));
	return buf;
}

json_t *json_secs(double s)
{
	return json_real(tidy(s, 1e-6));
}

json_t *json_pct(double pct)
{
	return json_real(tidy(pct, 0.1));
}

/* Columns taken: one per code point (names are mostly ASCII). */
size_t utf8_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Byte offset where the last `keep` code points of s begin. */
static const char *utf8_tail(const char *s, size_t keep)
{
	size_t skip = utf8_width(s) - keep;

	while (skip) {
		s++;
		if (((unsigned char)*s & 0xC0) != 0x80)
			skip--;
	}
	return s;
}

void put_trunc(FILE *f, const char *s, size_t width)
{
	if (utf8_width(s) > width && width > 3) {
		fputs("...", f);
		fputs(utf8_tail(s, width - 3), f);
	} else {
		fputs(s, f);
	}
}

/* Byte length of the first `keep` code points of s. */
static size_t utf8_head(const char *s, size_t keep)
{
	const char *p = s;

	while (*p && keep) {
		p++;
		if (((unsigned char)*p & 0xC0) != 0x80)
			keep--;
	}
	return (size_t)(p - s);
}

/* The same cuts into a buffer of at least 4 * width + 4 bytes. */
const char *cut_front(char *out, size_t outlen, const char *s, size_t width)
{
	if (utf8_width(s) > width && width > 3)
		snprintf(out, outlen, "...%s", utf8_tail(s, width - 3));
	else
		snprintf(out, outlen, "%s", s);
	return out;
}

const char *cut_end(char *out, size_t outlen, const char *s, size_t width)
{
	if (utf8_width(s) > width && width > 3)
		snprintf(out, outlen, "%.*s...", (int)utf8_head(s, width - 3), s);
	else
		snprintf(out, outlen, "%s", s);
	return out;
}

static const char *cmd_short(const char *cmdline)
{
	size_t first = strcspn(cmdline, " ");
	const char *slash = memrchr(cmdline, '/', first);

	return slash && slash[1] && slash[1] != ' ' ? slash + 1 : cmdline;
}

/* A command line keeps its program (without directory) and its end, where
 * the file it works on usually is: "psql ...initdb.d/02-sleep.sql". */
const char *cut_command(char *out, size_t outlen, const char *cmdline, size_t width)
{
	const char *s = cmd_short(cmdline);
	size_t prog = strcspn(s, " "), prog_w;
	char head[64];

	if (utf8_width(s) <= width || prog >= sizeof(head))
		return cut_end(out, outlen, s, width);
	memcpy(head, s, prog);
	head[prog] = '\0';
	prog_w = utf8_width(head);
	if (prog_w + 4 + 12 > width)
		return cut_end(out, outlen, s, width);
	snprintf(out, outlen, "%s ...%s", head, utf8_tail(s, width - prog_w - 4));
	return out;
}

void put_cell(FILE *f, const char *s, size_t width, bool right)
{
	size_t w = utf8_width(s);

	if (w > width && width > 3) {
		put_trunc(f, s, width);
		return;
	}
	if (right)
		fprintf(f, "%*s", (int)(width - (w < width ? w : width)), "");
	fputs(s, f);
	if (!right)
		fprintf(f, "%*s", (int)(width - (w < width ? w : width)), "");
}

/* Words on lines of at most width columns; a longer word is cut. */
void put_wrapped(FILE *f, const char *indent, const char *text, size_t width)
{
	size_t avail = width - utf8_width(indent), col = 0, iw = utf8_width(indent);
	const char *p = text;

	fputs(indent, f);
	while (*p) {
		size_t len = strcspn(p, " "), w;
		char word[256];

		if (len >= sizeof(word))
			len = sizeof(word) - 1;
		while (len && ((unsigned char)p[len] & 0xC0) == 0x80)
			len--;	/* never cut a character in two */
		memcpy(word, p, len);
		word[len] = '\0';
		w = utf8_width(word);
		if (col && col + 1 + w > avail) {
			fprintf(f, "\n%*s  ", (int)iw, "");
			col = 2;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		if (w > avail - col) {
			put_trunc(f, word, avail - col);
			col = avail;
		} else {
			fputs(word, f);
			col += w;
		}
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	fputc('\n', f);
}
