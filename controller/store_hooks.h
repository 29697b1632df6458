/* store_hooks.h - the store's side of the event hooks and of transcript
 * retention: per-hook delivery rows of the events table (hook_deliveries)
 * and the removal of $.transcript from old results. Plain structs and
 * callbacks only, no SQLite or JSON types, so a second backend can provide
 * the same calls. Event text fields are cut to the sizes below. */
#ifndef RP_STORE_HOOKS_H
#define RP_STORE_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_hook_state {
	STORE_HOOK_PENDING = 0, /* waiting for next_try */
	STORE_HOOK_SENDING,     /* taken by a transport (back to pending at start) */
	STORE_HOOK_DELIVERED,
	STORE_HOOK_FAILED, /* given up */
	STORE_HOOK_STATE_COUNT
};

/* "pending", "sending", ...; "?" for a value out of range. */
const char *store_hook_state_name(enum store_hook_state st);

/* One event as a hook delivers it (a copy: the caller owns it). */
#define STORE_HOOK_TARGET_MAX  511
#define STORE_HOOK_CLIENT_MAX  255
#define STORE_HOOK_VERDICT_MAX 31
struct store_hook_event {
	int64_t id, at, audit;
	char target[STORE_HOOK_TARGET_MAX + 1];
	char client[STORE_HOOK_CLIENT_MAX + 1];
	char from[STORE_HOOK_VERDICT_MAX + 1], to[STORE_HOOK_VERDICT_MAX + 1];
};

/* Adds a pending delivery for hook of every event with id > after (never
 * twice); returns the highest event id there is (after when none is
 * higher), -1 on error. */
int64_t store_hooks_enqueue(struct store *s, const char *hook, int64_t after);
/* Where hook resumes: its highest queued event, or for a hook never seen
 * the newest event (it gets the events to come, not the past). -1 on error. */
int64_t store_hooks_resume_after(struct store *s, const char *hook);
/* At start: deliveries left 'sending' by a stopped controller go back to
 * 'pending'. 0 / -1. */
int store_hooks_requeue_sending(struct store *s);
/* Up to max pending deliveries of hook with next_try <= now, oldest
 * next_try first, copied into out and marked 'sending'. Count, or -1. */
int store_hooks_take_due(struct store *s, const char *hook, int64_t now,
                         struct store_hook_event *out, int max);
/* The attempts made so far for (event, hook): >= 0, or -1 (no such
 * delivery or an error; store_errmsg() says which). */
int64_t store_hooks_attempts(struct store *s, int64_t event, const char *hook);
/* Records the outcome of an attempt: the new state, attempts, when to try
 * next and the last error ("" when none). 0 / -1. */
int store_hooks_record(struct store *s, int64_t event, const char *hook,
                       enum store_hook_state state, int64_t attempts, int64_t next_try,
                       const char *last_error);
/* Calls fn once per (hook, state) that has deliveries, with their count.
 * 0 / -1. */
int store_hooks_counts(struct store *s,
                       void (*fn)(void *arg, const char *hook, const char *state, int64_t n),
                       void *arg);

/* One step of a retention pass: looks at up to batch results with id >
 * *cursor received before cutoff, removes their transcripts (adding how
 * many changed to *stripped) and moves *cursor past them. Returns how many
 * were looked at (0: the pass is over), -1 on error. */
long store_hooks_strip_transcripts(struct store *s, int64_t cutoff, int batch, int64_t *cursor,
                                   long *stripped);

#endif
