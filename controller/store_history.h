/* store_history.h - per-audit target history and verdict-change events on
 * the store (store_history.c). Each done audit is recorded once; events are
 * what the hooks deliver. */
#ifndef RP_STORE_HISTORY_H
#define RP_STORE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* For every audit that is done and not yet recorded (by id): its per-target
 * aggregated verdict and cells go to target_history, and a verdict that
 * differs from the target's previous recorded audit becomes an event. One
 * transaction per audit. Returns events added, or -1. */
long store_hist_record(struct store *s, int64_t now);
/* One recorded audit of a target. Strings borrowed for the call. */
struct store_hist_row {
	int64_t audit, at;    /* the audit and when it was created (s) */
	const char *verdict;  /* aggregated verdict name */
	const char *client;   /* inventory client then, "" for none */
	const char *vantages; /* JSON object text {agent: verdict}, as stored */
};
typedef int (*store_hist_cb)(void *arg, const struct store_hist_row *row);
/* The target's recorded audits, oldest first, each passed to cb (non-zero
 * stops). Rows passed, or -1. */
long store_hist_target(struct store *s, const char *target, store_hist_cb cb, void *arg);
/* A recorded audit's verdict for one target changed after it was recorded
 * (a late canary proof): its history row is rewritten and, when the verdict
 * changed, an event raised (from the old row's verdict). Inside the
 * caller's transaction. Events raised (0 when the audit is not recorded
 * yet), or -1. */
long store_hist_rerecord(struct store *s, int64_t audit, const char *target, int64_t now);
/* One verdict-change event. Strings borrowed for the call. */
struct store_event_row {
	int64_t id, at, audit;
	const char *target, *client;
	const char *from, *to; /* verdict names */
};
typedef int (*store_event_cb)(void *arg, const struct store_event_row *row);
/* Events with id > since, oldest first, each passed to cb (non-zero
 * stops). Rows passed, or -1. */
long store_events_list(struct store *s, int64_t since, store_event_cb cb, void *arg);

/* History at a glance (the HTML report's charts): for each client, its last
 * `audits` recorded audits up to audit `upto` (by id), and each target's
 * aggregated verdict in them; ordered by client, audit, target. Strings
 * borrowed for the call. */
struct store_glance_row {
	const char *client, *target, *verdict;
	int64_t audit;
};
typedef int (*store_glance_cb)(void *arg, const struct store_glance_row *row);
long store_hist_glance(struct store *s, int64_t upto, int audits, store_glance_cb cb, void *arg);

/* The target's aggregated verdict in its newest recorded audit before
 * audit (target_history), and that audit's id. 1 / 0 (none) / -1. */
int store_target_previous(struct store *s, const char *target, int64_t audit, char *verdict,
                          size_t vlen, int64_t *prev_audit);

#endif
