/* store_inv.h - issue 5 on the store: the targets inventory (clients, tags
 * normalised in target_tags), schedules (next-run arithmetic with jitter and
 * missed-run catch-up), per-audit target history and verdict-change events.
 * Uses store_internal.h; owns no state. Text fields are capped by
 * RP_INV_TEXT_MAX, tags per target by RP_INV_TAGS_MAX (rp_limits.h). */
#ifndef RP_STORE_INV_H
#define RP_STORE_INV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One inventory row. target is the audit's target text (CLI canonical form:
 * "host", "host:port", "[v6]:port"); port is informational (0 = default). */
struct inv_row {
	const char *client;
	const char *target;
	unsigned port;
	const char *const *tags;
	size_t ntags;
};

/* Adds or updates (same client and target) every row in one transaction:
 * all or nothing. *added / *updated count them. 0, or -1 (nothing changed). */
int store_inv_import(struct store *s, const struct inv_row *rows, size_t n, long *added,
                     long *updated);
/* [{client, target, port, tags:[...]}] sorted by client then target; client
 * and tag filter when not NULL. NULL on error. */
json_t *store_inv_list(struct store *s, const char *client, const char *tag);
/* Removes target (of client, or of every client when client is NULL).
 * Count removed, or -1. */
long store_inv_remove(struct store *s, const char *client, const char *target);
/* Distinct target texts selected by "all", "client" (value) or "tag"
 * (value), sorted. NULL on error. */
json_t *store_inv_select(struct store *s, const char *selector, const char *value);

/* ---- schedules ---- */

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
/* [{name, every, at, selector, value, params, last_run, last_audit,
 * last_error, next_run}] by name; NULL on error. */
json_t *store_sched_list(struct store *s);
/* One schedule as above: 1 found, 0 not, -1 error. */
int store_sched_get(struct store *s, const char *name, json_t **out);
/* 1 removed, 0 no such schedule, -1 error. */
int store_sched_remove(struct store *s, const char *name);
/* Names of schedules with next_run <= now, by next_run; NULL on error. */
json_t *store_sched_due(struct store *s, int64_t now);
/* Records a run at now (audit 0 when it could not start, error then says
 * why). advance: next_run = the next slot after now (a scheduled run);
 * otherwise next_run is kept (run-now). 0 / -1. */
int store_sched_ran(struct store *s, const char *name, int64_t now, int64_t audit,
                    const char *error, int advance);

/* ---- history and events ---- */

/* For every audit that is done and not yet recorded (by id): its per-target
 * aggregated verdict and cells go to target_history, and a verdict that
 * differs from the target's previous recorded audit becomes an event. One
 * transaction per audit. Returns events added, or -1. */
long store_hist_record(struct store *s, int64_t now);
/* [{audit, at, verdict, client, vantages:{agent: verdict}}] oldest first. */
json_t *store_hist_target(struct store *s, const char *target);
/* A recorded audit's verdict for one target changed after it was recorded
 * (a late canary proof): its history row is rewritten and, when the verdict
 * changed, an event raised (from the old row's verdict). Inside the
 * caller's transaction. Events raised (0 when the audit is not recorded
 * yet), or -1. */
long store_hist_rerecord(struct store *s, int64_t audit, const char *target, int64_t now);
/* [{id, at, target, client, from, to, audit}] oldest first, id > since. */
json_t *store_events_list(struct store *s, int64_t since);

#endif
