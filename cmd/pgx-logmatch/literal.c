/* literal.c - find a literal substring that every match of a regex contains
 *
 * Deliberately conservative: only runs of plain characters outside groups
 * count (an atomic group is a group), a top-level alternation or an inline option gives up, and a
 * quantifier takes its atom out of the run.  When in doubt, return nothing:
 * the rule is then tried on every line, which is slower but never wrong.
 */
#include <ctype.h>
#include <string.h>
#include "logmatch.h"

struct literal_scan {
	char run[256], best[256];
	size_t run_len, best_len;
};

static void end_run(struct literal_scan *ls)
{
	if (ls->run_len > ls->best_len) {
		memcpy(ls->best, ls->run, ls->run_len);
		ls->best_len = ls->run_len;
	}
	ls->run_len = 0;
}

static void add_char(struct literal_scan *ls, char c)
{
	if (ls->run_len + 1 < sizeof(ls->run))
		ls->run[ls->run_len++] = c;
}

static bool is_quantifier(const char *p)
{
	return *p == '?' || *p == '*' || *p == '+' || (*p == '{' && isdigit((unsigned char)p[1]));
}

/* Skip a quantifier at p (with its lazy/possessive suffix); return its end. */
static const char *skip_quantifier(const char *p)
{
	if (*p == '{')
		p = strchr(p, '}') ? strchr(p, '}') : p + strlen(p) - 1;
	p++;
	if (*p == '?' || *p == '+')
		p++;
	return p;
}

/* Skip a character class starting at '['; return the char after ']'. */
static const char *skip_class(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']')
		p += (*p == '\\' && p[1]) ? 2 : 1;
	return *p ? p + 1 : p;
}

/* Skip a group starting at '('; return the char after its ')'. */
static const char *skip_group(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '[')
			p = skip_class(p) - 1;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

/* Skip an escape such as \d, \x41, \x{263a}, \p{L}, \k<name> or \12 starting
 * at the backslash.  Hex and octal digits after it are skipped too: dropping
 * a literal is safe, taking "41" from \x41 would not be. */
static const char *skip_escape(const char *p)
{
	char close;

	p += 2;
	close = *p == '{' ? '}' : *p == '<' ? '>' : *p == '\'' ? '\'' : '\0';
	if (close && strchr(p + 1, close))
		p = strchr(p + 1, close) + 1;
	while (isxdigit((unsigned char)*p))
		p++;
	return p;
}

/* Add an atom's character to the run, minding a quantifier after it. */
static void add_atom(struct literal_scan *ls, char c, const char **next)
{
	if (!is_quantifier(*next)) {
		add_char(ls, c);
		return;
	}
	if (**next == '+')
		add_char(ls, c);
	end_run(ls);
	*next = skip_quantifier(*next);
}

size_t regex_required_literal(const char *re, char *out, size_t outlen)
{
	struct literal_scan ls = { .run_len = 0, .best_len = 0 };
	const char *p = re, *next;

	while (*p) {
		if (*p == '|' || (*p == '(' && p[1] == '?' && p[2] != ':' && p[2] != '<' &&
				  p[2] != 'P' && p[2] != '=' && p[2] != '!' && p[2] != '>'))
			return out[0] = '\0', 0;	/* alternation or inline options */
		if (*p == '\\' && p[1] && ispunct((unsigned char)p[1])) {
			next = p + 2;
			add_atom(&ls, p[1], &next);
		} else if (*p == '\\' || *p == '[' || *p == '(' || *p == '.' || *p == '^' || *p == '$') {
			next = *p == '[' ? skip_class(p) : *p == '(' ? skip_group(p) :
			       *p == '\\' && p[1] ? skip_escape(p) : p + 1;
			end_run(&ls);
			if (is_quantifier(next))
				next = skip_quantifier(next);
		} else {
			next = p + 1;
			add_atom(&ls, *p, &next);
		}
		p = next;
	}
	end_run(&ls);
	if (ls.best_len >= outlen)
		ls.best_len = outlen - 1;
	memcpy(out, ls.best, ls.best_len);
	out[ls.best_len] = '\0';
	return ls.best_len;
}
