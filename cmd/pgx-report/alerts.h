/* alerts.h - the alert catalog, its expressions, evaluation state and
 * notifications (pgx-report alerts) */
#ifndef PGX_ALERTS_H
#define PGX_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum severity { SEV_NONE, SEV_WARN, SEV_CRIT };

struct rule {
	char *name, *summary, *record, *each, *value, *op, *message, *key;
	char **when;		/* conditions "EXPR CMP EXPR", all must hold */
	size_t nwhen;
	double warn, crit;	/* NAN: that severity is off */
	double for_s;		/* how long the condition holds before firing */
	bool rate;		/* value is a per-second rate between samples */
	double sigma;		/* > 0: also above baseline + sigma * stddev */
	double window_s;	/* the baseline's time constant */
};

struct catalog {
	struct rule *rules;
	size_t n;
};

/* alerts_rules.c: the catalog file, then the user's file merged rule by
 * rule, then PGX_ALERT_<RULE>_<WARN|CRIT|FOR>; false after reporting */
bool catalog_load(struct catalog *c, const char *catalog_path, const char *user_path);
void catalog_free(struct catalog *c);
json_t *rule_json(const struct rule *r);	/* for --list */

/* alerts_expr.c: a small expression language over record fields:
 * numbers, field paths (looked up in the element, then the record),
 * + - * / and parentheses, age(ts) (seconds before the record's ts),
 * max(), min(), coalesce(), len(list), and between samples rate(counter)
 * and since(counter, marker).  Conditions also compare a field with a
 * quoted string (== !=).  Unknown fields give NAN. */
enum expr_history { HIST_RATE, HIST_SINCE };
struct expr_ctx {
	const json_t *elem, *rec;
	double now;
	/* The earlier samples of this alert (alerts.c): rate() is the
	 * counter's per-second rate since the previous one, since() its
	 * increase since marker last changed.  NULL: unknown (NAN). */
	double (*history)(void *arg, enum expr_history fn, const char *path, double v, double marker);
	void *history_arg;
};
/* NAN when unknown; false (with err filled) on a syntax error */
bool expr_eval(const char *src, const struct expr_ctx *cx, double *out, char *err, size_t errlen);
/* "EXPR CMP EXPR": 1 true, 0 false or unknown, -1 syntax error */
int expr_cond(const char *src, const struct expr_ctx *cx, char *err, size_t errlen);
bool expr_compare(double a, const char *op, double b);
/* {{field}} and {{value}}-style names replaced; caller frees */
char *expr_template(const char *tpl, const struct expr_ctx *cx, const json_t *extra);

/* notify.c: deliveries, with the failed ones kept in the state's queue */
struct notify_targets {
	const char *alertmanager, *webhook, *slack;	/* URLs or NULL */
};
/* Deliver the alert records in `alerts` (and, to Alertmanager, every
 * firing alert in `firing`), after retrying the queue; failures are added
 * to `queue` (a JSON array) and reported.  Returns the number failed. */
size_t notify_deliver(const struct notify_targets *t, json_t *alerts, json_t *firing, json_t *queue);

#endif
