/* rules.c - load YAML rules files and compile their PCRE2 patterns */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "pgx.h"
#include "logmatch.h"

#define MIN_LITERAL 3

struct rules_file {
	const char *path;
	yaml_document_t doc;
	struct ruleset *rs;
};

static bool yaml_fail(const struct rules_file *f, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool yaml_fail(const struct rules_file *f, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pgx_error("%s:%lu: %s", f->path, node ? (unsigned long)node->start_mark.line + 1 : 0UL, msg);
	return false;
}

static const char *scalar(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static bool scalar_bool(const struct rules_file *f, const yaml_node_t *node, bool *out)
{
	const char *v = scalar(node);

	if (v && (!strcmp(v, "true") || !strcmp(v, "yes")))
		return *out = true, true;
	if (v && (!strcmp(v, "false") || !strcmp(v, "no")))
		return *out = false, true;
	return yaml_fail(f, node, "expected true or false");
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* A scalar or a sequence of scalars, as a string list; a key given twice
 * replaces the first list. */
static bool string_list(const struct rules_file *f, yaml_node_t *node, char ***out, size_t *n)
{
	yaml_node_item_t *item;

	free_list(*out, *n);
	*out = NULL;
	*n = 0;
	if (scalar(node)) {
		*out = pgx_xmalloc(sizeof(char *));
		(*out)[0] = pgx_xstrdup(scalar(node));
		*n = 1;
		return true;
	}
	if (node->type != YAML_SEQUENCE_NODE)
		return yaml_fail(f, node, "expected a name or a list of names");
	*n = 0;
	*out = pgx_xmalloc(sizeof(char *) * (size_t)(node->data.sequence.items.top - node->data.sequence.items.start));
	for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
		yaml_node_t *el = yaml_document_get_node((yaml_document_t *)&f->doc, *item);
		if (!scalar(el))
			return yaml_fail(f, el, "expected a name");
		(*out)[(*n)++] = pgx_xstrdup(scalar(el));
	}
	return true;
}

/* options: a rule's regex runs only on text made valid UTF-8 first
 * (match_valid), and is matched without a check (PCRE2_NO_UTF_CHECK);
 * PCRE2_MATCH_INVALID_UTF, for a timestamp's on a raw line, would make
 * each character of a (?s:.*) to the end be read one by one. */
static pcre2_code *compile_regex(const struct rules_file *f, const yaml_node_t *node, const char *what,
				 uint32_t options)
{
	int errcode;
	PCRE2_SIZE erroff;
	PCRE2_UCHAR msg[256];
	pcre2_code *re;
	const char *src = scalar(node);

	if (!src) {
		yaml_fail(f, node, "%s: regex must be a string", what);
		return NULL;
	}
	re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, options, &errcode, &erroff, NULL);
	if (!re) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		yaml_fail(f, node, "%s: regex does not compile at offset %zu: %s", what, (size_t)erroff, msg);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);	/* falls back to the interpreter */
	return re;
}

bool regex_jit_compiled(const pcre2_code *re)
{
	size_t size = 0;

	return pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &size) == 0 && size > 0;
}

static bool group_exists(const pcre2_code *re, const char *name)
{
	return pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) > 0;
}

static bool check_groups(const struct rules_file *f, const yaml_node_t *node, const struct rule *r)
{
	for (size_t i = 0; i < r->ncaptures; i++)
		if (!group_exists(r->re, r->captures[i]))
			return yaml_fail(f, node, "rule \"%s\": capture \"%s\" is not a named group of its regex",
					 r->name, r->captures[i]);
	for (size_t i = 0; i < r->nnumbers; i++)
		if (!group_exists(r->re, r->numbers[i]))
			return yaml_fail(f, node, "rule \"%s\": number \"%s\" is not a named group of its regex",
					 r->name, r->numbers[i]);
	return true;
}

static void rule_free(struct rule *r)
{
	if (r->group) {
		free(r->group->by);
		free(r->group->measure);
		free(r->group->example);
		free_list(r->group->sums, r->group->nsums);
		free(r->group->sum_groups);
		free(r->group);
	}
	free(r->name);
	free(r->origin);
	free(r->literal);
	free_list(r->captures, r->ncaptures);
	free_list(r->numbers, r->nnumbers);
	pcre2_match_data_free(r->md);
	pcre2_code_free(r->re);
}

static bool group_field(const struct rules_file *f, struct group_spec *g, const char *key, yaml_node_t *val)
{
	const char *v = scalar(val);

	if (!strcmp(key, "sum")) {
		free_list(g->sums, g->nsums);
		g->sums = NULL, g->nsums = 0;
		return string_list(f, val, &g->sums, &g->nsums);
	}
	if (!v || !*v)
		return yaml_fail(f, val, "group: %s must be a non-empty string", key);
	if (!strcmp(key, "by")) {
		free(g->by);
		g->by = pgx_xstrdup(v);
	} else if (!strcmp(key, "measure")) {
		free(g->measure);
		g->measure = pgx_xstrdup(v);
	} else if (!strcmp(key, "example")) {
		free(g->example);
		g->example = pgx_xstrdup(v);
	} else if (!strcmp(key, "normalize")) {
		if (strcmp(v, "sql") && strcmp(v, "none"))
			return yaml_fail(f, val, "group: normalize must be sql or none, not \"%s\"", v);
		g->sql = !strcmp(v, "sql");
	} else
		return yaml_fail(f, val, "unknown group key \"%s\" (expected by, normalize, measure, example, sum)", key);
	return true;
}

static bool parse_group(struct rules_file *f, struct rule *r, yaml_node_t *node)
{
	if (node->type != YAML_MAPPING_NODE)
		return yaml_fail(f, node, "group must be a mapping (keys by, normalize, measure, example, sum)");
	r->group = pgx_xmalloc(sizeof(*r->group));
	memset(r->group, 0, sizeof(*r->group));
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		const char *key = scalar(yaml_document_get_node(&f->doc, p->key));
		if (!key || !group_field(f, r->group, key, yaml_document_get_node(&f->doc, p->value)))
			return false;
	}
	if (r->group->sql && !r->group->by)
		return yaml_fail(f, node, "group: normalize needs by, the capture to normalize");
	return true;
}

/* The number of a named group for group's key, or 0 after an error. */
static unsigned capture_number(const struct rules_file *f, const yaml_node_t *node, const struct rule *r,
			       const char *what, const char *name)
{
	int n = pcre2_substring_number_from_name(r->re, (PCRE2_SPTR)name);

	if (n > 0)
		return (unsigned)n;
	yaml_fail(f, node, "rule \"%s\": group %s \"%s\" is not a named group of its regex", r->name, what, name);
	return 0;
}

/* Group numbers of the group's captures, once the regex is compiled. */
static bool check_group_spec(const struct rules_file *f, const yaml_node_t *node, struct rule *r)
{
	struct group_spec *g = r->group;

	if (!g)
		return true;
	if (r->occurrence)
		return yaml_fail(f, node, "rule \"%s\": group and occurrence do not go together", r->name);
	if (g->by && !(g->by_group = capture_number(f, node, r, "by", g->by)))
		return false;
	if (g->measure && !(g->measure_group = capture_number(f, node, r, "measure", g->measure)))
		return false;
	if (g->example && !(g->example_group = capture_number(f, node, r, "example", g->example)))
		return false;
	if (!g->example)
		g->example_group = g->by_group;
	g->sum_groups = pgx_xmalloc((g->nsums ? g->nsums : 1) * sizeof(unsigned));
	for (size_t i = 0; i < g->nsums; i++)
		if (!(g->sum_groups[i] = capture_number(f, node, r, "sum", g->sums[i])))
			return false;
	return true;
}

static bool rule_field(struct rules_file *f, struct rule *r, const char *key, yaml_node_t *val,
		       yaml_node_t **regex_node)
{
	long n;

	if (!strcmp(key, "name")) {
		if (!scalar(val) || !*scalar(val))
			return yaml_fail(f, val, "a rule's name must be a non-empty string");
		free(r->name);
		r->name = pgx_xstrdup(scalar(val));
	} else if (!strcmp(key, "regex"))
		*regex_node = val;
	else if (!strcmp(key, "occurrence")) {
		if (!scalar(val) || !pgx_parse_long(scalar(val), "occurrence", 1, 1000000, &n))
			return yaml_fail(f, val, "occurrence must be a positive integer");
		r->occurrence = n;
	} else if (!strcmp(key, "capture"))
		return string_list(f, val, &r->captures, &r->ncaptures);
	else if (!strcmp(key, "numbers"))
		return string_list(f, val, &r->numbers, &r->nnumbers);
	else if (!strcmp(key, "marks_ready"))
		return scalar_bool(f, val, &r->marks_ready);
	else if (!strcmp(key, "final"))
		return scalar_bool(f, val, &r->final);
	else if (!strcmp(key, "group"))
		return !r->group ? parse_group(f, r, val) : yaml_fail(f, val, "group given twice");
	else if (!strcmp(key, "description"))
		return true;
	else
		return yaml_fail(f, val, "unknown rule key \"%s\" (expected name, regex, occurrence, "
				 "capture, numbers, marks_ready, final, group, description)", key);
	return true;
}

static void set_literal(struct rule *r, const char *regex)
{
	char lit[256];
	size_t n = regex_required_literal(regex, lit, sizeof(lit));

	if (n >= MIN_LITERAL) {
		r->literal = pgx_xstrdup(lit);
		r->literal_len = n;
	}
}

/* Fill r from a pattern mapping; on failure r may hold partial allocations. */
static bool parse_rule(struct rules_file *f, yaml_node_t *node, struct rule *r)
{
	struct ruleset *rs = f->rs;
	yaml_node_t *regex_node = NULL;
	char where[64];

	if (node->type != YAML_MAPPING_NODE)
		return yaml_fail(f, node, "a pattern must be a mapping with name and regex");
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&f->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&f->doc, p->value);
		if (!scalar(k) || !rule_field(f, r, scalar(k), v, &regex_node))
			return false;
	}
	if (!r->name)
		return yaml_fail(f, node, "pattern without a name");
	for (size_t i = 0; i < rs->nrules; i++)
		if (!strcmp(rs->rules[i].name, r->name))
			return yaml_fail(f, node, "rule \"%s\" defined twice (first at %s)", r->name, rs->rules[i].origin);
	if (!regex_node)
		return yaml_fail(f, node, "rule \"%s\" has no regex", r->name);
	snprintf(where, sizeof(where), "rule \"%.40s\"", r->name);
	if (!(r->re = compile_regex(f, regex_node, where, PCRE2_UTF)) || !check_groups(f, regex_node, r) ||
	    !check_group_spec(f, regex_node, r))
		return false;
	r->jit = regex_jit_compiled(r->re);
	r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
	if (asprintf(&r->origin, "%s:%lu", f->path, (unsigned long)node->start_mark.line + 1) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	set_literal(r, scalar(regex_node));
	return true;
}

static bool load_rule(struct rules_file *f, yaml_node_t *node)
{
	struct ruleset *rs = f->rs;
	struct rule r = { 0 };

	if (!parse_rule(f, node, &r)) {
		rule_free(&r);
		return false;
	}
	rs->rules = pgx_xrealloc(rs->rules, (rs->nrules + 1) * sizeof(r));
	rs->rules[rs->nrules++] = r;
	return true;
}

static bool load_ts_spec(struct rules_file *f, yaml_node_t *node)
{
	struct ruleset *rs = f->rs;
	struct ts_spec t = { 0 };
	const char *format = NULL;
	yaml_node_t *regex_node = NULL;
	int group;

	if (node->type != YAML_MAPPING_NODE)
		return yaml_fail(f, node, "timestamp must be a mapping with regex and format");
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		const char *key = scalar(yaml_document_get_node(&f->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&f->doc, p->value);
		if (key && !strcmp(key, "regex"))
			regex_node = v;
		else if (key && !strcmp(key, "format") && scalar(v))
			format = scalar(v);
		else
			return yaml_fail(f, v, "unknown timestamp key \"%s\" (expected regex, format)", key ? key : "?");
	}
	if (!regex_node || !format)
		return yaml_fail(f, node, "timestamp needs both regex and format");
	if (!(t.re = compile_regex(f, regex_node, "timestamp", PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)))
		return false;
	group = pcre2_substring_number_from_name(t.re, (PCRE2_SPTR) "ts");
	t.group = group > 0 ? (unsigned)group : 1;
	t.md = pcre2_match_data_create_from_pattern(t.re, NULL);
	t.jit = regex_jit_compiled(t.re);
	t.format = pgx_xstrdup(strcmp(format, "epoch") ? format : "%s");
	rs->ts = pgx_xrealloc(rs->ts, (rs->nts + 1) * sizeof(t));
	rs->ts[rs->nts++] = t;
	return true;
}

static bool for_each_item(struct rules_file *f, yaml_node_t *node, bool (*fn)(struct rules_file *, yaml_node_t *))
{
	if (node->type != YAML_SEQUENCE_NODE)
		return fn(f, node);
	for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++)
		if (!fn(f, yaml_document_get_node(&f->doc, *it)))
			return false;
	return true;
}

/* timestamp: read, or one or more {regex, format} specs. */
static bool load_time_source(struct rules_file *f, yaml_node_t *v)
{
	const char *word = scalar(v);

	if (word && !strcmp(word, "read"))
		return true;
	return for_each_item(f, v, load_ts_spec);
}

static bool load_document(struct rules_file *f)
{
	yaml_node_t *root = yaml_document_get_root_node(&f->doc);
	bool has_time_source = false;

	if (!root || root->type != YAML_MAPPING_NODE)
		return yaml_fail(f, root, "expected a mapping with \"patterns\" and \"timestamp\" (and optionally \"tab_continuation\")");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *key = scalar(yaml_document_get_node(&f->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&f->doc, p->value);
		bool ok, b;
		if (key && !strcmp(key, "patterns"))
			ok = v->type == YAML_SEQUENCE_NODE ? for_each_item(f, v, load_rule)
							   : yaml_fail(f, v, "patterns must be a list");
		else if (key && !strcmp(key, "timestamp"))
			ok = (has_time_source = true) && load_time_source(f, v);
		else if (key && !strcmp(key, "tab_continuation"))
			ok = scalar_bool(f, v, &b) && ((f->rs->tab_continuation |= b), true);
		else
			ok = yaml_fail(f, v, "unknown key \"%s\" (expected patterns, timestamp, tab_continuation)",
				       key ? key : "?");
		if (!ok)
			return false;
	}
	/* Lines without a time of their own would silently get the time they
	 * are read; a rules file has to say that this is what it wants. */
	if (!has_time_source)
		return yaml_fail(f, root, "no timestamp: section (a regex and format for the lines' own time, "
			"or \"timestamp: read\" to stamp lines with the time they are read)");
	return true;
}

bool ruleset_load(struct ruleset *rs, const char *path)
{
	struct rules_file f = { .path = path, .rs = rs };
	yaml_parser_t parser;
	FILE *fp = fopen(path, "rb");
	bool ok;

	if (!fp) {
		pgx_error("cannot open rules file \"%s\": %s", path, strerror(errno));
		return false;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &f.doc)) {
		pgx_error("%s:%lu: invalid YAML: %s", path, (unsigned long)parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(fp);
		return false;
	}
	ok = load_document(&f);
	yaml_document_delete(&f.doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	return ok;
}


void ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++)
		rule_free(&rs->rules[i]);
	for (size_t i = 0; i < rs->nts; i++) {
		free(rs->ts[i].format);
		pcre2_match_data_free(rs->ts[i].md);
		pcre2_code_free(rs->ts[i].re);
	}
	free(rs->rules);
	free(rs->ts);
	free(rs->prefix_regex);
	memset(rs, 0, sizeof(*rs));
}
