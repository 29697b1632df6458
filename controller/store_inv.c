/* store_inv.c - inventory, schedules, target history and verdict events on
 * the controller's store (see store_inv.h, docs/store.md). Imports run in
 * one transaction (all or nothing); history is recorded once per done audit
 * (audits_recorded); a schedule's missed slots collapse into one run.
 * Strings are bounded by RP_INV_TEXT_MAX / RP_TARGET_LINE_MAX. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "store_inv.h"
#include "syntax.h"
#include "target.h"

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_fail(s, "%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A client or a schedule selector value: UTF-8 text, "" for none. */
static bool inv_text_ok(const char *c)
{
	return rp_text_ok(c, RP_INV_TEXT_MAX, RP_TEXT_UTF8 | RP_TEXT_EMPTY);
}

static int import_row(struct store *s, const struct inv_row *r, long *added, long *updated)
{
	sqlite3_stmt *st;
	json_t *tags = json_array();
	char *tj = NULL;
	int64_t id = 0;
	int rc = -1, found = 0;

	if (tags == NULL)
		return -1;
	for (size_t i = 0; i < r->ntags; i++)
		if (json_array_append_new(tags, json_string(r->tags[i])) < 0)
			goto out;
	tj = json_dumps(tags, JSON_COMPACT);
	if (tj == NULL)
		goto out;
	st = store_prep(s, "SELECT id FROM targets WHERE spec = ?1 AND client = ?2");
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->client, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		found = 1;
	}
	store_done(s, st);
	if (found) {
		st = store_prep(s, "UPDATE targets SET tags = ?1 WHERE id = ?2");
		if (st == NULL)
			goto out;
		sqlite3_bind_text(st, 1, tj, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
	} else {
		st = store_prep(s, "INSERT INTO targets (spec, client, tags) VALUES (?1, ?2, ?3)");
		if (st == NULL)
			goto out;
		sqlite3_bind_text(st, 1, r->target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tj, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_fail(s, "target");
		store_done(s, st);
		goto out;
	}
	store_done(s, st);
	if (!found)
		id = sqlite3_last_insert_rowid(s->db);
	st = store_prep(s, "DELETE FROM target_tags WHERE target_id = ?1");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_fail(s, "tags");
		store_done(s, st);
		goto out;
	}
	store_done(s, st);
	for (size_t i = 0; i < r->ntags; i++) {
		st = store_prep(
		    s, "INSERT OR IGNORE INTO target_tags (target_id, tag) VALUES (?1, ?2)");
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, r->tags[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_db_fail(s, "tag");
			store_done(s, st);
			goto out;
		}
		store_done(s, st);
	}
	(*(found ? updated : added))++;
	rc = 0;
out:
	free(tj);
	json_decref(tags);
	return rc;
}

int store_inv_import(struct store *s, const struct inv_row *rows, size_t n, long *added,
                     long *updated)
{
	long a = 0, u = 0;

	if (n > RP_INV_ROWS_MAX) {
		store_fail(s, "more than %d rows", RP_INV_ROWS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!inv_text_ok(rows[i].client) || !target_is_canonical(rows[i].target) ||
		    rows[i].ntags > RP_INV_TAGS_MAX) {
			store_fail(s, "row %zu: bad client, target or tags", i + 1);
			return -1;
		}
		for (size_t k = 0; k < rows[i].ntags; k++)
			if (!rp_tag_ok(rows[i].tags[k])) {
				store_fail(s, "row %zu: bad tag", i + 1);
				return -1;
			}
	}
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (import_row(s, &rows[i], &a, &u) < 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	if (exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (added)
		*added = a;
	if (updated)
		*updated = u;
	return 0;
}

json_t *store_inv_list(struct store *s, const char *client, const char *tag)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT t.client, t.spec, t.tags FROM targets t"
	                  " WHERE (?1 IS NULL OR t.client = ?1) AND (?2 IS NULL OR EXISTS"
	                  " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                  " ORDER BY t.client, t.spec");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *tags = json_loads(store_col(st, 2), 0, NULL);

		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "client", store_col(st, 0),
		                                     "target", store_col(st, 1), "tags",
		                                     tags ? tags : json_array()));
	}
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "targets");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}

long store_inv_remove(struct store *s, const char *client, const char *target)
{
	sqlite3_stmt *st =
	    store_prep(s, "DELETE FROM targets WHERE spec = ?1 AND (?2 IS NULL OR client = ?2)");
	long n;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, client, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_done(s, st);
		return store_db_fail(s, "remove");
	}
	n = sqlite3_changes(s->db);
	store_done(s, st);
	return n;
}

json_t *store_inv_select(struct store *s, const char *selector, const char *value)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT DISTINCT t.spec FROM targets t WHERE ?1 = 'all'"
	                  " OR (?1 = 'client' AND t.client = ?2) OR (?1 = 'tag' AND EXISTS"
	                  " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                  " ORDER BY t.spec");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_text(st, 1, selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_string(store_col(st, 0)));
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "select");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}

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
	    !inv_text_ok(value ? value : "")) {
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

json_t *store_sched_due(struct store *s, int64_t now)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT name FROM schedules WHERE next_run <= ?1 ORDER BY next_run, name");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_string(store_col(st, 0)));
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "due");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
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
		if (exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (store_audit_matrix(s, h.audit, hist_row_cb, &h) < 0 || h.failed)
			goto fail;
		st = store_prep(s, "INSERT INTO audits_recorded (audit_id) VALUES (?1)");
		if (st == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, h.audit);
		if (store_step_done(s, st, "recorded") < 0 || exec(s, "COMMIT") < 0)
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
