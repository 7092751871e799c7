/* fuzz_mask.c - libFuzzer target: the password masker (lib/mask.c) and the
 * SQL normalizer (lib/sqlnorm.c) on the same texts */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever surrounds it, a plain literal after PASSWORD never survives. */
static void check_planted_secret(const char *s, size_t size)
{
	static const char head[] = "ALTER ROLE a PASSWORD '", want[] = "ALTER ROLE a PASSWORD '***'";
	char *text, *out;
	size_t n = 0;

	if (!size || memchr(s, '\'', size) || memchr(s, '\\', size) || memchr(s, '\0', size))
		return;
	text = pgx_xmalloc(sizeof(head) + size + 1);
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, s, size);
	memcpy(text + sizeof(head) - 1 + size, "'", 2);
	out = pgx_mask_secrets(text, strlen(text), &n);
	if (!out || strcmp(out, want) || n != strlen(want))
		abort();
	free(out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t n = 0;
	char *masked = pgx_mask_secrets(s, size, &n), *text, *copy, *msg;

	if (masked && masked[n] != '\0')
		abort();
	free(pgx_sql_normalize(masked ? masked : s, masked ? n : size));
	free(masked);
	check_planted_secret(s, size);

	text = pgx_xmalloc(size + 1);	/* the NUL-terminated uses: argv and messages */
	memcpy(text, s, size);
	text[size] = '\0';
	copy = pgx_mask_take_arg(text);
	if (strlen(copy) != strlen(text))
		abort();
	msg = pgx_mask_conn_message(copy, copy);
	free(msg);
	free(copy);
	free(text);
	return 0;
}
