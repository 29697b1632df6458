/* store_schedules.h - schedules on the store (store_schedules.c): the
 * next-run arithmetic (jitter, missed-run catch-up) and the schedule rows.
 * Names and selector values are capped by RP_INV_TEXT_MAX. */
#ifndef RP_STORE_SCHEDULES_H
#define RP_STORE_SCHEDULES_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The per-schedule offset added to every slot: deterministic, in
 * [0, min(every_s / 10, 300)]. */
int64_t sched_jitter(const char *name, int64_t every_s);
/* Slots are anchor + k * every_s (any integer k); anchor is created_at, or
 * with at_s >= 0 (seconds after midnight UTC) that time on created_at's day.
 * Returns the first slot + jitter strictly after now: missed slots collapse. */
int64_t sched_anchor(int64_t created_at, int at_s);
int64_t sched_next(int64_t every_s, int64_t anchor, int64_t jitter, int64_t now);

/* params: JSON object of audit.start fields (vantages, tests, params).
 * 0, or -1 (duplicate name, bad field). */
int store_sched_add(struct store *s, const char *name, int64_t every_s, int at_s,
                    const char *selector, const char *value, const char *params, int64_t now);
/* One schedule. Strings borrowed for the call. */
struct store_sched_row {
	const char *name;
	int64_t every_s;
	int at_s;               /* seconds after midnight UTC, -1 for none */
	const char *selector;   /* "all", "client" or "tag" */
	const char *value;      /* the selector's value, "" for none */
	const char *params;     /* JSON object text of audit.start fields, as stored */
	int64_t last_run;       /* 0: never */
	int64_t last_audit;     /* 0: none (or the last run could not start) */
	const char *last_error; /* "" for none */
	int64_t next_run, created_at;
};
typedef int (*store_sched_cb)(void *arg, const struct store_sched_row *row);
/* Every schedule by name, each passed to cb (non-zero stops). Rows
 * passed, or -1. */
long store_sched_list(struct store *s, store_sched_cb cb, void *arg);
/* One schedule passed to cb: 1 found, 0 not, -1 error. */
int store_sched_get(struct store *s, const char *name, store_sched_cb cb, void *arg);
/* 1 removed, 0 no such schedule, -1 error. */
int store_sched_remove(struct store *s, const char *name);
/* Names of schedules with next_run <= now, by next_run (then name), each
 * passed to cb. The count passed, or -1. */
long store_sched_due(struct store *s, int64_t now, store_name_cb cb, void *arg);
/* Records a run at now (audit 0 when it could not start, error then says
 * why). advance: next_run = the next slot after now (a scheduled run);
 * otherwise next_run is kept (run-now). 0 / -1. */
int store_sched_ran(struct store *s, const char *name, int64_t now, int64_t audit,
                    const char *error, int advance);

#endif
