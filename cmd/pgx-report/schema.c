/* schema.c - share/pgx/records.yaml, the one definition of every pgx record
 * type: its writers and its fields with their JSON types */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "schema.h"
#include "yamljson.h"

static const struct {
	const char *name;
	unsigned bits;
} json_types[] = {
	{ "string", JT_STRING }, { "integer", JT_INTEGER }, { "number", JT_NUMBER },
	{ "boolean", JT_BOOLEAN }, { "object", JT_OBJECT }, { "array", JT_ARRAY },
	{ "null", JT_NULL }, { "any", JT_ANY },
};

static unsigned type_bits(const char *name)
{
	for (size_t i = 0; i < sizeof(json_types) / sizeof(*json_types); i++)
		if (!strcmp(json_types[i].name, name))
			return json_types[i].bits;
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	s += strspn(s, " ");
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

/* "number|null, optional, unit s": the types, then optional and unit. */
static bool parse_spec(const char *spec, struct field_rule *f)
{
	char *copy = pgx_xstrdup(spec), *save = NULL, *part, *alt, *save2 = NULL;
	bool ok = true, first = true;

	for (part = strtok_r(copy, ",", &save); part && ok; part = strtok_r(NULL, ",", &save), first = false) {
		part = trim(part);
		if (first) {
			for (alt = strtok_r(part, "|", &save2); alt && ok; alt = strtok_r(NULL, "|", &save2))
				ok = (f->types |= type_bits(alt)) && type_bits(alt);
		} else if (!strcmp(part, "optional"))
			f->optional = true;
		else
			ok = !strncmp(part, "unit ", 5) && part[5];
	}
	free(copy);
	return ok && f->types;
}

static bool add_field(struct schema *s, struct record_rule *r, const char *name, json_t *spec,
		      bool all_optional, const char *where)
{
	struct field_rule *f;

	for (size_t i = 0; i < r->fields.n; i++)
		if (!strcmp(r->fields.v[i].name, name)) {
			pgx_error("%s: %s.%s: defined twice (in %s too)", s->path, r->type, name, where);
			return false;
		}
	f = vec_push(&r->fields);
	f->name = name;
	f->pattern = strchr(name, '*') != NULL;
	if (!json_is_string(spec) || !parse_spec(json_string_value(spec), f)) {
		pgx_error("%s: %s: field %s: \"%s\" is not TYPE[|TYPE...][, optional][, unit UNIT] "
			  "(types: string integer number boolean object array null any)",
			  s->path, where, name, json_is_string(spec) ? json_string_value(spec) : "?");
		return false;
	}
	f->optional |= all_optional;
	return true;
}

static bool add_fields(struct schema *s, struct record_rule *r, json_t *fields, bool all_optional,
		       const char *where)
{
	const char *name;
	json_t *spec;

	if (fields && !json_is_object(fields)) {
		pgx_error("%s: %s: fields must be a mapping of NAME: TYPE", s->path, where);
		return false;
	}
	json_object_foreach(fields, name, spec)
		if (!add_field(s, r, name, spec, all_optional, where))
			return false;
	return true;
}

static bool add_group(struct schema *s, struct record_rule *r, const char *group, bool all_optional)
{
	json_t *g = json_object_get(json_object_get(s->doc, "groups"), group);

	if (!g) {
		pgx_error("%s: records.%s: no group \"%s\" under groups", s->path, r->type, group);
		return false;
	}
	return add_fields(s, r, json_object_get(g, "fields"), all_optional, group);
}

/* The common group, the record's groups, its own fields; with "extends",
 * every field of that record as optional too. */
static bool add_record_fields(struct schema *s, struct record_rule *r, const char *type,
			      json_t *def, bool all_optional, int depth)
{
	json_t *groups = json_object_get(def, "groups"), *g, *base;
	const char *parent = json_string_value(json_object_get(def, "extends"));
	size_t i;

	json_array_foreach(groups, i, g)
		if (!add_group(s, r, json_string_value(g) ? json_string_value(g) : "?", all_optional))
			return false;
	if (!add_fields(s, r, json_object_get(def, "fields"), all_optional, type))
		return false;
	if (!parent)
		return true;
	base = json_object_get(json_object_get(s->doc, "records"), parent);
	if (!base || depth > 4) {
		pgx_error("%s: records.%s: extends \"%s\", which is not a record type here", s->path, type, parent);
		return false;
	}
	return add_record_fields(s, r, parent, base, true, depth + 1);
}

static bool add_record(struct schema *s, const char *type, json_t *def)
{
	struct record_rule *r = vec_push(&s->records);
	json_t *writers = json_object_get(def, "writers");

	r->type = type;
	r->writers = writers;
	r->open = json_is_string(json_object_get(def, "other_fields"));
	if (!json_is_array(writers) || !json_array_size(writers)) {
		pgx_error("%s: records.%s: writers must list the commands that write it", s->path, type);
		return false;
	}
	if (json_object_get(json_object_get(s->doc, "groups"), "every") && !add_group(s, r, "every", false))
		return false;
	return add_record_fields(s, r, type, def, false, 0);
}

bool schema_load(struct schema *s, const char *path)
{
	const char *type;
	json_t *def, *records;

	memset(s, 0, sizeof(*s));
	s->path = path;
	if (!(s->doc = yaml_load_json(path, NULL)))
		return false;
	records = json_object_get(s->doc, "records");
	if (!json_is_object(records) || !json_object_size(records)) {
		pgx_error("%s: no records: mapping", path);
		return false;
	}
	json_object_foreach(records, type, def)
		if (!add_record(s, type, def))
			return false;
	return true;
}

void schema_free(struct schema *s)
{
	for (size_t i = 0; i < s->records.n; i++)
		free(s->records.v[i].fields.v);
	free(s->records.v);
	json_decref(s->doc);
	memset(s, 0, sizeof(*s));
}

const struct record_rule *schema_record(const struct schema *s, const char *type)
{
	for (size_t i = 0; type && i < s->records.n; i++)
		if (!strcmp(s->records.v[i].type, type))
			return &s->records.v[i];
	return NULL;
}

/* An exact name first, then a pattern such as "*_per_s". */
const struct field_rule *schema_field(const struct record_rule *r, const char *name)
{
	for (size_t i = 0; i < r->fields.n; i++)
		if (!r->fields.v[i].pattern && !strcmp(r->fields.v[i].name, name))
			return &r->fields.v[i];
	for (size_t i = 0; i < r->fields.n; i++)
		if (r->fields.v[i].pattern && !fnmatch(r->fields.v[i].name, name, 0))
			return &r->fields.v[i];
	return NULL;
}

bool schema_writer(const struct record_rule *r, const char *src)
{
	size_t i;
	json_t *w;

	json_array_foreach(r->writers, i, w)
		if (json_is_string(w) && !strcmp(json_string_value(w), src))
			return true;
	return false;
}

unsigned json_type_bit(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return JT_STRING;
	case JSON_INTEGER: return JT_INTEGER;
	case JSON_REAL: return JT_NUMBER;
	case JSON_TRUE: case JSON_FALSE: return JT_BOOLEAN;
	case JSON_OBJECT: return JT_OBJECT;
	case JSON_ARRAY: return JT_ARRAY;
	default: return JT_NULL;
	}
}

/* "number or null" */
void json_types_name(unsigned bits, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	if (bits == JT_ANY) {
		snprintf(out, outlen, "any");
		return;
	}
	for (size_t i = 0; i < sizeof(json_types) / sizeof(*json_types) && n < outlen; i++)
		if (json_types[i].bits != JT_ANY && (bits & json_types[i].bits))
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " or " : "", json_types[i].name);
}
