/* prefilter.c - skip lines no rule can match, using each rule's required literal
 *
 * Running every rule's regex on every line costs a PCRE2 call per rule and
 * line.  Instead each rule contributes GRAM-byte windows of a literal its
 * matches must contain; one pass over the line checks a 64 KiB table of
 * those grams (a byte each, a load and a test: a bit took four instructions
 * more per position) and only the rules whose literal is really there go on
 * to their regex.  Each literal registers STRIDE consecutive grams, so looking
 * at every STRIDE-th position of the line is enough to meet one of them.
 * Grams are four bytes (hashed to 16 bits) when every literal is that long:
 * pairs of letters are common in any text ("started" shares "te" and "ed"
 * with most statements), quads rarely; else pairs, as they are.
 */
#include <stdint.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"

#define MAX_STRIDE 4

struct pf_entry {
	size_t offset;		/* of the pair within the literal */
	size_t rule;
	uint32_t next;		/* next entry with the same pair, or NO_ENTRY */
};

#define NO_ENTRY UINT32_MAX

struct prefilter {
	uint8_t pair_seen[65536];	/* of grams: pairs or hashed quads; 1: some literal has it */
	uint32_t first[65536];	/* entries chained per gram */
	struct pf_entry *entries;
	size_t nentries;
	size_t gram;		/* 2 or 4 bytes */
	size_t stride;
	size_t *always;		/* rules without a literal */
	size_t nalways;
	const struct ruleset *rs;
};

/* Lower is rarer in log text: capitals and unusual punctuation beat
 * lowercase, and digits, spaces and the punctuation of timestamps and
 * "LOG:  " prefixes are on every line. */
static int byte_commonness(unsigned char c)
{
	if ((c >= '0' && c <= '9') || strchr(" :.-[](),=", c))
		return 10;
	if (strchr("etaoinsrhl", c))
		return 8;
	if (c >= 'a' && c <= 'z')
		return 6;
	if (c >= 'A' && c <= 'Z')
		return 4;
	return 3;
}

/* Start of the run of `stride` grams that looks rarest in log text. */
static size_t rarest_window(const char *lit, size_t len, size_t stride, size_t gram)
{
	size_t best = 0, span = stride + gram - 1;
	int best_score = 1 << 30;

	for (size_t w = 0; w + span <= len; w++) {
		int score = 0;
		for (size_t j = w; j < w + span; j++)
			score += byte_commonness((unsigned char)lit[j]);
		if (score < best_score)
			best = w, best_score = score;
	}
	return best;
}

static size_t shortest_literal(const struct ruleset *rs)
{
	size_t shortest = SIZE_MAX;

	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].literal && rs->rules[i].literal_len < shortest)
			shortest = rs->rules[i].literal_len;
	return shortest;
}

static void choose_gram(struct prefilter *pf)
{
	size_t shortest = shortest_literal(pf->rs);

	pf->gram = shortest != SIZE_MAX && shortest >= 4 ? 4 : 2;
	pf->stride = shortest == SIZE_MAX ? 1 : shortest - pf->gram + 1;
	if (pf->stride > MAX_STRIDE)
		pf->stride = MAX_STRIDE;
}

static uint16_t gram_at(const struct prefilter *pf, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t quad;

	if (pf->gram == 2)
		return (uint16_t)(u[0] | u[1] << 8);
	memcpy(&quad, u, 4);
	return (uint16_t)((quad * 2654435761u) >> 16);
}

static void add_pair(struct prefilter *pf, size_t rule, const char *lit, size_t offset)
{
	uint16_t pair = gram_at(pf, lit + offset);
	struct pf_entry *e = &pf->entries[pf->nentries];

	e->rule = rule;
	e->offset = offset;
	e->next = pf->first[pair];
	pf->first[pair] = (uint32_t)pf->nentries++;
	pf->pair_seen[pair] = 1;
}

struct prefilter *prefilter_new(const struct ruleset *rs)
{
	struct prefilter *pf = pgx_xmalloc(sizeof(*pf));

	memset(pf, 0, sizeof(*pf));
	pf->rs = rs;
	memset(pf->first, 0xff, sizeof(pf->first));
	choose_gram(pf);
	pf->entries = pgx_xmalloc(rs->nrules * pf->stride * sizeof(*pf->entries) + 1);
	pf->always = pgx_xmalloc(rs->nrules * sizeof(*pf->always) + 1);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		size_t w;

		if (!r->literal) {
			pf->always[pf->nalways++] = i;
			continue;
		}
		w = rarest_window(r->literal, r->literal_len, pf->stride, pf->gram);
		for (size_t j = 0; j < pf->stride; j++)
			add_pair(pf, i, r->literal, w + j);
	}
	return pf;
}

static void check_pair(const struct prefilter *pf, const char *s, size_t len, size_t at,
		       unsigned char *cand, size_t *n)
{
	for (uint32_t i = pf->first[gram_at(pf, s + at)]; i != NO_ENTRY; i = pf->entries[i].next) {
		const struct pf_entry *e = &pf->entries[i];
		const struct rule *r = &pf->rs->rules[e->rule];

		if (cand[e->rule] || at < e->offset || at - e->offset + r->literal_len > len)
			continue;
		if (!memcmp(s + at - e->offset, r->literal, r->literal_len)) {
			cand[e->rule] = 1;
			(*n)++;
		}
	}
}

static bool gram_seen(const struct prefilter *pf, unsigned gram)
{
	return pf->pair_seen[gram];
}

/* The loop every line goes through, without gram_at's choice in it; with
 * first, it stops where the first candidate is met and returns that
 * position (len: none met). */
static inline size_t scan_quads(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand,
				size_t *n, bool first)
{
	const size_t stride = pf->stride;
	uint32_t quad;

	for (size_t i = 0; i + 4 <= len; i += stride) {
		memcpy(&quad, s + i, 4);
		if (gram_seen(pf, (quad * 2654435761u) >> 16)) {
			check_pair(pf, s, len, i, cand, n);
			if (first && *n)
				return i;
		}
	}
	return len;
}

/* Could masking or UTF-8 repair make a literal appear that the raw text
 * lacks?  Only by writing one of the bytes they insert ('*', '\'', U+FFFD's). */
static bool literal_may_be_made(const char *lit, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lit[i] == '*' || lit[i] == '\'' || (unsigned char)lit[i] >= 0x80)
			return true;
	return false;
}

bool prefilter_can_reject(const struct prefilter *pf)
{
	if (pf->nalways)
		return false;
	for (size_t i = 0; i < pf->rs->nrules; i++)
		if (literal_may_be_made(pf->rs->rules[i].literal, pf->rs->rules[i].literal_len))
			return false;
	return true;
}

bool prefilter_any(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand)
{
	return len && prefilter_first(pf, s, len, cand) < len;
}

size_t prefilter_first(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand)
{
	size_t n = 0;

	if (pf->gram != 4)
		return prefilter_scan(pf, s, len, cand) ? 0 : len;
	memset(cand, 0, pf->rs->nrules);
	return scan_quads(pf, s, len, cand, &n, true);
}

size_t prefilter_scan(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand)
{
	size_t n = 0;

	memset(cand, 0, pf->rs->nrules);
	for (size_t i = 0; i < pf->nalways; i++)
		cand[pf->always[i]] = 1, n++;
	if (pf->gram == 4)
		scan_quads(pf, s, len, cand, &n, false);
	else
		for (size_t i = 0; i + 2 <= len; i += pf->stride)
			if (gram_seen(pf, gram_at(pf, s + i)))
				check_pair(pf, s, len, i, cand, &n);
	return n;
}

void prefilter_free(struct prefilter *pf)
{
	if (!pf)
		return;
	free(pf->entries);
	free(pf->always);
	free(pf);
}
