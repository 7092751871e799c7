/* yamljson.h - a YAML document as JSON, for the files under share/pgx */
#ifndef PGX_YAMLJSON_H
#define PGX_YAMLJSON_H

#include <jansson.h>
#include <yaml.h>

/* Mappings, sequences, and scalars as strings (typed by the reader). */
json_t *yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth);

#endif
