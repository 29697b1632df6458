/* store_history.c - target history and verdict-change events on the store
 * (store_history.h): each done audit is recorded once (audits_recorded), one
 * transaction per audit; a verdict that differs from the target's previous
 * recorded audit becomes an event (the hooks deliver them). */
#include "store_history.h"

#include <jansson.h> /* the vantages column is a JSON object the store writes */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "store_inventory.h"
#include "store_results.h"

/* ---- history and events ---- */

struct hist_ctx {
	struct store *s;
	int64_t audit, at, now;
	long events;
	int failed;
	const char *only; /* re-record this target of a recorded audit (a late proof) */
};

static int hist_row_cb(void *arg, const struct store_matrix_row *row)
{
	struct hist_ctx *h = arg;
	struct store *s = h->s;
	json_t *cells;
	char *cj = NULL, prev[64] = "", client[RP_INV_TEXT_MAX + 1] = "";
	const char *verdict = aggregate_name(row->agg);
	int found;

	if (h->only != NULL && strcmp(row->target, h->only) != 0)
		return 0;
	cells = json_object();

	for (size_t i = 0; i < row->ncells; i++)
		json_object_set_new(cells, row->cells[i].agent_name,
		                    json_string(dialog_verdict_name(row->cells[i].verdict)));
	cj = json_dumps(cells, JSON_COMPACT);
	json_decref(cells);
	if (cj == NULL)
		goto fail;
	if (store_target_client(s, row->target, client, sizeof(client)) < 0)
		goto fail;
	/* The change is against the audit before, or for a re-record against
	 * what this audit said until now. */
	found = store_one_text(s,
	                       h->only != NULL
	                           ? "SELECT verdict FROM target_history WHERE target = ?1 AND"
	                             " audit_id = ?2"
	                           : "SELECT verdict FROM target_history WHERE target = ?1 AND"
	                             " audit_id < ?2 ORDER BY audit_id DESC LIMIT 1",
	                       STORE_ARGS(SA_TEXT(row->target), SA_INT(h->audit)), prev,
	                       sizeof(prev), "history verdict");
	if (found < 0)
		goto fail;
	if (store_run(s,
	              "INSERT OR REPLACE INTO target_history (audit_id, target, client, at,"
	              " verdict, vantages) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	              STORE_ARGS(SA_INT(h->audit), SA_TEXT(row->target), SA_TEXT(client),
	                         SA_INT(h->at), SA_TEXT(verdict), SA_TEXT(cj)),
	              "history") < 0)
		goto fail;
	if (found == 1 && strcmp(prev, verdict) != 0) {
		if (store_run(s,
		              "INSERT INTO events (at, target, client, from_verdict, to_verdict,"
		              " audit_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		              STORE_ARGS(SA_INT(h->now), SA_TEXT(row->target), SA_TEXT(client),
		                         SA_TEXT(prev), SA_TEXT(verdict), SA_INT(h->audit)),
		              "event") < 0)
			goto fail;
		h->events++;
	}
	free(cj);
	return 0;
fail:
	free(cj);
	h->failed = 1;
	return 1;
}

static int audit_at_row(void *arg, sqlite3_stmt *st)
{
	struct hist_ctx *h = arg;

	h->audit = sqlite3_column_int64(st, 0);
	h->at = sqlite3_column_int64(st, 1);
	return 0;
}

long store_hist_record(struct store *s, int64_t now)
{
	long events = 0;

	for (;;) {
		struct hist_ctx h = {.s = s, .now = now};
		int rc = store_first(
		    s,
		    "SELECT id, created_at FROM audits WHERE status = 'done' AND id NOT IN"
		    " (SELECT audit_id FROM audits_recorded) ORDER BY id LIMIT 1",
		    STORE_NOARGS, audit_at_row, &h, "audits");

		if (rc <= 0)
			return rc < 0 ? -1 : events;
		if (store_exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (store_audit_matrix(s, h.audit, hist_row_cb, &h) < 0 || h.failed)
			goto fail;
		if (store_run(s, "INSERT INTO audits_recorded (audit_id) VALUES (?1)",
		              STORE_ARGS(SA_INT(h.audit)), "recorded") < 0 ||
		    store_exec(s, "COMMIT") < 0)
			goto fail;
		events += h.events;
	}
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

long store_hist_rerecord(struct store *s, int64_t audit, const char *target, int64_t now)
{
	struct hist_ctx h = {.s = s, .audit = audit, .now = now, .only = target};
	int rc = store_one_int64(s,
	                         "SELECT a.created_at FROM audits a JOIN audits_recorded r"
	                         " ON r.audit_id = a.id WHERE a.id = ?1",
	                         STORE_ARGS(SA_INT(audit)), &h.at, "audit recorded");

	if (rc <= 0)
		return rc; /* 0: not recorded yet, the audit's end records it */
	if (store_audit_matrix(s, audit, hist_row_cb, &h) < 0 || h.failed)
		return -1;
	return h.events;
}

struct hist_walk {
	store_hist_cb cb;
	void *arg;
};

static int hist_target_row(void *arg, sqlite3_stmt *st)
{
	struct hist_walk *w = arg;
	struct store_hist_row r = {.audit = sqlite3_column_int64(st, 0),
	                           .at = sqlite3_column_int64(st, 1),
	                           .verdict = store_col(st, 2),
	                           .client = store_col(st, 3),
	                           .vantages = store_col(st, 4)};

	return w->cb(w->arg, &r);
}

long store_hist_target(struct store *s, const char *target, store_hist_cb cb, void *arg)
{
	struct hist_walk w = {cb, arg};

	return store_each(s,
	                  "SELECT audit_id, at, verdict, client, vantages FROM target_history"
	                  " WHERE target = ?1 ORDER BY audit_id",
	                  STORE_ARGS(SA_TEXT(target)), hist_target_row, &w, "history");
}

struct glance_walk {
	store_glance_cb cb;
	void *arg;
};

static int glance_row(void *arg, sqlite3_stmt *st)
{
	struct glance_walk *w = arg;
	struct store_glance_row r = {store_col(st, 0), store_col(st, 1), store_col(st, 2),
	                             sqlite3_column_int64(st, 3)};

	return w->cb(w->arg, &r);
}

long store_hist_glance(struct store *s, int64_t upto, int audits, store_glance_cb cb, void *arg)
{
	struct glance_walk w = {cb, arg};

	return store_each(
	    s,
	    "WITH a AS (SELECT client, audit_id, row_number() OVER"
	    "  (PARTITION BY client ORDER BY audit_id DESC) AS k"
	    "  FROM (SELECT DISTINCT client, audit_id FROM target_history WHERE audit_id <= ?1))"
	    " SELECT h.client, h.target, h.verdict, h.audit_id FROM a"
	    " JOIN target_history h ON h.audit_id = a.audit_id AND h.client = a.client"
	    " WHERE a.k <= ?2 ORDER BY h.client, h.audit_id, h.target",
	    STORE_ARGS(SA_INT(upto), SA_INT(audits)), glance_row, &w, "history glance");
}

struct previous {
	char *verdict;
	size_t vlen;
	int64_t *audit;
};

static int previous_row(void *arg, sqlite3_stmt *st)
{
	struct previous *p = arg;

	store_copy_col(st, 0, p->verdict, p->vlen);
	*p->audit = sqlite3_column_int64(st, 1);
	return 0;
}

int store_target_previous(struct store *s, const char *target, int64_t audit, char *verdict,
                          size_t vlen, int64_t *prev_audit)
{
	struct previous p = {verdict, vlen, prev_audit};

	return store_first(s,
	                   "SELECT verdict, audit_id FROM target_history"
	                   " WHERE target = ?1 AND audit_id < ?2"
	                   " ORDER BY audit_id DESC LIMIT 1",
	                   STORE_ARGS(SA_TEXT(target), SA_INT(audit)), previous_row, &p,
	                   "target previous verdict");
}

struct event_walk {
	store_event_cb cb;
	void *arg;
};

static int event_row(void *arg, sqlite3_stmt *st)
{
	struct event_walk *w = arg;
	struct store_event_row r = {.id = sqlite3_column_int64(st, 0),
	                            .at = sqlite3_column_int64(st, 1),
	                            .target = store_col(st, 2),
	                            .client = store_col(st, 3),
	                            .from = store_col(st, 4),
	                            .to = store_col(st, 5),
	                            .audit = sqlite3_column_int64(st, 6)};

	return w->cb(w->arg, &r);
}

long store_events_list(struct store *s, int64_t since, store_event_cb cb, void *arg)
{
	struct event_walk w = {cb, arg};

	return store_each(s,
	                  "SELECT id, at, target, client, from_verdict, to_verdict, audit_id"
	                  " FROM events WHERE id > ?1 ORDER BY id",
	                  STORE_ARGS(SA_INT(since)), event_row, &w, "events");
}
