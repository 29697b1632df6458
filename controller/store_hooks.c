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

int64_t store_hooks_enqueue(struct store *s, const char *hook, int64_t after)
{
	int64_t max = 0;

	if (store_run(s,
	              "INSERT OR IGNORE INTO hook_deliveries (event_id, hook) "
	              "SELECT id, ?2 FROM events WHERE id > ?1 ORDER BY id",
	              STORE_ARGS(SA_INT(after), SA_TEXT(hook)), "hook enqueue") < 0 ||
	    store_one_int64(s, "SELECT coalesce(max(id), 0) FROM events", STORE_NOARGS, &max,
	                    "hook enqueue") < 0)
		return -1;
	return max > after ? max : after;
}

static int resume_row(void *arg, sqlite3_stmt *st)
{
	*(int64_t *)arg = sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_int64(st, 0)
	                                                            : sqlite3_column_int64(st, 1);
	return 0;
}

int64_t store_hooks_resume_after(struct store *s, const char *hook)
{
	int64_t v = -1;
	int rc = store_first(s,
	                     "SELECT (SELECT max(event_id) FROM hook_deliveries WHERE hook = ?1),"
	                     " (SELECT coalesce(max(id), 0) FROM events)",
	                     STORE_ARGS(SA_TEXT(hook)), resume_row, &v, "hook resume");

	return rc == 1 ? v : rc < 0 ? -1 : store_db_fail(s, "hook resume");
}

int store_hooks_requeue_sending(struct store *s)
{
	return store_run(s, "UPDATE hook_deliveries SET state = 'pending' WHERE state = 'sending'",
	                 STORE_NOARGS, "hook requeue") < 0
	           ? -1
	           : 0;
}

static void copy_text(char *dst, size_t dstlen, sqlite3_stmt *st, int col)
{
	snprintf(dst, dstlen, "%s", store_col(st, col));
}

struct due {
	struct store_hook_event *out;
	int n, max;
};

static int due_row(void *arg, sqlite3_stmt *st)
{
	struct due *d = arg;
	struct store_hook_event *e;

	if (d->n >= d->max)
		return 1;
	e = &d->out[d->n++];
	e->id = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	copy_text(e->target, sizeof(e->target), st, 2);
	copy_text(e->client, sizeof(e->client), st, 3);
	copy_text(e->from, sizeof(e->from), st, 4);
	copy_text(e->to, sizeof(e->to), st, 5);
	e->audit = sqlite3_column_int64(st, 6);
	return 0;
}

int store_hooks_take_due(struct store *s, const char *hook, int64_t now,
                         struct store_hook_event *out, int max)
{
	struct due d = {out, 0, max};

	if (max <= 0)
		return 0;
	if (store_each(s,
	               "SELECT e.id, e.at, e.target, e.client, e.from_verdict, e.to_verdict,"
	               " e.audit_id FROM hook_deliveries d JOIN events e ON e.id = d.event_id"
	               " WHERE d.hook = ?1 AND d.state = 'pending' AND d.next_try <= ?2"
	               " ORDER BY d.next_try, d.event_id LIMIT ?3",
	               STORE_ARGS(SA_TEXT(hook), SA_INT(now), SA_INT(max)), due_row, &d,
	               "hook due") < 0)
		return -1;
	for (int i = 0; i < d.n; i++)
		if (store_run(s,
		              "UPDATE hook_deliveries SET state = 'sending'"
		              " WHERE event_id = ?1 AND hook = ?2",
		              STORE_ARGS(SA_INT(out[i].id), SA_TEXT(hook)), "hook sending") < 0)
			return -1;
	return d.n;
}

int64_t store_hooks_attempts(struct store *s, int64_t event, const char *hook)
{
	int64_t attempts = -1;
	int rc = store_one_int64(
	    s, "SELECT attempts FROM hook_deliveries WHERE event_id = ?1 AND hook = ?2",
	    STORE_ARGS(SA_INT(event), SA_TEXT(hook)), &attempts, "hook attempts");

	if (rc == 0) {
		store_fail(s, "hook %s: no delivery for event %lld", hook, (long long)event);
		return -1;
	}
	return rc == 1 ? attempts : -1;
}

int store_hooks_record(struct store *s, int64_t event, const char *hook,
                       enum store_hook_state state, int64_t attempts, int64_t next_try,
                       const char *last_error)
{
	if ((unsigned)state >= STORE_HOOK_STATE_COUNT) {
		store_fail(s, "hook %s: bad state %d", hook, (int)state);
		return -1;
	}
	return store_run(s,
	                 "UPDATE hook_deliveries SET state = ?3, attempts = ?4, next_try = ?5,"
	                 " last_error = ?6 WHERE event_id = ?1 AND hook = ?2",
	                 STORE_ARGS(SA_INT(event), SA_TEXT(hook), SA_TEXT(state_names[state]),
	                            SA_INT(attempts), SA_INT(next_try),
	                            SA_TEXT(last_error ? last_error : "")),
	                 "hook mark") < 0
	           ? -1
	           : 0;
}

struct counts {
	void (*fn)(void *arg, const char *hook, const char *state, int64_t n);
	void *arg;
};

static int counts_row(void *arg, sqlite3_stmt *st)
{
	struct counts *c = arg;

	c->fn(c->arg, store_col(st, 0), store_col(st, 1), sqlite3_column_int64(st, 2));
	return 0;
}

int store_hooks_counts(struct store *s,
                       void (*fn)(void *arg, const char *hook, const char *state, int64_t n),
                       void *arg)
{
	struct counts c = {fn, arg};

	return store_each(s,
	                  "SELECT hook, state, count(*) FROM hook_deliveries GROUP BY hook, state",
	                  STORE_NOARGS, counts_row, &c, "hook counts") < 0
	           ? -1
	           : 0;
}

static int last_id_row(void *arg, sqlite3_stmt *st)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 0;
}

long store_hooks_strip_transcripts(struct store *s, int64_t cutoff, int batch, int64_t *cursor,
                                   long *stripped)
{
	int64_t last = *cursor;
	long seen, n;

	seen = store_each(s,
	                  "SELECT id FROM results WHERE id > ?1 AND received_at < ?2"
	                  " ORDER BY id LIMIT ?3",
	                  STORE_ARGS(SA_INT(*cursor), SA_INT(cutoff), SA_INT(batch)), last_id_row,
	                  &last, "retention select");
	if (seen <= 0)
		return seen;
	n = store_run(s,
	              "UPDATE results SET result_json = json_remove(result_json, '$.transcript')"
	              " WHERE id > ?1 AND id <= ?2 AND received_at < ?3"
	              " AND json_type(result_json, '$.transcript') IS NOT NULL",
	              STORE_ARGS(SA_INT(*cursor), SA_INT(last), SA_INT(cutoff)),
	              "retention update");
	if (n < 0)
		return -1;
	*stripped += n;
	*cursor = last;
	return seen;
}
