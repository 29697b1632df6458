/* store_canary.c - order references, arrivals and their proof (see
 * store_canary.h). The proof rules are SQL over the result JSON's "tests":
 * a delivery for (order, target, test) upgrades the cell's results whose
 * entry for that test is accepted or sent its message; text fields are
 * bounded by the canary listener before they get here. */
#include "store_canary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_history.h"
#include "store_internal.h"
#include "store_orders.h"

int store_canary_next_ref(struct store *s, uint64_t *ref)
{
	sqlite3_stmt *st = store_prep(s, "UPDATE counters SET value = value + 1"
	                                 " WHERE name = 'canary_ref' RETURNING value");
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ref = (uint64_t)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return rc == SQLITE_ROW ? 0 : store_db_fail(s, "canary ref");
}

int store_canary_order(struct store *s, uint64_t ref, char *id, int64_t *agent_id,
                       int64_t *audit_id, int64_t *created_at, uint8_t **body, size_t *len)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, created_at FROM orders WHERE canary_ref = ?1");
	struct store_order_info o;
	int rc;

	*body = NULL;
	*len = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)ref);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(id, STORE_ORDER_ID_MAX + 1, "%s", store_col(st, 0));
		*created_at = sqlite3_column_int64(st, 1);
	}
	store_done(s, st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : store_db_fail(s, "canary order");
	if ((rc = store_order_get(s, id, &o)) <= 0)
		return rc;
	*agent_id = o.agent_id;
	*audit_id = o.audit_id;
	*body = o.body;
	*len = o.body_len;
	return 1;
}

/* The audit of an order, or 0. */
static int64_t audit_of(struct store *s, const char *order_id)
{
	sqlite3_stmt *st = store_prep(s, "SELECT audit_id FROM orders WHERE id = ?1");
	int64_t a = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		a = sqlite3_column_int64(st, 0);
	store_done(s, st);
	return a;
}

/* The cell's results that a delivery for test proves open: its entry for
 * the test was accepted or sent its message. */
#define PROVES                                                                                     \
	" EXISTS (SELECT 1 FROM json_each(results.result_json, '$.tests') t"                       \
	" WHERE json_extract(t.value, '$.id') = ?3 AND"                                            \
	" (json_extract(t.value, '$.outcome') = 'accepted' OR json_extract(t.value, '$.data')"     \
	" = 1))"

/* Apply one arrival to the results of its cell that exist now. The count
 * changed, or -1. */
static long apply(struct store *s, const char *order_id, const char *target, const char *test,
                  bool bounce)
{
	sqlite3_stmt *st = store_prep(
	    s, bounce ? "UPDATE results SET backscatter = 1 WHERE order_id = ?1 AND target = ?2"
	                " AND backscatter = 0 AND" PROVES
	              : "UPDATE results SET agent_verdict = coalesce(agent_verdict, verdict),"
	                " verdict = 'open-confirmed', canary = 'delivered'"
	                " WHERE order_id = ?1 AND target = ?2 AND verdict <> 'open-confirmed' "
	                "AND" PROVES);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, test, -1, SQLITE_STATIC);
	if (store_step_done(s, st, "canary apply") < 0)
		return -1;
	return (long)sqlite3_changes(sqlite3_db_handle(st));
}

int store_canary_arrival(struct store *s, const struct store_arrival *a, int64_t now, long *changed)
{
	sqlite3_stmt *st;
	int outer = sqlite3_get_autocommit(s->db), ok = 0;
	long n = 0;

	if (changed)
		*changed = 0;
	if (store_work_begin(s) < 0)
		return -1;
	st = store_prep(s, "INSERT INTO canary_arrivals (arrived_at, order_id, agent_id, target,"
	                   " test, kind, peer_ip, helo, mail_from, rcpt, message_id, size, tls,"
	                   " hops, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	                   " ?12, ?13, ?14, ?15)");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, a->arrived_ms);
	sqlite3_bind_text(st, 2, a->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->agent_id);
	sqlite3_bind_text(st, 4, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->test, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->bounce ? "bounce" : "delivery", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->peer_ip ? a->peer_ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->helo ? a->helo : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->mail_from ? a->mail_from : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, a->rcpt ? a->rcpt : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, a->message_id ? a->message_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, (int64_t)a->size);
	if (a->tls)
		sqlite3_bind_text(st, 13, a->tls, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 13);
	sqlite3_bind_text(st, 14, a->hops ? a->hops : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 15, a->too_late ? 1 : 0);
	if (store_step_done(s, st, "canary arrival") < 0)
		goto out;
	if (!a->too_late) {
		if ((n = apply(s, a->order_id, a->target, a->test, a->bounce)) < 0)
			goto out;
		if (n > 0 && !a->bounce &&
		    store_hist_rerecord(s, audit_of(s, a->order_id), a->target, now) < 0)
			goto out;
	}
	ok = 1;
out:
	if (store_work_end(s, ok, outer) < 0)
		ok = 0;
	if (ok && changed)
		*changed = a->bounce ? 0 : n;
	return ok ? 0 : -1;
}

int store_canary_on_result(struct store *s, int64_t result_id, const char *order_id,
                           const char *target)
{
	sqlite3_stmt *st;
	int rc;

	/* In a canary order, an open result that sent a test message waits
	 * for it; the agent's own verdict is kept beside the canary's. */
	st = store_prep(s, "UPDATE results SET agent_verdict = verdict, canary = CASE WHEN"
	                   " verdict = 'open' AND EXISTS (SELECT 1 FROM json_each(result_json,"
	                   " '$.tests') t WHERE json_extract(t.value, '$.outcome') = 'accepted'"
	                   " AND json_extract(t.value, '$.data') = 1 AND"
	                   " json_extract(t.value, '$.id') <> 'backscatter-probe')"
	                   " THEN 'awaiting' END WHERE id = ?1 AND"
	                   " (SELECT canary_ref FROM orders WHERE id = ?2) IS NOT NULL");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, result_id);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	if (store_step_done(s, st, "canary state") < 0)
		return -1;
	/* Arrivals that came first. */
	st = store_prep(s, "SELECT DISTINCT test, kind FROM canary_arrivals WHERE order_id = ?1"
	                   " AND target = ?2 AND late = 0");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	{
		char tests[64][64];
		bool bounce[64];
		size_t n = 0;

		while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 64) {
			snprintf(tests[n], sizeof(tests[n]), "%s", store_col(st, 0));
			bounce[n] = strcmp(store_col(st, 1), "bounce") == 0;
			n++;
		}
		store_done(s, st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_db_fail(s, "canary arrivals");
		for (size_t i = 0; i < n; i++)
			if (apply(s, order_id, target, tests[i], bounce[i]) < 0)
				return -1;
	}
	return 0;
}

long store_canary_expire(struct store *s, int64_t before, int64_t now, long max)
{
	sqlite3_stmt *st;
	int outer = sqlite3_get_autocommit(s->db), ok = 0, rc;
	long n = 0;

	/* Once a second from the controller's loop: look before taking the
	 * write lock, which the canary's own thread wants too. */
	st = store_prep(s, "SELECT 1 FROM results WHERE canary = 'awaiting' AND received_at < ?1"
	                   " LIMIT 1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "canary expire");
	if (store_work_begin(s) < 0)
		return -1;
	st = store_prep(s, "UPDATE results SET verdict = 'accepted-not-delivered',"
	                   " canary = 'not-delivered' WHERE id IN (SELECT id FROM results WHERE"
	                   " canary = 'awaiting' AND received_at < ?1 LIMIT ?2)"
	                   " RETURNING order_id, target");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, max);
	{
		/* the cells changed, to re-record their history after the update */
		struct cell {
			char order[STORE_ORDER_ID_MAX + 1];
			char *target;
		} *cells = calloc((size_t)(max > 0 ? max : 1), sizeof(*cells));

		if (cells == NULL) {
			store_done(s, st);
			goto out;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
			snprintf(cells[n].order, sizeof(cells[n].order), "%s", store_col(st, 0));
			cells[n].target = strdup(store_col(st, 1));
			n++;
		}
		store_done(s, st);
		ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
		for (long i = 0; ok && i < n; i++)
			if (cells[i].target == NULL ||
			    store_hist_rerecord(s, audit_of(s, cells[i].order), cells[i].target,
			                        now) < 0)
				ok = 0;
		for (long i = 0; i < n; i++)
			free(cells[i].target);
		free(cells);
		if (!ok)
			store_db_fail(s, "canary expire");
	}
out:
	if (store_work_end(s, ok, outer) < 0)
		ok = 0;
	return ok ? n : -1;
}

json_t *store_canary_cell(struct store *s, const char *order_id, const char *target)
{
	sqlite3_stmt *st = store_prep(s, "SELECT arrived_at, test, kind, peer_ip, helo,"
	                                 " mail_from, rcpt, message_id, size, tls, hops, late"
	                                 " FROM canary_arrivals WHERE order_id = ?1 AND"
	                                 " target = ?2 ORDER BY id LIMIT 256");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	while (arr != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *hops = json_loads(store_col(st, 10), 0, NULL);
		json_t *o = json_pack(
		    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:b}", "arrived_at",
		    (json_int_t)sqlite3_column_int64(st, 0), "test", store_col(st, 1), "kind",
		    store_col(st, 2), "peer_ip", store_col(st, 3), "helo", store_col(st, 4),
		    "mail_from", store_col(st, 5), "rcpt", store_col(st, 6), "message_id",
		    store_col(st, 7), "size", (json_int_t)sqlite3_column_int64(st, 8), "tls",
		    sqlite3_column_type(st, 9) == SQLITE_NULL ? json_null()
		                                              : json_string(store_col(st, 9)),
		    "hops", hops ? hops : json_array(), "too_late",
		    sqlite3_column_int(st, 11) != 0);

		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	store_done(s, st);
	return arr;
}

long store_canary_count(struct store *s, bool bounces)
{
	return store_count_rows(s,
	                        bounces
	                            ? "SELECT count(*) FROM canary_arrivals WHERE kind = 'bounce'"
	                            : "SELECT count(*) FROM canary_arrivals",
	                        "canary count");
}

json_t *store_canary_proof(struct store *s, int64_t audit, const char *target)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT g.name, a.test, a.kind, a.arrived_at, a.peer_ip, json_array_length(a.hops),"
	       " (SELECT a.arrived_at - json_extract(r.result_json, '$.transcript[' ||"
	       "  json_extract(t.value, '$.evidence') || '].t') FROM results r,"
	       "  json_each(r.result_json, '$.tests') t WHERE r.order_id = a.order_id AND"
	       "  r.target = a.target AND json_extract(t.value, '$.id') = a.test AND"
	       "  json_type(t.value, '$.evidence') = 'integer' LIMIT 1),"
	       " NOT EXISTS (SELECT 1 FROM results r WHERE r.order_id = a.order_id AND"
	       "  r.target = a.target AND r.address = a.peer_ip)"
	       " FROM canary_arrivals a JOIN orders o ON o.id = a.order_id"
	       " JOIN agents g ON g.id = a.agent_id WHERE a.target = ?2 AND o.audit_id = ?1"
	       " AND a.late = 0 ORDER BY a.id LIMIT 128");
	json_t *deliv = json_array(), *bounces = json_array();
	int rc;

	if (st == NULL) {
		json_decref(deliv);
		json_decref(bounces);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, audit);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool bounce = strcmp(store_col(st, 2), "bounce") == 0;
		json_t *o =
		    json_pack("{s:s, s:s, s:I, s:s}", "agent", store_col(st, 0), "test",
		              store_col(st, 1), "arrived_at",
		              (json_int_t)sqlite3_column_int64(st, 3), "peer_ip", store_col(st, 4));

		if (o == NULL)
			continue;
		if (!bounce) {
			json_object_set_new(o, "hops", json_integer(sqlite3_column_int64(st, 5)));
			json_object_set_new(o, "delay_ms",
			                    sqlite3_column_type(st, 6) == SQLITE_INTEGER
			                        ? json_integer(sqlite3_column_int64(st, 6))
			                        : json_null());
			json_object_set_new(o, "multihop", json_boolean(sqlite3_column_int(st, 7)));
		}
		if (json_array_size(bounce ? bounces : deliv) < 64)
			json_array_append_new(bounce ? bounces : deliv, o);
		else
			json_decref(o);
	}
	store_done(s, st);
	if (rc != SQLITE_DONE) {
		json_decref(deliv);
		json_decref(bounces);
		store_db_fail(s, "canary proof");
		return NULL;
	}
	if (json_array_size(deliv) == 0 && json_array_size(bounces) == 0) {
		json_decref(deliv);
		json_decref(bounces);
		return json_null();
	}
	return json_pack("{s:o, s:o}", "deliveries", deliv, "bounces", bounces);
}
