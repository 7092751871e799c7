/* pgx_sql.h - SQL statement shapes, shared by pgx-logmatch (grouping) and
 * pgx-report (slowlog) */
#ifndef PGX_SQL_H
#define PGX_SQL_H

#include <stddef.h>
#include <stdint.h>

/* One statement shape per query.  Literals (strings, E'', B'', X'', U&'',
 * dollar quotes, numbers) and $n parameters become ?, IN lists become
 * "in (...)", comments go, whitespace folds to one space and everything
 * outside double-quoted identifiers is lower case, and operators, commas
 * and parentheses are spaced one way.  Returns a malloc'd string. */
char *pgx_sql_normalize(const char *sql, size_t len);

/* A 64-bit hash of len bytes (not cryptographic; for hash tables). */
uint64_t pgx_hash_bytes(const char *s, size_t len);

/* A cache from the raw text of a statement to its shape: a log repeats the
 * same statements (same literals) again and again, and a lookup costs one
 * hash and one memcmp where normalizing reads the statement char by char.
 * It holds at most max_entries statements (and their shapes) and forgets
 * them all when full, so its memory stays bounded on a log whose literals
 * never repeat. */
struct pgx_sql_cache;
struct pgx_sql_shape {
	const char *text;	/* NUL-terminated */
	size_t len;
	uint64_t hash;		/* pgx_hash_bytes(text, len) */
	void *user;		/* the caller's (its row for the shape): NULL when new */
};
struct pgx_sql_cache *pgx_sql_cache_new(size_t max_entries);
/* The shape of sql; it belongs to the cache and stays valid until the next
 * call (copy it to keep it).  user stays as the caller set it for as long
 * as the cache remembers the statement. */
struct pgx_sql_shape *pgx_sql_cache_shape(struct pgx_sql_cache *c, const char *sql, size_t len);
/* The same in two steps, for a caller with other work to do meanwhile:
 * the hash of sql, its slot of the table asked of memory ahead (a table of
 * many statements is out of the CPU's caches), then the shape. */
uint64_t pgx_sql_cache_prefetch(const struct pgx_sql_cache *c, const char *sql, size_t len);
struct pgx_sql_shape *pgx_sql_cache_shape_hashed(struct pgx_sql_cache *c, const char *sql, size_t len,
						 uint64_t hash);
void pgx_sql_cache_free(struct pgx_sql_cache *c);

/* The p-quantile of v[0..n) (n > 0) by nearest rank: the smallest value
 * with at least p*n values at or below it.  Reorders v (a quickselect, not
 * a sort).  A slow log's p95 in pgx-logmatch --group and pgx-report. */
double pgx_nearest_rank(double *v, size_t n, double p);

/* One JSON number at *p that ends at ',', ']' or the string's end, as
 * strtod reads it; *p is left on the character after it.  false: none
 * there.  The values of a slow log's match_group record. */
bool pgx_list_number(const char **p, double *out);

#endif
