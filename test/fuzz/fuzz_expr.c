/* fuzz_expr.c - libFuzzer target: pgx-report's alert expressions
 *
 * The input's first line is an expression (also tried as a condition and a
 * message template), the rest a JSON record it is evaluated against; an
 * array in the record's "items" supplies the element, as `each` would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t first = nl ? (size_t)(nl - s) : size;
	json_t *rec = nl ? json_loadb(nl + 1, size - first - 1, 0, NULL) : NULL;
	struct expr_ctx cx = { .rec = rec, .now = 1795317400.0 };
	char *src = strndup(s, first), err[256];
	double v;

	if (!src) {
		json_decref(rec);
		return 0;
	}
	cx.elem = json_array_get(json_object_get(rec, "items"), 0);
	expr_eval(src, &cx, &v, err, sizeof(err));
	expr_cond(src, &cx, err, sizeof(err));
	free(expr_template(src, &cx, rec));
	free(src);
	json_decref(rec);
	return 0;
}
