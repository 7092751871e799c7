/* sqlnorm_check.c - lib/sqlnorm.c against sqlnorm_cases.tsv (statement, shape)
 *
 * Each statement's shape is also asked of a shape cache of two entries,
 * once or three times: it fills, is forgotten and, mostly missed, is
 * bypassed, over and over; whichever way, it must give the same shape. */
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"
#include "cases.h"

static struct pgx_sql_cache *cache;

static bool cache_agrees(const char *sql, const char *shape)
{
	static unsigned long calls;
	int lookups = calls++ % 4 ? 1 : 3;

	for (int i = 0; i < lookups; i++) {
		const struct pgx_sql_shape *sh = pgx_sql_cache_shape(cache, sql, strlen(sql));
		if (strcmp(sh->text, shape) || sh->len != strlen(shape) || sh->hash != pgx_hash_bytes(shape, sh->len))
			return false;
	}
	return true;
}

static char *shape(const struct unit_case *c)
{
	char *direct = pgx_sql_normalize(c->col[0], strlen(c->col[0]));

	if (cache_agrees(c->col[0], direct))
		return direct;
	free(direct);
	return unit_fmt("(the shape cache gave another shape)");
}

int main(int argc, char **argv)
{
	int rc;

	cache = pgx_sql_cache_new(2);
	rc = unit_main(argc, argv, 2, shape);
	pgx_sql_cache_free(cache);
	return rc;
}
