/* schema.h - share/pgx/records.yaml: every pgx record type, its writers and
 * fields (pgx-report validate) */
#ifndef PGX_SCHEMA_H
#define PGX_SCHEMA_H

#include <stdbool.h>
#include <jansson.h>
#include "report.h"

enum json_type_bit {
	JT_STRING = 1, JT_INTEGER = 2, JT_NUMBER = 4, JT_BOOLEAN = 8,
	JT_OBJECT = 16, JT_ARRAY = 32, JT_NULL = 64, JT_ANY = 127,
};

struct field_rule {
	const char *name;	/* may be a pattern: "*_per_s" */
	unsigned types;		/* JT_* bits; an integer also fits JT_NUMBER */
	bool optional, pattern;
};

struct record_rule {
	const char *type;
	json_t *writers;	/* the commands that write it (src) */
	VEC(struct field_rule) fields;
	bool open;		/* other fields allowed (other_fields: says why) */
};

struct schema {
	const char *path;
	json_t *doc;		/* the file as JSON; names point into it */
	VEC(struct record_rule) records;
};

/* false after reporting "PATH: what is wrong" */
bool schema_load(struct schema *s, const char *path);
void schema_free(struct schema *s);
const struct record_rule *schema_record(const struct schema *s, const char *type);
const struct field_rule *schema_field(const struct record_rule *r, const char *name);
bool schema_writer(const struct record_rule *r, const char *src);
unsigned json_type_bit(const json_t *v);
void json_types_name(unsigned bits, char *out, size_t outlen);	/* "number or null" */

#endif
