/* store_hooks.c - hook_deliveries and transcript retention in SQLite (see
 * store_hooks.h). The SQL that hooks.c and retention.c used to run on the
 * store's internals; the retry policy stays with them. Event text is cut
 * to the struct's sizes; retention runs in bounded batches by id. */
#include "store_hooks.h"

#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static const char *const state_names[] = {
    [STORE_HOOK_PENDING] = "pending",
    [STORE_HOOK_SENDING] = "sending",
    [STORE_HOOK_DELIVERED] = "delivered",
    [STORE_HOOK_FAILED] = "failed",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == STORE_HOOK_STATE_COUNT,
               "store_hook_state name table out of sync");

const char *store_hook_state_name(enum store_hook_state st)
{
	return (unsigned)st < STORE_HOOK_STATE_COUNT ? state_names[st] : "?";
}

/* Prepares sql and binds ?1 (an event id) and ?2 (the hook); NULL on error. */
static sqlite3_stmt *prep_event_hook(struct store *s, const char *sql, int64_t id, const char *hook)
{
	sqlite3_stmt *st = store_prep(s, sql);

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, hook, -1, SQLITE_STATIC);
	}
	return st;
}

int64_t store_hooks_enqueue(struct store *s, const char *hook, int64_t after)
{
	sqlite3_stmt *st;
	int64_t max = after;

	st = prep_event_hook(s,
	                     "INSERT OR IGNORE INTO hook_deliveries (event_id, hook) "
	                     "SELECT id, ?2 FROM events WHERE id > ?1 ORDER BY id",
	                     after, hook);
	if (st == NULL || store_step_done(s, st, "hook enqueue") < 0)
		return -1;
	st = store_prep(s, "SELECT coalesce(max(id), 0) FROM events");
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > max)
		max = sqlite3_column_int64(st, 0);
	store_done(s, st);
	return max;
}

int64_t store_hooks_resume_after(struct store *s, const char *hook)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	int rc;

	st = store_prep(s, "SELECT (SELECT max(event_id) FROM hook_deliveries WHERE hook = ?1),"
	                   " (SELECT coalesce(max(id), 0) FROM events)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hook, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_int64(st, 0)
		                                              : sqlite3_column_int64(st, 1);
	store_done(s, st);
	return rc == SQLITE_ROW ? v : store_db_fail(s, "hook resume");
}

int store_hooks_requeue_sending(struct store *s)
{
	sqlite3_stmt *st =
	    store_prep(s, "UPDATE hook_deliveries SET state = 'pending' WHERE state = 'sending'");

	return st == NULL ? -1 : store_step_done(s, st, "hook requeue");
}

static void copy_text(char *dst, size_t dstlen, sqlite3_stmt *st, int col)
{
	snprintf(dst, dstlen, "%s", store_col(st, col));
}

int store_hooks_take_due(struct store *s, const char *hook, int64_t now,
                         struct store_hook_event *out, int max)
{
	sqlite3_stmt *st;
	int n = 0, rc = SQLITE_DONE;

	if (max <= 0)
		return 0;
	st = store_prep(s, "SELECT e.id, e.at, e.target, e.client, e.from_verdict, e.to_verdict,"
	                   " e.audit_id FROM hook_deliveries d JOIN events e ON e.id = d.event_id"
	                   " WHERE d.hook = ?1 AND d.state = 'pending' AND d.next_try <= ?2"
	                   " ORDER BY d.next_try, d.event_id LIMIT ?3");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hook, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_hook_event *e = &out[n++];

		e->id = sqlite3_column_int64(st, 0);
		e->at = sqlite3_column_int64(st, 1);
		copy_text(e->target, sizeof(e->target), st, 2);
		copy_text(e->client, sizeof(e->client), st, 3);
		copy_text(e->from, sizeof(e->from), st, 4);
		copy_text(e->to, sizeof(e->to), st, 5);
		e->audit = sqlite3_column_int64(st, 6);
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "hook due");
	for (int i = 0; i < n; i++) {
		st = prep_event_hook(s,
		                     "UPDATE hook_deliveries SET state = 'sending'"
		                     " WHERE event_id = ?1 AND hook = ?2",
		                     out[i].id, hook);
		if (st == NULL || store_step_done(s, st, "hook sending") < 0)
			return -1;
	}
	return n;
}

int64_t store_hooks_attempts(struct store *s, int64_t event, const char *hook)
{
	sqlite3_stmt *st;
	int64_t attempts = -1;
	int rc;

	st = prep_event_hook(
	    s, "SELECT attempts FROM hook_deliveries WHERE event_id = ?1 AND hook = ?2", event,
	    hook);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		attempts = sqlite3_column_int64(st, 0);
	store_done(s, st);
	if (rc == SQLITE_DONE) {
		store_fail(s, "hook %s: no delivery for event %lld", hook, (long long)event);
		return -1;
	}
	return rc == SQLITE_ROW ? attempts : store_db_fail(s, "hook attempts");
}

int store_hooks_record(struct store *s, int64_t event, const char *hook,
                       enum store_hook_state state, int64_t attempts, int64_t next_try,
                       const char *last_error)
{
	sqlite3_stmt *st;

	if ((unsigned)state >= STORE_HOOK_STATE_COUNT) {
		store_fail(s, "hook %s: bad state %d", hook, (int)state);
		return -1;
	}
	st = prep_event_hook(s,
	                     "UPDATE hook_deliveries SET state = ?3, attempts = ?4, next_try = ?5,"
	                     " last_error = ?6 WHERE event_id = ?1 AND hook = ?2",
	                     event, hook);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 3, state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, attempts);
	sqlite3_bind_int64(st, 5, next_try);
	sqlite3_bind_text(st, 6, last_error ? last_error : "", -1, SQLITE_TRANSIENT);
	return store_step_done(s, st, "hook mark");
}

int store_hooks_counts(struct store *s,
                       void (*fn)(void *arg, const char *hook, const char *state, int64_t n),
                       void *arg)
{
	sqlite3_stmt *st;
	int rc;

	st =
	    store_prep(s, "SELECT hook, state, count(*) FROM hook_deliveries GROUP BY hook, state");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, store_col(st, 0), store_col(st, 1), sqlite3_column_int64(st, 2));
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "hook counts");
}

long store_hooks_strip_transcripts(struct store *s, int64_t cutoff, int batch, int64_t *cursor,
                                   long *stripped)
{
	sqlite3_stmt *st;
	int64_t last = *cursor;
	long seen = 0;
	int rc;

	st = store_prep(s, "SELECT id FROM results WHERE id > ?1 AND received_at < ?2"
	                   " ORDER BY id LIMIT ?3");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int(st, 3, batch);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		seen++;
	}
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "retention select");
	if (seen == 0)
		return 0;
	st = store_prep(s,
	                "UPDATE results SET result_json = json_remove(result_json, '$.transcript')"
	                " WHERE id > ?1 AND id <= ?2 AND received_at < ?3"
	                " AND json_type(result_json, '$.transcript') IS NOT NULL");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, cutoff);
	if (store_step_done(s, st, "retention update") < 0)
		return -1;
	*stripped += sqlite3_changes(s->db);
	*cursor = last;
	return seen;
}
