/* store_orders.c - orders on the store (store_orders.h): per-agent sequence
 * numbers (persisted before use), orders written before they are sent,
 * forward-only states, the order window, re-signing of pending orders and
 * the hashes of the bodies they had. Order ids follow RP_ID_ORDER; bodies
 * are capped by RP_STORE_ORDER_MAX. */
#include "store_orders.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "syntax.h"

int store_next_sequence(struct store *s, int64_t agent_id, uint64_t *seq)
{
	sqlite3_stmt *st = store_prep(s, "UPDATE agents SET last_sequence = last_sequence + 1"
	                                 " WHERE id = ? RETURNING last_sequence");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	/* The UPDATE commits when the statement is finalized (autocommit). */
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	store_done(s, st);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1)
		return 0;
	if (rc == SQLITE_DONE)
		store_fail(s, "sequence: no agent %lld", (long long)agent_id);
	else
		store_db_fail(s, "sequence");
	return -1;
}

int store_order_add(struct store *s, const struct store_order *o, int64_t now)
{
	sqlite3_stmt *st;

	if (!rp_id_ok(RP_ID_ORDER, o->id) || o->body == NULL || o->body_len == 0 ||
	    o->body_len > RP_STORE_ORDER_MAX || o->sequence == 0 || o->sequence > INT64_MAX) {
		store_fail(s, "order: bad id, body or sequence");
		return -1;
	}
	st = store_prep(s, "INSERT INTO orders (id, audit_id, agent_id, sequence, body, created_at,"
	                   " canary_ref) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, o->audit_id);
	sqlite3_bind_int64(st, 3, o->agent_id);
	sqlite3_bind_int64(st, 4, (int64_t)o->sequence);
	sqlite3_bind_blob(st, 5, o->body, (int)o->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if (o->canary_ref != 0)
		sqlite3_bind_int64(st, 7, (int64_t)o->canary_ref);
	else
		sqlite3_bind_null(st, 7);
	return store_step_done(s, st, "order add");
}

long store_orders_unacked(struct store *s, int64_t agent_id, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, audit_id, agent_id, sequence, body, state,"
	                                 " created_at, sent_at FROM orders WHERE agent_id = ?"
	                                 " AND state IN ('pending', 'sent') ORDER BY sequence");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_order o = {0};
		int state = store_order_state_of((const char *)sqlite3_column_text(st, 5));

		o.id = (const char *)sqlite3_column_text(st, 0);
		o.audit_id = sqlite3_column_int64(st, 1);
		o.agent_id = sqlite3_column_int64(st, 2);
		o.sequence = (uint64_t)sqlite3_column_int64(st, 3);
		o.body = sqlite3_column_blob(st, 4);
		o.body_len = (size_t)sqlite3_column_bytes(st, 4);
		o.state = state < 0 ? STORE_ORDER_PENDING : (enum store_order_state)state;
		o.created_at = sqlite3_column_int64(st, 6);
		o.sent_at = sqlite3_column_int64(st, 7);
		n++;
		if (cb(arg, &o) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, "orders unacked");
}

/* Moves an order forward (sql binds ?1 = now, ?2 = id, and only matches
 * the states it may move from); 0 also when the move would go backwards (a
 * late or repeated event), -1 for an unknown order or a database error. */
static int order_move(struct store *s, const char *sql, const char *order_id, int64_t now)
{
	enum store_order_state cur;
	sqlite3_stmt *st;

	if (store_order_state(s, order_id, &cur) < 0)
		return -1;
	st = store_prep(s, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	return store_step_done(s, st, "order state");
}

int store_order_mark_sent(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'sent', sent_at = ?1 WHERE id = ?2"
	                  " AND state IN ('pending', 'sent')",
	                  order_id, now);
}

int store_order_mark_acked(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'acked', acked_at = ?1,"
	                  " progress_at = max(progress_at, ?1) WHERE id = ?2"
	                  " AND state IN ('pending', 'sent')",
	                  order_id, now);
}

int store_order_mark_done(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'done', done_at = ?1 WHERE id = ?2"
	                  " AND state <> 'done'",
	                  order_id, now);
}

int store_order_mark_done_declared(struct store *s, const char *order_id, int64_t now,
                                   uint32_t declared)
{
	enum store_order_state cur;
	sqlite3_stmt *st;

	if (store_order_state(s, order_id, &cur) < 0)
		return -1;
	st = store_prep(s, "UPDATE orders SET state = 'done', done_at = coalesce(done_at, ?1),"
	                   " results_declared = coalesce(results_declared, ?3) WHERE id = ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)declared);
	return store_step_done(s, st, "order done");
}

long store_orders_stalled(struct store *s, int64_t before, char (*ids)[129], int64_t *audits,
                          long max)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, audit_id FROM orders WHERE state = 'acked'"
	                                 " AND progress_at < ?1 ORDER BY progress_at LIMIT ?2");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		snprintf(ids[n], STORE_ORDER_ID_MAX + 1, "%s",
		         (const char *)sqlite3_column_text(st, 0));
		audits[n] = sqlite3_column_int64(st, 1);
		n++;
	}
	store_done(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : store_db_fail(s, "orders stalled");
}

int store_order_state(struct store *s, const char *order_id, enum store_order_state *state)
{
	sqlite3_stmt *st = store_prep(s, "SELECT state FROM orders WHERE id = ?");
	int rc, v = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = store_order_state_of((const char *)sqlite3_column_text(st, 0));
	store_done(s, st);
	if (rc == SQLITE_DONE) {
		store_fail(s, "order %.128s: unknown", order_id ? order_id : "(null)");
		return -1;
	}
	if (rc != SQLITE_ROW || v < 0)
		return store_db_fail(s, "order state");
	if (state != NULL)
		*state = (enum store_order_state)v;
	return 0;
}

long store_orders_outstanding(struct store *s, int64_t agent_id)
{
	sqlite3_stmt *st = store_prep(s, "SELECT count(*) FROM orders WHERE agent_id = ?1"
	                                 " AND state IN ('sent', 'acked')");
	long n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, "orders outstanding");
}

int store_order_next_pending(struct store *s, int64_t agent_id, char *id, uint8_t **body,
                             size_t *body_len, int *reissues)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, body, reissues FROM orders WHERE agent_id = ?1"
	                                 " AND state = 'pending' ORDER BY sequence LIMIT 1");
	int rc, found = 0;

	*body = NULL;
	*body_len = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *oid = (const char *)sqlite3_column_text(st, 0);
		const void *b = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if (oid != NULL && strlen(oid) <= STORE_ORDER_ID_MAX && b != NULL &&
		    (*body = malloc(n)) != NULL) {
			snprintf(id, STORE_ORDER_ID_MAX + 1, "%s", oid);
			memcpy(*body, b, n);
			*body_len = n;
			*reissues = sqlite3_column_int(st, 2);
			found = 1;
		} else {
			store_fail(s, "pending order: bad row or out of memory");
			found = -1;
		}
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "next pending order");
	return found;
}

/* An UPDATE of one order that must change exactly one row. */
static int order_update_one(struct store *s, sqlite3_stmt *st, const char *order_id,
                            const char *what)
{
	if (store_step_done(s, st, what) < 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		store_fail(s, "%s: order %.128s is not in the expected state", what, order_id);
		return -1;
	}
	return 0;
}

int store_order_resign_sent(struct store *s, const char *order_id, uint64_t sequence,
                            const uint8_t *body, size_t body_len, int64_t now)
{
	sqlite3_stmt *st;

	if (!rp_id_ok(RP_ID_ORDER, order_id) || body == NULL || body_len == 0 ||
	    body_len > RP_WIRE_MSG_MAX || sequence > INT64_MAX) {
		store_fail(s, "order re-sign: bad field");
		return -1;
	}
	st = store_prep(s, "UPDATE orders SET body = ?1, sequence = ?2, created_at = ?3,"
	                   " state = 'sent', sent_at = ?3 WHERE id = ?4 AND state = 'pending'");
	if (st == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, body, (int)body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)sequence);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, order_id, -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id, "order re-sign");
}

int store_order_body_keep(struct store *s, const char *order_id, const uint8_t sha[32])
{
	sqlite3_stmt *st =
	    store_prep(s, "INSERT OR IGNORE INTO order_bodies (order_id, sha) VALUES (?1, ?2)");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
	return store_step_done(s, st, "order body keep");
}

int store_order_body_known(struct store *s, const char *order_id, const uint8_t sha[32])
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT 1 FROM order_bodies WHERE order_id = ?1 AND sha = ?2");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "order body known");
}

int store_order_unsent(struct store *s, const char *order_id)
{
	sqlite3_stmt *st =
	    store_prep(s, "UPDATE orders SET sent_at = 0 WHERE id = ?1 AND state = 'sent'");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id ? order_id : "", "order unsent");
}

int store_order_requeue(struct store *s, const char *order_id)
{
	sqlite3_stmt *st =
	    store_prep(s, "UPDATE orders SET state = 'pending', sent_at = 0,"
	                  " reissues = reissues + 1 WHERE id = ?1 AND state = 'sent'");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id ? order_id : "", "order requeue");
}

int store_order_get(struct store *s, const char *order_id, struct store_order_info *out)
{
	sqlite3_stmt *st = store_prep(
	    s,
	    "SELECT audit_id, agent_id, state, body, reissues, sequence FROM orders WHERE id = ?");
	const char *state;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 3);
		const void *b = sqlite3_column_blob(st, 3);

		out->audit_id = sqlite3_column_int64(st, 0);
		out->agent_id = sqlite3_column_int64(st, 1);
		out->reissues = sqlite3_column_int(st, 4);
		out->sequence = sqlite3_column_int64(st, 5);
		state = (const char *)sqlite3_column_text(st, 2);
		out->state = STORE_ORDER_PENDING;
		for (int i = 0; state != NULL && i < STORE_ORDER_STATE_COUNT; i++)
			if (strcmp(state, store_order_state_name((enum store_order_state)i)) == 0)
				out->state = (enum store_order_state)i;
		out->body = malloc(n > 0 ? (size_t)n : 1);
		if (out->body != NULL && b != NULL && n > 0) {
			memcpy(out->body, b, (size_t)n);
			out->body_len = (size_t)n;
			ret = 1;
		} else {
			free(out->body);
			out->body = NULL;
			store_fail(s, "order %s: empty body or out of memory", order_id);
		}
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		store_db_fail(s, "order get");
	}
	store_done(s, st);
	return ret;
}
