/* yamljson.c - a YAML file under share/pgx (or a user's) as JSON */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "pgx.h"
#include "yamljson.h"

/* YAML to JSON: mappings, sequences, scalars as strings (typed later) */
json_t *yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	json_t *out;

	if (!n || depth > 32)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			json_t *v = yaml_node_json(doc, yaml_document_get_node(doc, *i), depth + 1);

			json_array_append_new(out, v ? v : json_null());
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v = yaml_node_json(doc, yaml_document_get_node(doc, p->value), depth + 1);

			if (k && k->type == YAML_SCALAR_NODE)
				json_object_set_new(out, (const char *)k->data.scalar.value, v ? v : json_null());
			else
				json_decref(v);
		}
		return out;
	default:
		return NULL;
	}
}

json_t *yaml_load_json(const char *path, yaml_check_fn *check)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	FILE *f = fopen(path, "r");

	if (!f) {
		pgx_error("cannot open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		pgx_error("%s:%zu: %s", path, parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "invalid YAML");
	} else {
		if ((!check || check(&doc, path)) &&
		    !(out = yaml_node_json(&doc, yaml_document_get_root_node(&doc), 0)))
			out = json_object();	/* an empty file */
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return out;
}
