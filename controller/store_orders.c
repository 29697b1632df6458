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
	int64_t v = 0;
	int rc = store_one_int64(s,
	                         "UPDATE agents SET last_sequence = last_sequence + 1"
	                         " WHERE id = ?1 RETURNING last_sequence",
	                         STORE_ARGS(SA_INT(agent_id)), &v, "sequence");

	if (rc < 0)
		return -1;
	if (rc == 0) {
		store_fail(s, "sequence: no agent %lld", (long long)agent_id);
		return -1;
	}
	*seq = (uint64_t)v;
	return 0;
}

int store_order_add(struct store *s, const struct store_order *o, int64_t now)
{
	if (!rp_id_ok(RP_ID_ORDER, o->id) || o->body == NULL || o->body_len == 0 ||
	    o->body_len > RP_STORE_ORDER_MAX || o->sequence == 0 || o->sequence > INT64_MAX) {
		store_fail(s, "order: bad id, body or sequence");
		return -1;
	}
	return store_run(s,
	                 "INSERT INTO orders (id, audit_id, agent_id, sequence, body, created_at,"
	                 " canary_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                 STORE_ARGS(SA_TEXT(o->id), SA_INT(o->audit_id), SA_INT(o->agent_id),
	                            SA_INT(o->sequence), SA_BLOB(o->body, o->body_len), SA_INT(now),
	                            o->canary_ref != 0 ? SA_INT(o->canary_ref) : SA_NULL),
	                 "order add") < 0
	           ? -1
	           : 0;
}

struct unacked {
	store_order_cb cb;
	void *arg;
};

static int unacked_row(void *arg, sqlite3_stmt *st)
{
	struct unacked *u = arg;
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
	return u->cb(u->arg, &o);
}

long store_orders_unacked(struct store *s, int64_t agent_id, store_order_cb cb, void *arg)
{
	struct unacked u = {cb, arg};

	return store_each(s,
	                  "SELECT id, audit_id, agent_id, sequence, body, state, created_at,"
	                  " sent_at FROM orders WHERE agent_id = ?1"
	                  " AND state IN ('pending', 'sent') ORDER BY sequence",
	                  STORE_ARGS(SA_INT(agent_id)), unacked_row, &u, "orders unacked");
}

/* The moves forward, by the state moved to (?1 = now, ?2 = id); each
 * matches only the states it may move from. */
static const char *const order_moves[STORE_ORDER_STATE_COUNT] = {
    [STORE_ORDER_SENT] = "UPDATE orders SET state = 'sent', sent_at = ?1 WHERE id = ?2"
                         " AND state IN ('pending', 'sent')",
    [STORE_ORDER_ACKED] = "UPDATE orders SET state = 'acked', acked_at = ?1,"
                          " progress_at = max(progress_at, ?1) WHERE id = ?2"
                          " AND state IN ('pending', 'sent')",
    [STORE_ORDER_DONE] = "UPDATE orders SET state = 'done', done_at = ?1 WHERE id = ?2"
                         " AND state <> 'done'",
};

/* Moves an order forward (sql only matches the states it may move from);
 * 0 also when the move would go backwards (a late or repeated event), -1
 * for an unknown order or a database error. */
static int order_move(struct store *s, const char *order_id, const char *sql,
                      const struct store_arg *args, size_t nargs, const char *what)
{
	enum store_order_state cur;

	if (store_order_state(s, order_id, &cur) < 0)
		return -1;
	return store_run(s, sql, args, nargs, what) < 0 ? -1 : 0;
}

int store_order_mark(struct store *s, const char *order_id, enum store_order_state to, int64_t now)
{
	if ((unsigned)to >= STORE_ORDER_STATE_COUNT || order_moves[to] == NULL)
		return -1;
	return order_move(s, order_id, order_moves[to], STORE_ARGS(SA_INT(now), SA_TEXT(order_id)),
	                  "order state");
}

int store_order_mark_done_declared(struct store *s, const char *order_id, int64_t now,
                                   uint32_t declared)
{
	return order_move(s, order_id,
	                  "UPDATE orders SET state = 'done', done_at = coalesce(done_at, ?1),"
	                  " results_declared = coalesce(results_declared, ?3) WHERE id = ?2",
	                  STORE_ARGS(SA_INT(now), SA_TEXT(order_id), SA_INT(declared)),
	                  "order done");
}

struct stalled {
	char (*ids)[129];
	int64_t *audits;
	long n, max;
};

static int stalled_row(void *arg, sqlite3_stmt *st)
{
	struct stalled *x = arg;

	if (x->n >= x->max)
		return 1;
	store_copy_col(st, 0, x->ids[x->n], STORE_ORDER_ID_MAX + 1);
	x->audits[x->n] = sqlite3_column_int64(st, 1);
	x->n++;
	return 0;
}

long store_orders_stalled(struct store *s, int64_t before, char (*ids)[129], int64_t *audits,
                          long max)
{
	struct stalled x = {ids, audits, 0, max};

	if (store_each(s,
	               "SELECT id, audit_id FROM orders WHERE state = 'acked'"
	               " AND progress_at < ?1 ORDER BY progress_at LIMIT ?2",
	               STORE_ARGS(SA_INT(before), SA_INT(max)), stalled_row, &x,
	               "orders stalled") < 0)
		return -1;
	return x.n;
}

int store_order_state(struct store *s, const char *order_id, enum store_order_state *state)
{
	char name[16];
	int v, rc = store_one_text(s, "SELECT state FROM orders WHERE id = ?1",
	                           STORE_ARGS(SA_TEXT(order_id ? order_id : "")), name,
	                           sizeof(name), "order state");

	if (rc < 0)
		return -1;
	if (rc == 0) {
		store_fail(s, "order %.128s: unknown", order_id ? order_id : "(null)");
		return -1;
	}
	if ((v = store_order_state_of(name)) < 0)
		return store_db_fail(s, "order state");
	if (state != NULL)
		*state = (enum store_order_state)v;
	return 0;
}

long store_orders_outstanding(struct store *s, int64_t agent_id)
{
	int64_t n = -1;

	if (store_one_int64(s,
	                    "SELECT count(*) FROM orders WHERE agent_id = ?1"
	                    " AND state IN ('sent', 'acked')",
	                    STORE_ARGS(SA_INT(agent_id)), &n, "orders outstanding") < 0)
		return -1;
	return n >= 0 ? (long)n : store_db_fail(s, "orders outstanding");
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
static int order_update_one(struct store *s, const char *sql, const struct store_arg *args,
                            size_t nargs, const char *order_id, const char *what)
{
	long n = store_run(s, sql, args, nargs, what);

	if (n < 0)
		return -1;
	if (n != 1) {
		store_fail(s, "%s: order %.128s is not in the expected state", what, order_id);
		return -1;
	}
	return 0;
}

int store_order_resign_sent(struct store *s, const char *order_id, uint64_t sequence,
                            const uint8_t *body, size_t body_len, int64_t now)
{
	if (!rp_id_ok(RP_ID_ORDER, order_id) || body == NULL || body_len == 0 ||
	    body_len > RP_WIRE_MSG_MAX || sequence > INT64_MAX) {
		store_fail(s, "order re-sign: bad field");
		return -1;
	}
	return order_update_one(
	    s,
	    "UPDATE orders SET body = ?1, sequence = ?2, created_at = ?3,"
	    " state = 'sent', sent_at = ?3 WHERE id = ?4 AND state = 'pending'",
	    STORE_ARGS(SA_BLOB(body, body_len), SA_INT(sequence), SA_INT(now), SA_TEXT(order_id)),
	    order_id, "order re-sign");
}

int store_order_body_keep(struct store *s, const char *order_id, const uint8_t sha[32])
{
	return store_run(s, "INSERT OR IGNORE INTO order_bodies (order_id, sha) VALUES (?1, ?2)",
	                 STORE_ARGS(SA_TEXT(order_id ? order_id : ""), SA_BLOB(sha, 32)),
	                 "order body keep") < 0
	           ? -1
	           : 0;
}

int store_order_body_known(struct store *s, const char *order_id, const uint8_t sha[32])
{
	return store_first(s, "SELECT 1 FROM order_bodies WHERE order_id = ?1 AND sha = ?2",
	                   STORE_ARGS(SA_TEXT(order_id ? order_id : ""), SA_BLOB(sha, 32)), NULL,
	                   NULL, "order body known");
}

int store_order_unsent(struct store *s, const char *order_id)
{
	return order_update_one(s, "UPDATE orders SET sent_at = 0 WHERE id = ?1 AND state = 'sent'",
	                        STORE_ARGS(SA_TEXT(order_id ? order_id : "")),
	                        order_id ? order_id : "", "order unsent");
}

int store_order_requeue(struct store *s, const char *order_id)
{
	return order_update_one(s,
	                        "UPDATE orders SET state = 'pending', sent_at = 0,"
	                        " reissues = reissues + 1 WHERE id = ?1 AND state = 'sent'",
	                        STORE_ARGS(SA_TEXT(order_id ? order_id : "")),
	                        order_id ? order_id : "", "order requeue");
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
