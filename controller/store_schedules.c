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

#define SCHED_COLS                                                                                 \
	"SELECT name, every_s, at_s, selector, selector_value, params, last_run, last_audit,"      \
	" last_error, next_run, created_at FROM schedules"

struct sched_walk {
	store_sched_cb cb;
	void *arg;
};

static int sched_row(void *arg, sqlite3_stmt *st)
{
	struct sched_walk *w = arg;
	struct store_sched_row r = {.name = store_col(st, 0),
	                            .every_s = sqlite3_column_int64(st, 1),
	                            .at_s = sqlite3_column_int(st, 2),
	                            .selector = store_col(st, 3),
	                            .value = store_col(st, 4),
	                            .params = store_col(st, 5),
	                            .last_run = sqlite3_column_int64(st, 6),
	                            .last_audit = sqlite3_column_int64(st, 7),
	                            .last_error = store_col(st, 8),
	                            .next_run = sqlite3_column_int64(st, 9),
	                            .created_at = sqlite3_column_int64(st, 10)};

	return w->cb(w->arg, &r);
}

int store_sched_add(struct store *s, const char *name, int64_t every_s, int at_s,
                    const char *selector, const char *value, const char *params, int64_t now)
{
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
	return store_run(s,
	                 "INSERT INTO schedules (name, every_s, at_s, selector, selector_value,"
	                 " params, created_at, next_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                 STORE_ARGS(SA_TEXT(name), SA_INT(every_s), SA_INT(at_s), SA_TEXT(selector),
	                            SA_TEXT(value ? value : ""), SA_TEXT(params ? params : "{}"),
	                            SA_INT(now), SA_INT(next)),
	                 "schedule") < 0
	           ? -1
	           : 0;
}

long store_sched_list(struct store *s, store_sched_cb cb, void *arg)
{
	struct sched_walk w = {cb, arg};

	return store_each(s, SCHED_COLS " ORDER BY name", STORE_NOARGS, sched_row, &w, "schedules");
}

int store_sched_get(struct store *s, const char *name, store_sched_cb cb, void *arg)
{
	struct sched_walk w = {cb, arg};

	return store_first(s, SCHED_COLS " WHERE name = ?1", STORE_ARGS(SA_TEXT(name)), sched_row,
	                   &w, "schedule");
}

int store_sched_remove(struct store *s, const char *name)
{
	long n = store_run(s, "DELETE FROM schedules WHERE name = ?1", STORE_ARGS(SA_TEXT(name)),
	                   "schedule remove");

	return n < 0 ? -1 : n > 0;
}

long store_sched_due(struct store *s, int64_t now, store_name_cb cb, void *arg)
{
	sqlite3_stmt *st = store_query(
	    s, "SELECT name FROM schedules WHERE next_run <= ?1 ORDER BY next_run, name",
	    STORE_ARGS(SA_INT(now)));

	return st == NULL ? -1 : store_names(s, st, cb, arg, "due");
}

/* What store_sched_ran() needs of the row. */
struct slot {
	int64_t every, next, created_at;
	int at;
};

static int slot_row(void *arg, const struct store_sched_row *r)
{
	struct slot *sl = arg;

	*sl = (struct slot){r->every_s, r->next_run, r->created_at, r->at_s};
	return 0;
}

int store_sched_ran(struct store *s, const char *name, int64_t now, int64_t audit,
                    const char *error, int advance)
{
	struct slot sl = {0};
	int rc = store_sched_get(s, name, slot_row, &sl);

	if (rc <= 0) {
		if (rc == 0)
			store_fail(s, "no schedule %.64s", name);
		return -1;
	}
	if (advance)
		sl.next = sched_next(sl.every, sched_anchor(sl.created_at, sl.at),
		                     sched_jitter(name, sl.every), now);
	return store_run(s,
	                 "UPDATE schedules SET last_run = ?1, last_audit = ?2, last_error = ?3,"
	                 " next_run = ?4 WHERE name = ?5",
	                 STORE_ARGS(SA_INT(now), SA_INT(audit), SA_TEXT(error ? error : ""),
	                            SA_INT(sl.next), SA_TEXT(name)),
	                 "schedule ran") < 0
	           ? -1
	           : 0;
}
