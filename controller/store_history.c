/* store_history.c - target history and verdict-change events on the store
 * (store_history.h): each done audit is recorded once (audits_recorded), one
 * transaction per audit; a verdict that differs from the target's previous
 * recorded audit becomes an event (the hooks deliver them). */
#include "store_history.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
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
	sqlite3_stmt *st;
	int found = 0;

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
	st = store_prep(s, "SELECT min(client) FROM targets WHERE spec = ?1");
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, row->target, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(client, sizeof(client), "%s", store_col(st, 0));
	store_done(s, st);
	/* The change is against the audit before, or for a re-record against
	 * what this audit said until now. */
	st = store_prep(s, h->only != NULL
	                       ? "SELECT verdict FROM target_history WHERE target = ?1 AND"
	                         " audit_id = ?2"
	                       : "SELECT verdict FROM target_history WHERE target = ?1 AND"
	                         " audit_id < ?2 ORDER BY audit_id DESC LIMIT 1");
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, row->target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, h->audit);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(prev, sizeof(prev), "%s", store_col(st, 0));
		found = 1;
	}
	store_done(s, st);
	st = store_prep(s, "INSERT OR REPLACE INTO target_history (audit_id, target, client, at,"
	                   " verdict, vantages) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, h->audit);
	sqlite3_bind_text(st, 2, row->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, h->at);
	sqlite3_bind_text(st, 5, verdict, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, cj, -1, SQLITE_STATIC);
	if (store_step_done(s, st, "history") < 0)
		goto fail;
	if (found && strcmp(prev, verdict) != 0) {
		st = store_prep(s,
		                "INSERT INTO events (at, target, client, from_verdict, to_verdict,"
		                " audit_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		if (st == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, h->now);
		sqlite3_bind_text(st, 2, row->target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, verdict, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, h->audit);
		if (store_step_done(s, st, "event") < 0)
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

long store_hist_record(struct store *s, int64_t now)
{
	long events = 0;

	for (;;) {
		sqlite3_stmt *st = store_prep(
		    s, "SELECT id, created_at FROM audits WHERE status = 'done' AND id NOT IN"
		       " (SELECT audit_id FROM audits_recorded) ORDER BY id LIMIT 1");
		struct hist_ctx h = {.s = s, .now = now};
		int rc;

		if (st == NULL)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			h.audit = sqlite3_column_int64(st, 0);
			h.at = sqlite3_column_int64(st, 1);
		}
		store_done(s, st);
		if (rc == SQLITE_DONE)
			return events;
		if (rc != SQLITE_ROW)
			return store_db_fail(s, "audits");
		if (store_exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (store_audit_matrix(s, h.audit, hist_row_cb, &h) < 0 || h.failed)
			goto fail;
		st = store_prep(s, "INSERT INTO audits_recorded (audit_id) VALUES (?1)");
		if (st == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, h.audit);
		if (store_step_done(s, st, "recorded") < 0 || store_exec(s, "COMMIT") < 0)
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
	sqlite3_stmt *st = store_prep(s, "SELECT a.created_at FROM audits a JOIN audits_recorded r"
	                                 " ON r.audit_id = a.id WHERE a.id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		h.at = sqlite3_column_int64(st, 0);
	store_done(s, st);
	if (rc == SQLITE_DONE)
		return 0; /* not recorded yet: the audit's end records it */
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "audit recorded");
	if (store_audit_matrix(s, audit, hist_row_cb, &h) < 0 || h.failed)
		return -1;
	return h.events;
}

json_t *store_hist_target(struct store *s, const char *target)
{
	sqlite3_stmt *st = store_prep(s, "SELECT audit_id, at, verdict, client, vantages FROM"
	                                 " target_history WHERE target = ?1 ORDER BY audit_id");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *v = json_loads(store_col(st, 4), 0, NULL);

		json_array_append_new(arr,
		                      json_pack("{s:I, s:I, s:s, s:s, s:o}", "audit",
		                                (json_int_t)sqlite3_column_int64(st, 0), "at",
		                                (json_int_t)sqlite3_column_int64(st, 1), "verdict",
		                                store_col(st, 2), "client", store_col(st, 3),
		                                "vantages", v ? v : json_object()));
	}
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "history");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}

int store_target_previous(struct store *s, const char *target, int64_t audit, char *verdict,
                          size_t vlen, int64_t *prev_audit)
{
	sqlite3_stmt *st = store_prep(s, "SELECT verdict, audit_id FROM target_history"
	                                 " WHERE target = ?1 AND audit_id < ?2"
	                                 " ORDER BY audit_id DESC LIMIT 1");
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, audit);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(verdict, vlen, "%s", (const char *)sqlite3_column_text(st, 0));
		*prev_audit = sqlite3_column_int64(st, 1);
		found = 1;
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "target previous verdict");
	return found;
}

json_t *store_events_list(struct store *s, int64_t since)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, at, target, client, from_verdict, to_verdict,"
	                                 " audit_id FROM events WHERE id > ?1 ORDER BY id");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr,
		                      json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "id",
		                                (json_int_t)sqlite3_column_int64(st, 0), "at",
		                                (json_int_t)sqlite3_column_int64(st, 1), "target",
		                                store_col(st, 2), "client", store_col(st, 3),
		                                "from", store_col(st, 4), "to", store_col(st, 5),
		                                "audit", (json_int_t)sqlite3_column_int64(st, 6)));
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "events");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}
