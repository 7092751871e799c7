/* yamljson.h - a YAML document as JSON, for the files under share/pgx */
#ifndef PGX_YAMLJSON_H
#define PGX_YAMLJSON_H

#include <stdbool.h>
#include <jansson.h>
#include <yaml.h>

/* Mappings, sequences, and scalars as strings (typed by the reader). */
json_t *yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth);

/* A check of the document before it is converted; false: refused (said). */
typedef bool yaml_check_fn(yaml_document_t *doc, const char *path);
/* The file as JSON (an empty file: an empty object); NULL after an error
 * naming the file and line.  check may be NULL. */
json_t *yaml_load_json(const char *path, yaml_check_fn *check);

#endif
