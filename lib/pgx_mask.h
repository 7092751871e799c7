/* pgx_mask.h - no secret leaves pgx: passwords in query texts, log lines
 * and connection strings, masked before they reach a record or a message */
#ifndef PGX_MASK_H
#define PGX_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* The text with its secrets masked, recognisably:
 *   ... PASSWORD 'x' (any literal: '', E'', U&'', $$, doubled quotes)  -> PASSWORD '***'
 *   password=x, password='x' (conninfo, also inside SQL strings)        -> password=***
 *   scheme://user:x@host                                                -> scheme://user:***@host
 *   SCRAM-SHA-256$4096:..., md5 and 32 hex digits (stored verifiers)   -> SCRAM-SHA-256$***, md5***
 * NULL when there is nothing to mask (most texts: no copy is made);
 * otherwise a malloc'd, NUL-terminated string of *out_len bytes. */
char *pgx_mask_secrets(const char *s, size_t len, size_t *out_len);

/* pgx_json_text (invalid UTF-8 replaced) of the text with its secrets
 * masked: the "line" of a log record. */
json_t *pgx_mask_json_text(const char *s, size_t len);

/* The same, always a malloc'd copy (NULL for NULL). */
char *pgx_mask_secrets_dup(const char *s);

/* Every string value in v (objects and arrays, recursively) masked in
 * place; true if any changed. */
bool pgx_mask_json(json_t *v);

/* A private copy of a command-line argument holding a connection string,
 * and the argument's password overwritten with '*' where it lies, so that
 * ps and /proc/PID/cmdline no longer show it.  NULL for NULL. */
char *pgx_mask_take_arg(char *arg);

/* A message about a connection string (libpq's, which may echo parts of it)
 * with the secrets masked, and with the password of dsn masked wherever
 * the message quotes it, even as a fragment libpq could not parse.
 * Returns a malloc'd string. */
char *pgx_mask_conn_message(const char *msg, const char *dsn);

#endif
