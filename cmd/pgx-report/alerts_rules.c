/* alerts_rules.c - the alert catalog (share/pgx/alerts.yaml), a user's
 * file merged over it rule by rule, and PGX_ALERT_* overrides */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "pgx.h"
#include "health.h"
#include "alerts.h"
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

#define RULE_KEYS "name, summary, record, each, value, op, when, warn, crit, sigma, " \
		  "for, window, rate, message, key, enabled"

static bool is_rule_key(const char *k)
{
	static const char *const keys[] = {
		"name", "summary", "record", "each", "value", "op", "when", "warn", "crit",
		"sigma", "for", "window", "rate", "message", "key", "enabled", NULL,
	};

	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool check_rule_keys(yaml_document_t *doc, yaml_node_t *rule, const char *path)
{
	if (rule->type != YAML_MAPPING_NODE)
		return true;	/* rule_from_json says what is missing */
	for (yaml_node_pair_t *p = rule->data.mapping.pairs.start; p < rule->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (scalar(k) && !is_rule_key(scalar(k))) {
			pgx_error("%s:%zu: unknown key \"%s\" in an alert rule (known: " RULE_KEYS ")",
				  path, k->start_mark.line + 1, scalar(k));
			return false;
		}
	}
	return true;
}

/* A misspelt key (critical: for crit) would leave the default in force
 * without a word, so every key must be one this file format has. */
static bool check_keys(yaml_document_t *doc, const char *path)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *rules = NULL;

	if (!root || root->type != YAML_MAPPING_NODE)
		return true;	/* rules_of says a "rules:" list is expected */
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (scalar(k) && strcmp(scalar(k), "rules")) {
			pgx_error("%s:%zu: unknown key \"%s\" (an alert file has \"rules:\" only)",
				  path, k->start_mark.line + 1, scalar(k));
			return false;
		}
		rules = yaml_document_get_node(doc, p->value);
	}
	if (!rules || rules->type != YAML_SEQUENCE_NODE)
		return true;
	for (yaml_node_item_t *i = rules->data.sequence.items.start; i < rules->data.sequence.items.top; i++)
		if (!check_rule_keys(doc, yaml_document_get_node(doc, *i), path))
			return false;
	return true;
}

static json_t *yaml_load_json(const char *path)
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
		if (check_keys(&doc, path) &&
		    !(out = yaml_node_json(&doc, yaml_document_get_root_node(&doc), 0)))
			out = json_object();	/* an empty file */
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return out;
}

static json_t *rules_of(json_t *doc, const char *path)
{
	json_t *rules = json_object_get(doc, "rules");

	if (!json_is_array(rules)) {
		pgx_error("%s: a \"rules:\" list is expected", path);
		return NULL;
	}
	return rules;
}

static json_t *find_rule(json_t *rules, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(rules, i, r)
		if (name && json_is_string(json_object_get(r, "name")) &&
		    !strcmp(json_string_value(json_object_get(r, "name")), name))
			return r;
	return NULL;
}

/* The user's rules: fields replace the catalog's, new names are added,
 * `enabled: false` removes a rule. */
static bool merge_user(json_t *rules, const char *path)
{
	json_t *doc = yaml_load_json(path), *user, *r;
	size_t i;

	if (!doc || !(user = rules_of(doc, path))) {
		json_decref(doc);
		return false;
	}
	json_array_foreach(user, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *base = find_rule(rules, name);

		if (!json_is_object(r) || !name) {
			pgx_error("%s: rule %zu has no name", path, i + 1);
			json_decref(doc);
			return false;
		}
		if (base)
			json_object_update(base, r);
		else
			json_array_append(rules, r);
	}
	json_decref(doc);
	return true;
}

static char *str_field(const json_t *r, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(r, key));

	return s ? pgx_xstrdup(s) : dflt ? pgx_xstrdup(dflt) : NULL;
}

/* A threshold: a number, or off/null/"" for a severity the rule lacks */
static bool parse_threshold(const char *s, double *out)
{
	char *end;

	if (!s || !*s || !strcmp(s, "off") || !strcmp(s, "null") || !strcmp(s, "~")) {
		*out = NAN;
		return true;
	}
	errno = 0;
	*out = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	return !errno && end != s && !*end && isfinite(*out);
}

static bool number_field(const json_t *r, const char *rule, const char *key, double *out, double dflt)
{
	const char *s = json_string_value(json_object_get(r, key));

	if (!json_object_get(r, key) || json_is_null(json_object_get(r, key))) {
		*out = dflt;
		return true;
	}
	if (parse_threshold(s, out))
		return true;
	pgx_error("alert rule \"%s\": invalid %s \"%s\"", rule, key, s ? s : "(not a scalar)");
	return false;
}

static bool seconds_field(const json_t *r, const char *rule, const char *key, double *out, double dflt)
{
	const char *s = json_string_value(json_object_get(r, key));
	char opt[64];

	if (!s) {
		*out = dflt;
		return true;
	}
	snprintf(opt, sizeof(opt), "%s of rule %s", key, rule);
	return pgx_parse_seconds(s, opt, out);
}

static const char *const env_what[] = { "WARN", "CRIT", "FOR" };

/* PGX_ALERT_<RULE>_<WHAT>: the rule's name upper-cased, other than letters
 * and digits as _ */
static void env_name(char *name, size_t size, const char *rule, const char *what)
{
	size_t j = (size_t)snprintf(name, size, "PGX_ALERT_");

	for (const char *p = rule; *p && j < size - 8; p++)
		name[j++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	snprintf(name + j, size - j, "_%s", what);
}

static bool env_override(struct rule *r)
{
	char name[160];

	for (size_t i = 0; i < 3; i++) {
		const char *v;

		env_name(name, sizeof(name), r->name, env_what[i]);
		if (!(v = getenv(name)))
			continue;
		if (i == 2 ? !pgx_parse_seconds(v, name, &r->for_s)
			   : !parse_threshold(v, i == 0 ? &r->warn : &r->crit)) {
			if (i != 2)
				pgx_error("invalid value \"%s\" for %s (a number, or off)", v, name);
			return false;
		}
	}
	return true;
}

/* Parse every expression once against nothing, so a typo is a load error */
static bool check_syntax(const struct rule *r)
{
	struct expr_ctx cx = { .now = 0 };
	char err[256];
	double v;

	if (!expr_eval(r->value, &cx, &v, err, sizeof(err))) {
		pgx_error("alert rule \"%s\": value: %s", r->name, err);
		return false;
	}
	for (size_t i = 0; i < r->nwhen; i++)
		if (expr_cond(r->when[i], &cx, err, sizeof(err)) < 0) {
			pgx_error("alert rule \"%s\": when: %s", r->name, err);
			return false;
		}
	if (!strstr(" > >= < <= == != ", r->op) || strchr(r->op, ' ') || !*r->op) {
		pgx_error("alert rule \"%s\": invalid op \"%s\" (> >= < <= == !=)", r->name, r->op);
		return false;
	}
	return true;
}

static bool rule_from_json(struct rule *r, const json_t *j)
{
	json_t *when = json_object_get(j, "when"), *w;
	size_t i;

	r->name = str_field(j, "name", NULL);
	r->record = str_field(j, "record", NULL);
	r->value = str_field(j, "value", NULL);
	if (!r->name || !r->record || !r->value) {
		pgx_error("alert rule \"%s\": name, record and value are required",
			  r->name ? r->name : "?");
		return false;
	}
	r->summary = str_field(j, "summary", r->name);
	r->each = str_field(j, "each", NULL);
	r->op = str_field(j, "op", ">");
	r->message = str_field(j, "message", r->summary);
	r->key = str_field(j, "key", "{{cluster}}");
	r->rate = json_is_string(json_object_get(j, "rate")) &&
		  !strcmp(json_string_value(json_object_get(j, "rate")), "true");
	if (json_is_string(when))
		when = json_pack("[O]", when);
	else
		json_incref(when);
	r->when = pgx_xmalloc((json_array_size(when) + 1) * sizeof(char *));
	json_array_foreach(when, i, w)
		if (json_is_string(w))
			r->when[r->nwhen++] = pgx_xstrdup(json_string_value(w));
	json_decref(when);
	return number_field(j, r->name, "warn", &r->warn, NAN) &&
	       number_field(j, r->name, "crit", &r->crit, NAN) &&
	       number_field(j, r->name, "sigma", &r->sigma, 0) &&
	       seconds_field(j, r->name, "for", &r->for_s, 0) &&
	       seconds_field(j, r->name, "window", &r->window_s, 900) &&
	       env_override(r) && check_syntax(r);
}

static bool env_names_rule(const json_t *rules, const char *var, size_t len)
{
	const json_t *r;
	char name[160];
	size_t i;

	json_array_foreach(rules, i, r) {
		const char *rule = json_string_value(json_object_get(r, "name"));

		for (size_t w = 0; rule && w < 3; w++) {
			env_name(name, sizeof(name), rule, env_what[w]);
			if (strlen(name) == len && !strncmp(name, var, len))
				return true;
		}
	}
	return false;
}

/* An override of a rule that does not exist (a typo) would be ignored while
 * the operator believes the threshold set. */
static bool check_env(const json_t *rules)
{
	extern char **environ;

	for (char **e = environ; *e; e++) {
		size_t len = strcspn(*e, "=");

		if (strncmp(*e, "PGX_ALERT_", 10) || env_names_rule(rules, *e, len))
			continue;
		pgx_error("%.*s names no alert rule (PGX_ALERT_<RULE>_WARN, _CRIT or _FOR; "
			  "%s alerts --list shows the rules)", (int)len, *e, pgx_progname());
		return false;
	}
	return true;
}

static bool enabled(const json_t *j)
{
	const char *e = json_string_value(json_object_get(j, "enabled"));

	return !e || (strcmp(e, "false") && strcmp(e, "no") && strcmp(e, "off"));
}

bool catalog_load(struct catalog *c, const char *catalog_path, const char *user_path)
{
	json_t *doc = yaml_load_json(catalog_path), *rules, *j;
	bool ok = doc && (rules = rules_of(doc, catalog_path));
	size_t i;

	memset(c, 0, sizeof(*c));
	if (ok && user_path)
		ok = merge_user(rules, user_path);
	if (ok)
		ok = check_env(rules);
	if (ok) {
		c->rules = pgx_xmalloc((json_array_size(rules) + 1) * sizeof(*c->rules));
		json_array_foreach(rules, i, j) {
			if (!enabled(j))
				continue;
			memset(&c->rules[c->n], 0, sizeof(*c->rules));
			c->n++;
			if (!(ok = rule_from_json(&c->rules[c->n - 1], j)))
				break;
		}
	}
	json_decref(doc);
	return ok;
}

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->summary);
	free(r->record);
	free(r->each);
	free(r->value);
	free(r->op);
	free(r->message);
	free(r->key);
	for (size_t i = 0; i < r->nwhen; i++)
		free(r->when[i]);
	free(r->when);
}

void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	memset(c, 0, sizeof(*c));
}

static json_t *num_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

json_t *rule_json(const struct rule *r)
{
	json_t *o = pgx_record_new("alert_rule", -1), *when = json_array();

	for (size_t i = 0; i < r->nwhen; i++)
		json_array_append_new(when, json_string(r->when[i]));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "summary", json_string(r->summary));
	json_object_set_new(o, "record", json_string(r->record));
	json_object_set_new(o, "each", r->each ? json_string(r->each) : json_null());
	json_object_set_new(o, "value", json_string(r->value));
	json_object_set_new(o, "op", json_string(r->op));
	json_object_set_new(o, "when", when);
	json_object_set_new(o, "warn", num_or_null(r->warn));
	json_object_set_new(o, "crit", num_or_null(r->crit));
	json_object_set_new(o, "for_s", json_real(r->for_s));
	json_object_set_new(o, "rate", json_boolean(r->rate));
	json_object_set_new(o, "sigma", r->sigma > 0 ? json_real(r->sigma) : json_null());
	json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "key", json_string(r->key));
	return o;
}
