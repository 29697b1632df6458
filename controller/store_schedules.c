/* store_schedules.c - schedules on the store (store_schedules.h): the
 * next-run arithmetic (anchor, slots, deterministic jitter; missed slots
 * collapse into one run) and the schedule rows. Names and selector values
 * are bounded by RP_INV_TEXT_MAX. */
#include "store_schedules.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "syntax.h"

/* ---- schedules ---- */

int64_t sched_jitter(const char *name, int64_t every_s)
{
	int64_t max = every_s / 10;
	uint32_t h = 2166136261u; /* FNV-1a */

	if (max > 300)
		max = 300;
	if (max <= 0 || name == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (int64_t)(h % (uint32_t)(max + 1));
}

int64_t sched_anchor(int64_t created_at, int at_s)
{
	if (at_s < 0)
		return created_at;
	return created_at - (((created_at % 86400) + 86400) % 86400) + at_s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t sched_next(int64_t every_s, int64_t anchor, int64_t jitter, int64_t now)
{
	if (every_s <= 0)
		return now + 1;
	/* smallest k with anchor + k * every + jitter > now */
	return anchor + (floor_div(now - jitter - anchor, every_s) + 1) * every_s + jitter;
}

static json_t *sched_row(sqlite3_stmt *st)
{
	json_t *params = json_loads(store_col(st, 5), 0, NULL);

	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:I, s:I, s:s, s:I, s:I}", "name",
	                 store_col(st, 0), "every", (json_int_t)sqlite3_column_int64(st, 1), "at",
	                 (json_int_t)sqlite3_column_int64(st, 2), "selector", store_col(st, 3),
	                 "value", store_col(st, 4), "params", params ? params : json_object(),
	                 "last_run", (json_int_t)sqlite3_column_int64(st, 6), "last_audit",
	                 (json_int_t)sqlite3_column_int64(st, 7), "last_error", store_col(st, 8),
	                 "next_run", (json_int_t)sqlite3_column_int64(st, 9), "created_at",
	                 (json_int_t)sqlite3_column_int64(st, 10));
}

int store_sched_add(struct store *s, const char *name, int64_t every_s, int at_s,
                    const char *selector, const char *value, const char *params, int64_t now)
{
	sqlite3_stmt *st;
	int64_t next;

	if (!rp_id_ok(RP_ID_SCHEDULE, name) || every_s < RP_SCHED_EVERY_MIN ||
	    every_s > RP_SCHED_EVERY_MAX || at_s < -1 || at_s > 86399 || selector == NULL ||
	    !store_inv_text_ok(value ? value : "")) {
		store_fail(s, "schedule: bad name, interval, time or selector");
		return -1;
	}
	/* The first slot is one interval after creation (or the next --at). */
	if (at_s < 0)
		next = now + every_s + sched_jitter(name, every_s);
	else
		next =
		    sched_next(every_s, sched_anchor(now, at_s), sched_jitter(name, every_s), now);
	st =
	    store_prep(s, "INSERT INTO schedules (name, every_s, at_s, selector, selector_value,"
	                  " params, created_at, next_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, every_s);
	sqlite3_bind_int(st, 3, at_s);
	sqlite3_bind_text(st, 4, selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, value ? value : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, params ? params : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, next);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_done(s, st);
		return store_db_fail(s, "schedule");
	}
	store_done(s, st);
	return 0;
}

json_t *store_sched_list(struct store *s)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT name, every_s, at_s, selector, selector_value, params, last_run,"
	       " last_audit, last_error, next_run, created_at FROM schedules ORDER BY name");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, sched_row(st));
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "schedules");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}

int store_sched_get(struct store *s, const char *name, json_t **out)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT name, every_s, at_s, selector, selector_value, params, last_run,"
	       " last_audit, last_error, next_run, created_at FROM schedules WHERE name = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sched_row(st);
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "schedule");
}

int store_sched_remove(struct store *s, const char *name)
{
	sqlite3_stmt *st = store_prep(s, "DELETE FROM schedules WHERE name = ?1");
	int n;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_done(s, st);
		return store_db_fail(s, "schedule remove");
	}
	n = sqlite3_changes(s->db);
	store_done(s, st);
	return n > 0;
}

long store_sched_due(struct store *s, int64_t now, store_name_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT name FROM schedules WHERE next_run <= ?1 ORDER BY next_run, name");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	return store_names(s, st, cb, arg, "due");
}

int store_sched_ran(struct store *s, const char *name, int64_t now, int64_t audit,
                    const char *error, int advance)
{
	json_t *sc = NULL;
	sqlite3_stmt *st;
	int64_t next, every;
	int rc = store_sched_get(s, name, &sc);

	if (rc <= 0) {
		if (rc == 0)
			store_fail(s, "no schedule %.64s", name);
		return -1;
	}
	every = json_integer_value(json_object_get(sc, "every"));
	next = json_integer_value(json_object_get(sc, "next_run"));
	if (advance)
		next =
		    sched_next(every,
		               sched_anchor(json_integer_value(json_object_get(sc, "created_at")),
		                            (int)json_integer_value(json_object_get(sc, "at"))),
		               sched_jitter(name, every), now);
	json_decref(sc);
	st = store_prep(s, "UPDATE schedules SET last_run = ?1, last_audit = ?2, last_error = ?3,"
	                   " next_run = ?4 WHERE name = ?5");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, audit);
	sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, next);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "schedule ran");
}
