/* prefilter.c - skip lines no rule can match, using each rule's required literal
 *
 * Running every rule's regex on every line costs a PCRE2 call per rule and
 * line.  Instead each rule contributes two-byte windows of a literal its
 * matches must contain; one pass over the line checks a 64 Kbit table of
 * those pairs and only the rules whose literal is really there go on to
 * their regex.  Each literal registers STRIDE consecutive pairs, so looking
 * at every STRIDE-th position of the line is enough to meet one of them.
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
	uint8_t pair_seen[65536 / 8];
	uint32_t first[65536];	/* entries chained per pair */
	struct pf_entry *entries;
	size_t nentries;
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

/* Start of the run of `stride` pairs that looks rarest in log text. */
static size_t rarest_window(const char *lit, size_t len, size_t stride)
{
	size_t best = 0;
	int best_score = 1 << 30;

	for (size_t w = 0; w + stride < len; w++) {
		int score = 0;
		for (size_t j = w; j < w + stride + 1; j++)
			score += byte_commonness((unsigned char)lit[j]);
		if (score < best_score)
			best = w, best_score = score;
	}
	return best;
}

static size_t choose_stride(const struct ruleset *rs)
{
	size_t stride = MAX_STRIDE;

	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].literal && rs->rules[i].literal_len - 1 < stride)
			stride = rs->rules[i].literal_len - 1;
	return stride ? stride : 1;
}

static uint16_t pair_at(const char *s)
{
	return (uint16_t)((unsigned char)s[0] | (unsigned char)s[1] << 8);
}

static void add_pair(struct prefilter *pf, size_t rule, const char *lit, size_t offset)
{
	uint16_t pair = pair_at(lit + offset);
	struct pf_entry *e = &pf->entries[pf->nentries];

	e->rule = rule;
	e->offset = offset;
	e->next = pf->first[pair];
	pf->first[pair] = (uint32_t)pf->nentries++;
	pf->pair_seen[pair >> 3] |= (uint8_t)(1u << (pair & 7));
}

struct prefilter *prefilter_new(const struct ruleset *rs)
{
	struct prefilter *pf = pgx_xmalloc(sizeof(*pf));

	memset(pf, 0, sizeof(*pf));
	pf->rs = rs;
	memset(pf->first, 0xff, sizeof(pf->first));
	pf->stride = choose_stride(rs);
	pf->entries = pgx_xmalloc(rs->nrules * pf->stride * sizeof(*pf->entries) + 1);
	pf->always = pgx_xmalloc(rs->nrules * sizeof(*pf->always) + 1);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		size_t w;

		if (!r->literal) {
			pf->always[pf->nalways++] = i;
			continue;
		}
		w = rarest_window(r->literal, r->literal_len, pf->stride);
		for (size_t j = 0; j < pf->stride; j++)
			add_pair(pf, i, r->literal, w + j);
	}
	return pf;
}

static void check_pair(const struct prefilter *pf, const char *s, size_t len, size_t at,
		       unsigned char *cand, size_t *n)
{
	for (uint32_t i = pf->first[pair_at(s + at)]; i != NO_ENTRY; i = pf->entries[i].next) {
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

size_t prefilter_scan(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	memset(cand, 0, pf->rs->nrules);
	for (size_t i = 0; i < pf->nalways; i++)
		cand[pf->always[i]] = 1, n++;
	for (size_t i = 0; i + 1 < len; i += pf->stride) {
		unsigned pair = u[i] | (unsigned)u[i + 1] << 8;
		if (pf->pair_seen[pair >> 3] & (1u << (pair & 7)))
			check_pair(pf, s, len, i, cand, &n);
	}
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
