/* profile.c - the profile record, written by pgx-timeline and pgx-report aggregate */
#include "pgx.h"

static void set_total(json_t *rec, const struct pgx_profile *p)
{
	if (!p->ready) {
		json_object_set_new(rec, "ready", json_null());
		json_object_set_new(rec, "total_s", json_null());
		return;
	}
	pgx_set_ts(rec, "ready", p->ready_ts);
	pgx_set_ts(rec, "total_s", p->total_s);
	if (p->runs) {
		pgx_set_ts(rec, "total_min_s", p->total_min_s);
		pgx_set_ts(rec, "total_max_s", p->total_max_s);
	}
}

bool pgx_profile_emit(const struct pgx_profile *p)
{
	json_t *rec = pgx_record_new("profile", p->start);

	json_object_set_new(rec, "subject", json_string(p->subject));
	json_object_set_new(rec, "subject_kind", json_string(p->subject_kind));
	pgx_set_ts(rec, "start", p->start);
	set_total(rec, p);
	if (p->runs)
		json_object_set_new(rec, "runs", json_integer((json_int_t)p->runs));
	json_object_set_new(rec, "ready_source", json_string(p->ready_source));
	json_object_set_new(rec, "lost_events", json_integer(p->lost_events));
	json_object_set_new(rec, "warnings", p->warnings ? p->warnings : json_array());
	return pgx_emit(rec);
}
