/* changeset.c - a changeset in memory and as the JSON file in the state dir */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx.h"
#include "apply.h"

void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? pgx_xstrdup(src) : NULL;
}

struct param *changeset_add(struct changeset *cs, const char *name, const char *to,
			    const char *origin)
{
	struct param *p;

	for (size_t i = 0; i < cs->n; i++)
		if (!strcasecmp(cs->params[i].name, name)) {
			char *quoted = pgx_excerpt(name, strlen(name), 60);	/* a record's, any text */

			pgx_warn("%s: '%s' given again; the last value wins", origin, quoted);
			free(quoted);
			set_str(&cs->params[i].to, to);
			set_str(&cs->params[i].origin, origin);
			return &cs->params[i];
		}
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 8;
		cs->params = pgx_xrealloc(cs->params, cs->cap * sizeof(*cs->params));
	}
	p = &cs->params[cs->n++];
	memset(p, 0, sizeof(*p));
	p->name = pgx_xstrdup(name);
	p->to = pgx_xstrdup(to);
	p->origin = origin ? pgx_xstrdup(origin) : NULL;
	return p;
}

/* Already at the asked value: planned, applied and rolled back as nothing. */
bool param_unchanged(const struct param *p)
{
	return p->action && !strcmp(p->action, "unchanged");
}

void param_refuse(struct param *p, enum refusal r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (p->refusal != REFUSE_NONE)	/* the first reason is the one shown */
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->refusal = r;
	set_str(&p->reason, buf);
	set_str(&p->action, "refused");
}

static void param_free(struct param *p)
{
	char **strs[] = { &p->name, &p->to, &p->origin, &p->from, &p->from_setting, &p->unit,
			  &p->vartype, &p->context, &p->source, &p->min_val, &p->max_val,
			  &p->enumvals, &p->expect, &p->auto_value, &p->dcs_value, &p->reason,
			  &p->action };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

void changeset_free(struct changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		param_free(&cs->params[i]);
	free(cs->params);
	free(cs->id);
	free(cs->cluster);
	free(cs->method);
	free(cs->patroni_url);
	free(cs->status);
	free(cs->user);
	free(cs->host);
	memset(cs, 0, sizeof(*cs));
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *param_to_json(const struct param *p)
{
	json_t *j = json_object();

	json_object_set_new(j, "name", json_string(p->name));
	json_object_set_new(j, "to", json_string(p->to));
	json_object_set_new(j, "expect", str_or_null(p->expect));
	json_object_set_new(j, "from", str_or_null(p->from));
	json_object_set_new(j, "from_setting", str_or_null(p->from_setting));
	json_object_set_new(j, "unit", str_or_null(p->unit));
	json_object_set_new(j, "vartype", str_or_null(p->vartype));
	json_object_set_new(j, "context", str_or_null(p->context));
	json_object_set_new(j, "in_auto_conf", json_boolean(p->in_auto_conf));
	json_object_set_new(j, "auto_conf_value", str_or_null(p->auto_value));
	json_object_set_new(j, "in_dcs", json_boolean(p->in_dcs));
	json_object_set_new(j, "dcs_value", str_or_null(p->dcs_value));
	json_object_set_new(j, "action", str_or_null(p->action));
	json_object_set_new(j, "reason", str_or_null(p->reason));
	return j;
}

json_t *changeset_to_json(const struct changeset *cs)
{
	json_t *j = json_object(), *params = json_array();

	json_object_set_new(j, "id", json_string(cs->id));
	json_object_set_new(j, "cluster", json_string(cs->cluster));
	json_object_set_new(j, "method", json_string(cs->method));
	json_object_set_new(j, "patroni_url", str_or_null(cs->patroni_url));
	json_object_set_new(j, "status", json_string(cs->status));
	json_object_set_new(j, "user", str_or_null(cs->user));
	json_object_set_new(j, "host", str_or_null(cs->host));
	json_object_set_new(j, "created", json_real(cs->created));
	json_object_set_new(j, "updated", json_real(cs->updated));
	for (size_t i = 0; i < cs->n; i++)
		json_array_append_new(params, param_to_json(&cs->params[i]));
	json_object_set_new(j, "parameters", params);
	return j;
}

static char *get_str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? pgx_xstrdup(s) : NULL;
}

static bool param_from_json(const json_t *j, struct changeset *cs)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *to = json_string_value(json_object_get(j, "to"));
	struct param *p;

	if (!name || !to)
		return false;
	p = changeset_add(cs, name, to, NULL);
	p->exists = true;
	p->expect = get_str(j, "expect");
	p->from = get_str(j, "from");
	p->from_setting = get_str(j, "from_setting");
	p->unit = get_str(j, "unit");
	p->vartype = get_str(j, "vartype");
	p->context = get_str(j, "context");
	p->restart = p->context && !strcmp(p->context, "postmaster");
	p->in_auto_conf = json_is_true(json_object_get(j, "in_auto_conf"));
	p->auto_value = get_str(j, "auto_conf_value");
	p->in_dcs = json_is_true(json_object_get(j, "in_dcs"));
	p->dcs_value = get_str(j, "dcs_value");
	p->action = get_str(j, "action");
	p->reason = get_str(j, "reason");
	return p->vartype != NULL;
}

bool changeset_from_json(const json_t *j, struct changeset *cs)
{
	const json_t *params = json_object_get(j, "parameters"), *p;
	size_t i;

	memset(cs, 0, sizeof(*cs));
	cs->id = get_str(j, "id");
	cs->cluster = get_str(j, "cluster");
	cs->method = get_str(j, "method");
	cs->patroni_url = get_str(j, "patroni_url");
	cs->status = get_str(j, "status");
	cs->user = get_str(j, "user");
	cs->host = get_str(j, "host");
	cs->created = json_number_value(json_object_get(j, "created"));
	cs->updated = json_number_value(json_object_get(j, "updated"));
	if (!cs->id || !cs->cluster || !cs->method || !cs->status || !json_is_array(params))
		return false;
	json_array_foreach(params, i, p)
		if (!param_from_json(p, cs))
			return false;
	return true;
}
